"""The example plugin distributions in ``examples/``, as installed third-party packages.

``examples/ganzoo-ragan`` (loss ``ragan``) and ``examples/ganzoo-sngan`` (architecture ``sngan``)
are separate pip-installable distributions; ``make install`` installs them into the venv. These
tests run their own test suites and drive the real CLI with them. When they are not installed the
tests skip, except under CI (``CI`` set), where a missing install is a failure.
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

from .test_cli import ganzoo, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# distribution -> (module, entry-point name = plugin name, registered name, kind)
PACKAGES = {
    "ganzoo-ragan": ("ganzoo_ragan", "ragan", "ragan", "losses"),
    "ganzoo-sngan": ("ganzoo_sngan", "sngan", "sngan", "architectures"),
}
INSTALL = "`make install` (or `pip install -e examples/ganzoo-ragan -e examples/ganzoo-sngan`)"
TINY = [
    "--dataset", "fake", "--image-size", "16",
    "--set", "model.params.width=8", "--set", "model.params.latent_dim=16",
    "--set", "data.params.length=32", "--set", "train.batch_size=8",
]  # fmt: skip


def _not_installed() -> list[str]:
    """The example distributions missing from this environment (or installed without the plugin)."""
    missing = []
    for dist, (_, plugin, _, _) in PACKAGES.items():
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
                assert name == "ganzoo" or top != "ganzoo", f"{path}: imports {name}"
                assert top not in ("ganzoo_losses", "ganzoo_dcgan", "ganzoo_datasets"), (
                    f"{path}: imports the built-in plugin {name}"
                )


def test_list_shows_the_examples_with_their_distribution_and_version(capsys, fresh_host):
    require_examples()
    code, out, err = ganzoo(capsys, "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    for dist, (_, plugin, name, kind) in PACKAGES.items():
        [entry] = [e for e in listed[kind] if e["name"] == name]
        assert entry == {
            "name": name,
            "qualified_name": f"{plugin}:{name}",
            "plugin": plugin,
            "distribution": dist,
            "version": metadata.version(dist),
            "description": entry["description"],
        }
        assert entry["description"]
    code, out, _ = ganzoo(capsys, "plugins", "--json")
    statuses = {p["name"]: p for p in json.loads(out)}
    for dist, (_, plugin, _, kind) in PACKAGES.items():
        assert statuses[plugin]["status"] == "ok", statuses[plugin]["reason"]
        assert statuses[plugin]["distribution"] == dist and not statuses[plugin]["builtin"]
        assert statuses[plugin]["hooks"] == [f"register_{kind}"]


def test_a_fresh_process_finds_the_examples_through_their_entry_points():
    require_examples()
    result = run_cli("list", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [e["distribution"] for e in listed["losses"] if e["name"] == "ragan"] == ["ganzoo-ragan"]
    assert [e["distribution"] for e in listed["architectures"] if e["name"] == "sngan"] == [
        "ganzoo-sngan"
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
