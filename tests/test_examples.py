"""The example plugin distributions in ``examples/``, as installed third-party packages.

``examples/ganzoo-ragan`` (loss ``ragan``), ``examples/ganzoo-sngan`` (architecture ``sngan``) and
``examples/ganzoo-featmatch`` (regularizer ``feature-matching``, preset ``improved-gan``) are
separate pip-installable distributions; ``make install`` installs them into the venv. These tests
run their own test suites and drive the real CLI with them. When they are not installed the tests
skip, except under CI (``CI`` set), where a missing install is a failure.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from .test_cli import ganzoo, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# distribution -> (module, entry-point name = plugin name, {kind: registered name})
PACKAGES = {
    "ganzoo-ragan": ("ganzoo_ragan", "ragan", {"losses": "ragan"}),
    "ganzoo-sngan": ("ganzoo_sngan", "sngan", {"architectures": "sngan"}),
    "ganzoo-featmatch": (
        "ganzoo_featmatch",
        "featmatch",
        {"regularizers": "feature-matching", "presets": "improved-gan"},
    ),
}
INSTALL = (
    "`make install` (or `pip install -e examples/ganzoo-ragan -e examples/ganzoo-sngan "
    "-e examples/ganzoo-featmatch`)"
)
TINY_DATA = [
    "--dataset", "fake", "--image-size", "16",
    "--set", "data.params.length=32", "--set", "train.batch_size=8",
]  # fmt: skip
TINY = [*TINY_DATA, "--set", "model.params.width=8", "--set", "model.params.latent_dim=16"]
TINY_DCGAN = [
    *TINY_DATA,
    "--set", "model.params.ngf=8", "--set", "model.params.ndf=8",
    "--set", "model.params.latent_dim=16",
]  # fmt: skip


def _not_installed() -> list[str]:
    """The example distributions missing from this environment (or installed without the plugin)."""
    missing = []
    for dist, (_, plugin, _) in PACKAGES.items():
        try:
            found = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            missing.append(dist)
            continue
        if not any(ep.group == "ganzoo" and ep.name == plugin for ep in found.entry_points):
            missing.append(f"{dist} (installed without its ganzoo entry point '{plugin}')")
    return missing


def require_examples() -> None:
    """Fail under CI, skip elsewhere, when the example distributions are not installed."""
    missing = _not_installed()
    if not missing:
        return
    message = f"example plugin distributions not installed: {', '.join(missing)}; run {INSTALL}"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message} (CI is set: the examples must be installed and tested)")
    pytest.skip(message)


@pytest.mark.parametrize("dist", sorted(PACKAGES))
def test_the_example_packages_own_test_suites_pass(dist):
    require_examples()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES / dist,  # the package's own pyproject.toml configures pytest there
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{dist}'s tests failed:\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout


@pytest.mark.parametrize("dist", sorted(PACKAGES))
def test_the_examples_use_only_the_public_api(dist):
    """A stranger's plugin: ``from ganzoo import ...`` only, no internals, no built-in plugins."""
    sources = sorted((EXAMPLES / dist).rglob("*.py"))
    assert sources
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                public = name in ("ganzoo", "ganzoo.testing")  # the testing helpers are public
                assert public or top != "ganzoo", f"{path}: imports {name}"
                assert not top.startswith("ganzoo_") or top == dist.replace("-", "_"), (
                    f"{path}: imports the built-in plugin {name}"
                )


