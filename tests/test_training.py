"""The trainer: run directory, exact resume, crash safety, refusals, NaN stop, Ctrl-C, sampling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganzoo import LogitLoss, hookimpl
from ganzoo.config import parse_assignments, resolve
from ganzoo.errors import GanzooError, UsageError
from ganzoo.plugins import get_host
from ganzoo.train import checkpoint as ckpt
from ganzoo.train.rundir import RunDir
from ganzoo.train.trainer import NonFiniteLoss, Trainer

from . import ddp_helpers
from .test_cli import ganzoo

TINY = [
    "data.name=fake",
    "data.params.length=256",
    "data.image_size=16",
    "data.channels=1",
    "model.params.ngf=8",
    "model.params.ndf=8",
    "model.params.latent_dim=16",
    "train.batch_size=8",
    "log.every=2",
    "log.sample_every=4",
    "log.checkpoint_every=4",
]
TINY_FLAGS = [arg for item in TINY for arg in ("--set", item)]


def tiny(*extra: str, loss: str = "lsgan"):
    return resolve(parse_assignments([*TINY, f"loss.name={loss}", *extra]))


def train(tmp_path, name: str, *extra: str, resume: bool = False, loss: str = "lsgan"):
    run_dir = RunDir(tmp_path / name)
    trainer = Trainer(tiny(*extra, f"out={run_dir.root}", loss=loss), run_dir, resume=resume)
    trainer.fit()
    return trainer


def test_a_run_writes_its_directory(tmp_path, fresh_host):
    trainer = train(tmp_path, "run", "train.steps=8", "train.ema=true")
    run = trainer.run_dir
    for path in (run.config, run.plugins, run.metrics, run.summary, run.last_checkpoint):
        assert path.is_file(), path
    assert sorted(p.name for p in run.samples.iterdir()) == ["step_000004.png", "step_000008.png"]
    assert (run.checkpoints / "step_00000008.safetensors").is_file()
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert {"d_loss", "g_loss", "img_per_s", "images_seen", "epoch"} <= set(rows[0])
    summary = json.loads(run.summary.read_text())
    assert summary["steps"] == 8 and summary["images_seen"] == 64 and summary["img_per_s"] > 0
    assert summary["peak_memory_mb"] > 0
    plugins = json.loads(run.plugins.read_text())
    assert plugins["model"]["name"] == "dcgan:dcgan" and plugins["loss"]["name"] == "losses:lsgan"
    tensors, meta = ckpt.read_checkpoint(run.last_checkpoint)
    assert meta["step"] == 8 and meta["config"]["loss"]["name"] == "lsgan"
    assert any(k.startswith("ema.") for k in tensors) and any(
        k.startswith("opt_d.") for k in tensors
    )
    assert not any("_orig_mod" in k for k in tensors)
    pytest.importorskip("tensorboard")
    assert list((run.root / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("loss", ["lsgan", "wgan-gp"])
def test_resume_continues_exactly(tmp_path, fresh_host, loss):
    # d_steps 2 and a dataset of 5 batches make the resume point fall mid-epoch and mid-sequence
    extra = ["train.d_steps=2", "data.params.length=40", "train.ema=true"]
    straight = train(tmp_path, "straight", *extra, "train.steps=10", loss=loss)
    train(tmp_path, "split", *extra, "train.steps=6", loss=loss)
    resumed = train(tmp_path, "split", *extra, "train.steps=10", resume=True, loss=loss)
    for a, b in [
        (straight.g, resumed.g),
        (straight.d, resumed.d),
        (straight.ema.model, resumed.ema.model),
    ]:
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
    assert resumed.state.images_seen == straight.state.images_seen
    assert [r["step"] for r in resumed.run_dir.read_metrics()] == [2, 4, 6, 8, 10]


def test_resume_refuses_another_experiment(capsys, tmp_path, fresh_host):
    train(tmp_path, "run", "train.steps=4")
    code, _, err = ganzoo(
        capsys, "run", "dcgan", "--loss", "bce", "--resume", str(tmp_path / "run"), "--steps", "8"
    )
    assert code == 2
    assert "cannot resume" in err and "loss.name (run: 'lsgan', now: 'bce')" in err


def test_a_new_run_never_overwrites_an_old_one(capsys, tmp_path, fresh_host):
    train(tmp_path, "run", "train.steps=4")
    code, _, err = ganzoo(
        capsys, "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, "-o", str(tmp_path / "run")
    )
    assert code == 2 and "already holds a run" in err


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path, fresh_host):
    trainer = train(tmp_path, "run", "train.steps=4")
    path = trainer.run_dir.last_checkpoint
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(GanzooError, match="corrupt or truncated"):
        Trainer(tiny("train.steps=8"), trainer.run_dir, resume=True)


def test_a_crash_while_saving_leaves_the_previous_checkpoint(tmp_path, fresh_host, monkeypatch):
    trainer = train(tmp_path, "run", "train.steps=4")
    before = trainer.run_dir.last_checkpoint.read_bytes()

    def crash(tensors, filename, metadata):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "save_file", crash)
    with pytest.raises(OSError):
        trainer.save_checkpoint()
    assert trainer.run_dir.last_checkpoint.read_bytes() == before
    assert [p.name for p in trainer.run_dir.checkpoints.iterdir() if p.name.endswith(".tmp")] == []


def cli_process(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_for(path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_kill_9_at_any_moment_leaves_a_loadable_checkpoint(tmp_path):
    run = RunDir(tmp_path / "run")
    # a checkpoint every step, so the kill lands in the middle of writes more often than not
    proc = cli_process(
        "--steps",
        "100000",
        "--set",
        "log.checkpoint_every=1",
        "--set",
        "log.every=1",
        "-o",
        str(run.root),
    )
    wait_for(run.last_checkpoint)
    for delay in (0.05, 0.13, 0.21):
        time.sleep(delay)
        ckpt.read_checkpoint(run.last_checkpoint)  # readable while being rewritten
    proc.kill()
    proc.wait()
    _, meta = ckpt.read_checkpoint(run.last_checkpoint)
    assert meta["step"] >= 1


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    run = RunDir(tmp_path / "run")
    proc = cli_process("--steps", "100000", "-o", str(run.root))
    wait_for(run.metrics)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err and "Traceback" not in err
    _, meta = ckpt.read_checkpoint(run.last_checkpoint)
    assert meta["step"] >= 2


class NaNAfterThree(LogitLoss):
    """A loss that turns NaN on its fourth call."""

    calls = 0

    def d_loss_from_logits(self, real_logits, fake_logits):
        NaNAfterThree.calls += 1
        bad = float("nan") if NaNAfterThree.calls > 6 else 0.0
        return (fake_logits - real_logits).mean() + bad

    def g_loss_from_logits(self, fake_logits):
        return -fake_logits.mean()


class NaNPlugin:
    @hookimpl
    def register_losses(self, register):
        register("nan-later", NaNAfterThree)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, fresh_host):
    get_host().add_plugin(NaNPlugin(), "nan-plugin")
    NaNAfterThree.calls = 0
    run_dir = RunDir(tmp_path / "run")
    config = tiny("train.steps=20", "log.checkpoint_every=2", loss="nan-later")
    with pytest.raises(
        NonFiniteLoss, match=r"nan-plugin\) became non-finite by step 8 .* last good checkpoint"
    ):
        Trainer(config, run_dir).fit()
    _, meta = ckpt.read_checkpoint(run_dir.last_checkpoint)
    assert meta["step"] == 6  # written after the finite check at step 6; step 8's never was


def test_sample_writes_a_grid_and_individual_images(capsys, tmp_path, fresh_host):
    train(tmp_path, "run", "train.steps=4", "train.ema=true")
    run = str(tmp_path / "run")
    code, _, err = ganzoo(
        capsys, "sample", run, "--n", "9", "-o", str(tmp_path / "grid.png"), "--ema"
    )
    assert code == 0, err
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size == (
        3 * 16 + 4 * 2,
        3 * 16 + 4 * 2,
    )  # 3x3, 2px pad
    code, _, _ = ganzoo(capsys, "sample", run, "--n", "3", "--individual", str(tmp_path / "each"))
    assert code == 0 and len(list((tmp_path / "each").glob("*.png"))) == 3


def test_sample_without_ema_weights_is_a_clear_error(capsys, tmp_path, fresh_host):
    train(tmp_path, "run", "train.steps=2")
    code, _, err = ganzoo(capsys, "sample", str(tmp_path / "run"), "--ema")
    assert code == 1 and "no EMA generator" in err


def test_unavailable_device_is_a_usage_error(fresh_host, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UsageError, match="CUDA is not available"):
        Trainer(tiny("train.device=cuda"), RunDir(tmp_path / "r"))


class PerSampleLoss(LogitLoss):
    """Forgets to reduce: returns one value per sample."""

    def d_loss_from_logits(self, real_logits, fake_logits):
        return fake_logits - real_logits

    def g_loss_from_logits(self, fake_logits):
        return -fake_logits


class PerSamplePlugin:
    @hookimpl
    def register_losses(self, register):
        register("per-sample", PerSampleLoss)


def test_a_loss_that_is_not_a_scalar_names_its_plugin(tmp_path, fresh_host):
    get_host().add_plugin(PerSamplePlugin(), "sloppy", distribution="ganzoo-sloppy")
    with pytest.raises(GanzooError) as info:
        Trainer(tiny("train.steps=2", loss="per-sample"), RunDir(tmp_path / "r")).fit()
    assert str(info.value) == (
        "loss 'sloppy:per-sample' (plugin sloppy, ganzoo-sloppy): discriminator_loss returned a tensor "
        "of shape (8,); it must return a scalar tensor (reduce with .mean())"
    )


def test_compiled_training_checkpoints_like_eager_and_resumes(tmp_path, fresh_host):
    trainer = train(tmp_path, "run", "train.steps=4", "train.compile=true", "train.amp=true")
    tensors, _ = ckpt.read_checkpoint(trainer.run_dir.last_checkpoint)
    assert not any("_orig_mod" in k for k in tensors)
    assert json.loads(trainer.run_dir.summary.read_text())["compile_seconds"] > 0
    resumed = train(
        tmp_path, "run", "train.steps=6", "train.compile=true", "train.amp=true", resume=True
    )
    assert resumed.step == 6


def test_a_compile_failure_falls_back_to_eager_with_one_warning(tmp_path, fresh_host, monkeypatch):
    from ganzoo.train import trainer as trainer_module

    def broken_backend(graph, example_inputs):
        raise RuntimeError("no compiler here")

    def compile_badly(g, d, mode="default"):
        g.compile(backend=broken_backend)
        d.compile(backend=broken_backend)

    monkeypatch.setattr(trainer_module, "compile_models", compile_badly)
    with pytest.warns(UserWarning, match="torch.compile failed .* eager mode"):
        trainer = train(tmp_path, "run", "train.steps=4", "train.compile=true")
    assert trainer.step == 4 and trainer.config.train.compile is False
    assert "compile = false" in trainer.run_dir.config.read_text()


def test_channels_last_trains(tmp_path, fresh_host):
    trainer = train(tmp_path, "run", "train.steps=2", "train.channels_last=true")
    assert trainer.step == 2


class ColumnLogits(ddp_helpers.NoBatchNorm):
    """A discriminator that forgets to flatten: logits (B, 1)."""

    def build(self, spec):
        g, d = super().build(spec)
        d.forward_features = lambda x: (d.head(d.body(x)), d.body(x))
        return g, d


class ColumnPlugin:
    @hookimpl
    def register_architectures(self, register):
        register("column", ColumnLogits)


def test_a_discriminator_with_wrong_logit_shape_names_its_plugin(tmp_path, fresh_host):
    get_host().add_plugin(ColumnPlugin(), "columns")
    with pytest.raises(
        GanzooError,
        match=r"'columns:column' \(plugin columns\): the discriminator's forward_features returned logits \(2, 1\)",
    ):
        settings = [s for s in TINY if not s.startswith("model.")] + [
            "model.name=column",
            "loss.name=bce",
        ]
        Trainer(resolve(parse_assignments(settings)), RunDir(tmp_path / "r"))
