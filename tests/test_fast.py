"""``--fast`` / ``train.fast``: resolved once, per device, into amp/compile/channels_last;
explicit settings win, the run directory records the result, a resume keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.bench.spec import BenchSpec, Cell
from ganzoo.cli.run_cmd import build_config
from ganzoo.config import (
    RunConfig,
    TrainConfig,
    merge,
    parse_assignments,
    read_toml,
    resolve,
    resume_conflicts,
)
from ganzoo.errors import UsageError
from ganzoo.train import device as device_module
from ganzoo.train.device import fast_settings, fast_summary

from .test_cli import ganzoo as cli
from .test_training import TINY, TINY_FLAGS

CPU = torch.device("cpu")
ALL_ON = {"amp": True, "compile": True, "channels_last": True}
COMPILE_ONLY = {"amp": False, "compile": True, "channels_last": False}


@pytest.fixture
def avx2(monkeypatch):
    """A CPU without native bf16 (what the project's AVX2 machine is)."""
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)


@pytest.fixture
def no_compiling(monkeypatch):
    """``train.compile`` stays on in the config, but nothing is compiled: seconds, not minutes."""
    from ganzoo.train import trainer

    monkeypatch.setattr(trainer, "compile_models", lambda g, d, mode="default": None)


def settings(config: RunConfig) -> dict[str, bool]:
    return {key: getattr(config.train, key) for key in ALL_ON}


@pytest.mark.parametrize(("native_bf16", "expected"), [(True, ALL_ON), (False, COMPILE_ONLY)])
def test_fast_settings_follow_the_cpu(monkeypatch, native_bf16, expected):
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native_bf16)
    assert fast_settings(CPU) == expected
    assert fast_settings(torch.device("cuda")) == ALL_ON  # any GPU: amp_dtype auto picks bf16/fp16


def test_the_banner_line_says_what_fast_chose_and_why(avx2):
    chosen = TrainConfig(fast=True, **COMPILE_ONLY)
    assert fast_summary(chosen, CPU) == "fast: compile (fp32: this CPU has no native bf16)"
    overridden = TrainConfig(fast=True, amp=True)
    assert fast_summary(overridden, CPU) == (
        "fast: amp bfloat16 (this CPU has no native bf16; amp on as set; compile off as set)"
    )


@pytest.mark.parametrize(("native_bf16", "expected"), [(True, ALL_ON), (False, COMPILE_ONLY)])
def test_resolve_turns_fast_into_the_explicit_settings(monkeypatch, native_bf16, expected):
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native_bf16)
    config = resolve(parse_assignments(["train.fast=true", "train.device=cpu"]))
    assert config.train.fast and settings(config) == expected
    assert settings(resolve(parse_assignments(["train.device=cpu"]))) == dict.fromkeys(
        ALL_ON, False
    )


def test_explicit_settings_win_over_fast_from_any_layer(monkeypatch, tmp_path):
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    config_file = tmp_path / "run.toml"
    config_file.write_text("[train]\nfast = true\nchannels_last = false\n")
    flags = {"compile": False, "device": "cpu"}  # --no-compile
    config = build_config(config_file, [], flags, resume=None)
    assert settings(config) == {"amp": True, "compile": False, "channels_last": False}
    off = build_config(config_file, [], {"fast": False, "device": "cpu"}, resume=None)  # --no-fast
    assert settings(off) == dict.fromkeys(ALL_ON, False)


def test_a_saved_fast_run_keeps_what_it_resolved(monkeypatch, avx2):
    # trained on an AVX2 CPU; read back (resume, sample, eval) on a CPU with bf16: unchanged
    saved = resolve(parse_assignments(["train.device=cpu", "train.fast=true"]))
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    base = merge(RunConfig().to_dict(), saved.to_dict())
    for layers in [(), (parse_assignments(["train.fast=true", "train.steps=9"]),)]:
        again = resolve(*layers, base=base)
        assert settings(again) == COMPILE_ONLY and resume_conflicts(saved, again) == []
    # --no-fast on resume changes nothing that trains: train.fast itself is no conflict
    off = resolve(parse_assignments(["train.fast=false"]), base=base)
    assert settings(off) == COMPILE_ONLY and resume_conflicts(saved, off) == []


def test_dry_run_shows_the_choice(capsys, fresh_host, avx2):
    code, out, _ = cli(capsys, "run", "dcgan", "--fast", "--device", "cpu", "--dry-run")
    assert code == 0 and "compile = true" in out and "fast = true" in out
    assert "# fast: compile (fp32: this CPU has no native bf16)" in out
    code, out, _ = cli(
        capsys, "run", "dcgan", "--fast", "--no-compile", "--device", "cpu", "--dry-run"
    )
    assert code == 0 and "compile = false" in out
    assert "# fast: fp32 eager (this CPU has no native bf16; compile off as set)" in out


def test_a_fast_run_records_its_settings_and_resumes(
    capsys, tmp_path, fresh_host, avx2, no_compiling
):
    out = tmp_path / "run"
    args = ["run", "dcgan", *TINY_FLAGS, "--device", "cpu", "--fast", "-o", str(out)]
    code, _, err = cli(capsys, *args, "--steps", "1")
    assert code == 0, err
    assert "fast: compile (fp32: this CPU has no native bf16)" in err
    train = read_toml(out / "config.toml")["train"]
    assert {key: train[key] for key in ALL_ON} == COMPILE_ONLY and train["fast"] is True
    code, _, err = cli(capsys, "run", "--resume", str(out), "--steps", "2")
    assert code == 0, err
    assert "resuming from step 1 of 2" in err


def test_the_python_api_and_bench_configs_take_fast(tmp_path, fresh_host, avx2, no_compiling):
    config = resolve(parse_assignments([*TINY, "train.steps=1", "train.device=cpu"]))
    config.train.fast = True  # a RunConfig's default-valued fields count as unset
    run = ganzoo.train(config, out=tmp_path / "api")
    train = read_toml(Path(run) / "config.toml")["train"]
    assert {key: train[key] for key in ALL_ON} == COMPILE_ONLY
    spec = BenchSpec(["dcgan"], ["bce"], device="cpu", assignments=["train.fast=true"])
    assert settings(spec.run_config(Cell("dcgan", "bce", 0), tmp_path / "b")) == COMPILE_ONLY


def test_compile_mode_reaches_torch_compile_and_is_checked(tmp_path, monkeypatch):
    from ganzoo.train import compiling

    modes: list[str] = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: modes.append(kw["mode"]))
    monkeypatch.setattr(compiling.torch, "compile", lambda fn, **kw: modes.append(kw["mode"]) or fn)
    g, d = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    compiling.compile_models(g, d, "reduce-overhead")
    assert modes == ["reduce-overhead", "reduce-overhead"]
    with pytest.raises(UsageError, match="did you mean 'reduce-overhead'"):
        resolve(parse_assignments(["train.compile_mode=reduce-overhed"]))