def test_list_shows_the_examples_with_their_distribution_and_version(capsys, fresh_host):
    require_examples()
    code, out, err = ganzoo(capsys, "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    for dist, (_, plugin, registered) in PACKAGES.items():
        for kind, name in registered.items():
            [entry] = [e for e in listed[kind] if e["name"] == name]
            preset_fields = {"source", "config", "measured"} if kind == "presets" else set()
            assert {k: v for k, v in entry.items() if k not in preset_fields} == {
                "name": name,
                "qualified_name": f"{plugin}:{name}",
                "plugin": plugin,
                "distribution": dist,
                "version": metadata.version(dist),
                "description": entry["description"],
            }
            assert entry["description"]
            assert preset_fields <= set(entry)  # a preset says where its settings come from
    code, out, _ = ganzoo(capsys, "plugins", "--json")
    statuses = {p["name"]: p for p in json.loads(out)}
    for dist, (_, plugin, registered) in PACKAGES.items():
        assert statuses[plugin]["status"] == "ok", statuses[plugin]["reason"]
        assert statuses[plugin]["distribution"] == dist and not statuses[plugin]["builtin"]
        assert statuses[plugin]["hooks"] == sorted(f"register_{kind}" for kind in registered)


def test_a_fresh_process_finds_the_examples_through_their_entry_points():
    require_examples()
    result = run_cli("list", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [e["distribution"] for e in listed["losses"] if e["name"] == "ragan"] == ["ganzoo-ragan"]
    assert [e["distribution"] for e in listed["architectures"] if e["name"] == "sngan"] == [
        "ganzoo-sngan"
    ]
    for kind, name in PACKAGES["ganzoo-featmatch"][2].items():
        assert [e["distribution"] for e in listed[kind] if e["name"] == name] == [
            "ganzoo-featmatch"
        ]


def test_run_sngan_with_ragan_trains_writes_a_checkpoint_and_samples(capsys, tmp_path, fresh_host):
    require_examples()
    out = tmp_path / "run"
    code, stdout, err = ganzoo(
        capsys, "run", "sngan", "--loss", "ragan", "--steps", "5", *TINY, "--out", str(out)
    )
    assert code == 0, err
    assert "training sngan / ragan on fake (3x16x16) for 5 steps" in err
    assert (out / "checkpoints" / "last.safetensors").is_file()
    assert "done: 5 steps" in stdout
    provenance = json.loads((out / "plugins.json").read_text())
    assert provenance["model"] == {
        "name": "sngan:sngan",
        "distribution": "ganzoo-sngan",
        "version": metadata.version("ganzoo-sngan"),
    }
    assert provenance["loss"]["name"] == "ragan:ragan"
    assert provenance["loss"]["distribution"] == "ganzoo-ragan"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 5
    # the generator is rebuilt from config.toml through the plugin and loaded from the checkpoint
    code, stdout, err = ganzoo(capsys, "sample", str(out), "-n", "4", "-o", str(tmp_path / "g.png"))
    assert code == 0, err
    assert " ".join(stdout.split()) == f"4 images from step 5 in {tmp_path / 'g.png'}"


def test_plugin_parameters_of_the_examples_are_checked(capsys, tmp_path, fresh_host):
    require_examples()
    args = ["run", "sngan", "--loss", "ragan", "--steps", "1", *TINY, "--out", str(tmp_path / "r")]
    cases = [
        (["--set", "model.params.widht=8"], "unknown parameter of sngan (model.params) 'widht'"),
        (["--set", "model.params.width=1.5"], "model.params.width must be an int, got 1.5"),
        (["--set", "loss.params.variant=wgan"], "ragan variant must be one of sgan, lsgan, hinge"),
        (["--set", "loss.params.average=1"], "loss.params.average must be true or false"),
        (
            ["--image-size", "48"],
            "sngan does not support image size 48; supported sizes: 16, 28, 32, 64",
        ),
    ]
    for extra, message in cases:
        code, _, err = ganzoo(capsys, *args, *extra)
        assert code == 2 and message in err, (extra, err)


def test_ragan_parameters_reach_the_loss(capsys, tmp_path, fresh_host):
    require_examples()
    out = tmp_path / "run"
    code, _, err = ganzoo(
        capsys,
        "run", "sngan", "--loss", "ragan", "--steps", "2", *TINY,
        "--set", "loss.params.variant=hinge", "--set", "loss.params.average=false",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    saved = (out / "config.toml").read_text()
    assert 'variant = "hinge"' in saved and "average = false" in saved


def test_bench_compares_ragan_with_a_builtin_loss_on_sngan(
    capsys, tmp_path, fresh_host, monkeypatch
):
    require_examples()
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(
        capsys,
        "bench", "--arch", "sngan", "--loss", "ragan,bce", "--steps", "2", *TINY,
        "-n", "16", "--extractor", "ganzoo-fmnist", "--curve-points", "1", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "sngan/ragan" in stdout and "sngan/bce" in stdout
    results = json.loads((out / "results.json").read_text())
    assert {v["variant"] for v in results["variants"]} == {"sngan/ragan", "sngan/bce"}
    assert (out / "results.md").is_file()


# ---- ganzoo-featmatch: a regularizer and a preset from a third-party distribution ------------


def test_run_dcgan_with_feature_matching_trains_and_logs_the_term(capsys, tmp_path, fresh_host):
    require_examples()
    out = tmp_path / "run"
    code, stdout, err = ganzoo(
        capsys,
        "run", "dcgan", "--reg", "feature-matching", "--steps", "4", *TINY_DCGAN,
        "--set", "log.every=2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "done: 4 steps" in stdout
    assert (out / "checkpoints" / "last.safetensors").is_file()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert all(r["reg_feature-matching"] > 0 for r in rows)  # the fakes do not match yet
    saved = (out / "config.toml").read_text()
    assert "[reg.feature-matching]" in saved
    provenance = json.loads((out / "plugins.json").read_text())
    assert "ganzoo-featmatch" in json.dumps(provenance)


def test_feature_matching_parameters_are_checked(capsys, tmp_path, fresh_host):
    require_examples()
    args = ["run", "dcgan", "--reg", "feature-matching", "--steps", "1", *TINY_DCGAN]
    cases = [
        (["--set", "reg.feature-matching.weight=-1"], "feature-matching weight must be >= 0"),
        (["--set", "reg.feature-matching.wieght=1"], "'wieght'; did you mean 'weight'?"),
        (["--set", "reg.feature-matching.interval=0"], "interval must be an integer >= 1"),
    ]
    for extra, message in cases:
        code, _, err = ganzoo(capsys, *args, "--out", str(tmp_path / "r"), *extra)
        assert code == 2 and message in err, (extra, err)


def checkpoint_tensors(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / "last.safetensors"))


@pytest.mark.parametrize("interval", [1, 3])
def test_feature_matching_resumes_exactly(capsys, tmp_path, fresh_host, interval):
    """A run stopped and resumed equals one that was never stopped: every tensor of the
    checkpoint (G, D, EMA, both optimizers, RNGs), with the G-side term eager or lazy."""
    require_examples()
    # d_steps 2 and 4 batches an epoch put the resume point mid-epoch and mid-interval
    common = [
        "run", "dcgan", "--reg", "feature-matching", "--d-steps", "2", "--ema", *TINY_DCGAN,
        "--set", f"reg.feature-matching.interval={interval}", "--set", "log.every=2",
    ]  # fmt: skip
    straight, split = tmp_path / "straight", tmp_path / "split"
    code, _, err = ganzoo(capsys, *common, "--steps", "10", "--out", str(straight))
    assert code == 0, err
    code, _, err = ganzoo(capsys, *common, "--steps", "5", "--out", str(split))
    assert code == 0, err
    code, _, err = ganzoo(capsys, "run", "--resume", str(split), "--steps", "10")
    assert code == 0, err
    a, b = checkpoint_tensors(straight), checkpoint_tensors(split)
    assert sorted(a) == sorted(b)
    assert any(k.startswith("ema.") for k in a) and any(k.startswith("opt_g.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    rows = [json.loads(line) for line in (split / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 5, 6, 8, 10]


def test_list_presets_shows_improved_gan_with_its_source(capsys, fresh_host, monkeypatch):
    require_examples()
    from ganzoo_featmatch import IMPROVED_GAN

    code, out, err = ganzoo(capsys, "list", "presets", "improved-gan", "--json")
    assert code == 0, err
    [entry] = json.loads(out)["presets"]
    assert entry["qualified_name"] == "featmatch:improved-gan"
    assert entry["distribution"] == "ganzoo-featmatch"
    assert entry["source"] == IMPROVED_GAN.source and "Salimans et al. 2016" in entry["source"]
    assert entry["config"]["reg"] == {"feature-matching": {"weight": 1.0}}
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no cell wraps
    code, out, err = ganzoo(capsys, "list", "presets")
    assert code == 0, err
    [row] = [line for line in out.splitlines() if " improved-gan " in line]
    assert "featmatch" in row and IMPROVED_GAN.source in row


def test_the_improved_gan_preset_sets_the_papers_optimizer(capsys, fresh_host):
    require_examples()
    code, out, err = ganzoo(capsys, "run", "dcgan", "--preset", "improved-gan", "--dry-run")
    assert code == 0, err
    assert 'preset = "improved-gan"' in out and "[reg.feature-matching]" in out
    assert "lr = 0.0003" in out
    code, out, err = ganzoo(
        capsys, "run", "dcgan", "--preset", "improved-gan", "--lr", "1e-4", "--dry-run"
    )
    assert code == 0 and "lr = 0.0001" in out, err  # flags win over the preset
