"""The docs cannot rot: their code runs, their messages are ganzoo's, their reference is current.

- Code blocks preceded by ``<!-- file: PATH -->`` are files of a plugin: the blocks of one PATH
  are joined in page order, written out, installed as a distribution (a ``*.dist-info`` with the
  entry points of the page's ``pyproject.toml``, or of ``TOY_DIST``) and trained with.
- Every failure message in docs/hooks.md is produced here from the toy plugin with the mistake
  the page describes, and must appear in the page verbatim.
- docs/reference.md's blocks between ``<!-- BEGIN generated: KEY -->`` and
  ``<!-- END generated: KEY -->`` must equal what ganzoo prints now. After changing a command's
  options or the config, regenerate them with ``GANZOO_UPDATE_DOCS=1 pytest tests/test_docs.py``.
- Python blocks preceded by ``<!-- runs -->`` are executed, in page order and in one namespace, in
  a temporary working directory (docs/python-api.md trains and samples this way).
- Every page is in mkdocs.yml's nav, and ``mkdocs build --strict`` passes when mkdocs is installed.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganzoo.plugins import reset_host

from .test_cli import ganzoo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
UPDATE_ENV = "GANZOO_UPDATE_DOCS"
FILE_MARK = re.compile(r"<!-- file: (?P<path>\S+) -->\n(?P<fence>`{3,})(?P<lang>\w*)\n(?P<body>.*?)\n(?P=fence)\n", re.S)  # fmt: skip
GENERATED = re.compile(r"(<!-- BEGIN generated: (?P<key>[^>]+?) -->\n)(?P<body>.*?)(<!-- END generated: (?P=key) -->)", re.S)  # fmt: skip
RUNS_MARK = re.compile(r"<!-- runs -->\n```python\n(?P<body>.*?)\n```\n", re.S)
TOY_DIST = ("ganzoo-toy", "0.1.0", {"toy": "ganzoo_toy"})


def page(name: str) -> str:
    return (DOCS / name).read_text()


def files_of(markdown: str) -> dict[str, str]:
    """``{path: source}`` from the page's ``<!-- file: PATH -->`` blocks, joined in order."""
    files: dict[str, list[str]] = {}
    for match in FILE_MARK.finditer(markdown):
        files.setdefault(match["path"], []).append(match["body"])
    return {path: "\n\n\n".join(parts) + "\n" for path, parts in files.items()}


def install(site: Path, dist: str, version: str, entry_points: dict[str, str]) -> None:
    """What pip leaves in site-packages for a distribution: its metadata and entry points."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{lines}")


def activate(site: Path, monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    monkeypatch.syspath_prepend(str(site))
    for module in modules:
        sys.modules.pop(module, None)  # an earlier test may have imported another version
    importlib.invalidate_caches()  # importlib.metadata caches directory listings
    reset_host()


# ---- the hooks page: the toy plugin -------------------------------------------------------


def toy_source() -> str:
    source = files_of(page("hooks.md"))["ganzoo_toy.py"]
    compile(source, "ganzoo_toy.py", "exec")
    return source


def mutate(source: str, old: str, new: str) -> str:
    assert source.count(old) == 1, f"the toy plugin no longer contains {old!r}"
    return source.replace(old, new)


@pytest.fixture
def toy(tmp_path, monkeypatch, fresh_host):
    """Install the toy plugin of docs/hooks.md, optionally changed; returns its site dir."""
    # its `checkerboard` command is tested in a subprocess: keep it out of this process's app
    monkeypatch.setattr("ganzoo.cli._plugin_commands_added", True)

    def write(source: str | None = None, *, module: bool = True) -> Path:
        site = tmp_path / f"site{len(list(tmp_path.glob('site*')))}"
        site.mkdir()
        if module:
            (site / "ganzoo_toy.py").write_text(toy_source() if source is None else source)
        install(site, *TOY_DIST)
        activate(site, monkeypatch, "ganzoo_toy")
        return site

    return write


TOY_RUN = [
    "run", "mlp", "--loss", "minimax", "--dataset", "checkerboards", "--steps", "3",
    "--set", "data.params.length=32",
    "--set", "train.batch_size=8",
]  # fmt: skip


def test_the_hooks_page_plugin_registers_and_trains(capsys, tmp_path, toy):
    toy()
    code, out, err = ganzoo(capsys, "list", "toy:*", "--json")
    assert code == 0, err
    listed = json.loads(out)
    names = {kind: [e["qualified_name"] for e in entries] for kind, entries in listed.items()}
    assert names == {
        "architectures": ["toy:mlp"],
        "losses": ["toy:minimax"],
        "regularizers": ["toy:shrink"],
        "augmentations": ["toy:flip"],
        "datasets": ["toy:checkerboards"],
        "presets": ["toy:goodfellow"],
    }
    [goodfellow] = listed["presets"]
    assert goodfellow["source"].startswith("Goodfellow et al. 2014")
    [mlp] = listed["architectures"]
    assert mlp["distribution"] == "ganzoo-toy"
    assert mlp["description"] == "Two-layer perceptrons for G and D, as in Goodfellow et al. 2014."
    run = tmp_path / "run"
    code, stdout, err = ganzoo(capsys, *TOY_RUN, "--out", str(run))
    assert code == 0, err
    assert "on checkerboards (1x16x16) for 3 steps" in err
    assert (run / "checkpoints" / "last.safetensors").is_file()
    code, _, err = ganzoo(capsys, "sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png"))
    assert code == 0, err


def test_the_hooks_page_preset_regularizer_and_augmentation_train(capsys, tmp_path, toy):
    toy()
    run = tmp_path / "run"
    code, _, err = ganzoo(
        capsys,
        "run", "mlp", "--preset", "goodfellow", "--reg", "shrink", "--aug", "flip",
        "--dataset", "checkerboards", "--steps", "3",
        "--set", "data.params.length=32", "--set", "train.batch_size=8", "--set", "log.every=1",
        "--out", str(run),
    )  # fmt: skip
    assert code == 0, err
    saved = (run / "config.toml").read_text()
    assert (
        'preset = "goodfellow"' in saved and 'name = "SGD"' in saved and "momentum = 0.5" in saved
    )
    assert 'name = "minimax"' in saved and "[reg.shrink]" in saved
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(0 <= r["flip_real_positive"] <= 1 for r in rows)


def test_the_hooks_page_testing_example_passes(tmp_path, toy):
    toy()
    namespace: dict[str, object] = {}
    exec(compile(files_of(page("hooks.md"))["test_toy.py"], "test_toy.py", "exec"), namespace)
    tests = {name: f for name, f in namespace.items() if name.startswith("test_")}
    assert sorted(tests) == ["test_the_toy_components_conform", "test_the_toy_trains"]
    tests["test_the_toy_components_conform"]()
    tests["test_the_toy_trains"](tmp_path)


def test_the_toy_plugin_passes_ganzoos_checks(toy):
    toy()
    import ganzoo_toy

    from ganzoo.testing import check_architecture, check_dataset, check_loss

    check_architecture(ganzoo_toy.MLP, latent_dim=8, hidden=16)
    check_loss(ganzoo_toy.MinimaxLoss)
    check_dataset(ganzoo_toy.Checkerboards, length=4)


def test_the_toy_dataset_and_architecture_keep_their_contract(toy):
    toy()
    import ganzoo_toy

    from ganzoo import DataRequest, ImageSpec

    boards = ganzoo_toy.Checkerboards(length=5).load(DataRequest(None, 12, 3))
    assert len(boards) == 5
    image = boards[4]
    assert image.shape == (3, 12, 12) and set(image.unique().tolist()) == {-1.0, 1.0}
    g, d = ganzoo_toy.MLP(latent_dim=4, hidden=8).build(ImageSpec(3, 12))
    x = g(g.sample_latent(2))
    assert x.shape == (2, 3, 12, 12) and x.abs().max() <= 1
    logits, features = d.forward_features(x)
    assert logits.shape == (2,) and features.shape == (2, 8)


def test_the_hooks_page_command_runs(toy):
    site = toy()
    result = subprocess.run(
        [sys.executable, "-m", "ganzoo", "checkerboard", "--index", "3", "--size", "8"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 8 and all(len(r) == 8 and set(r) == {"#", "."} for r in rows)


# (mistake, change to the toy module (old, new) or None, how it shows)
LOAD_FAILURES = {
    "no hookimpl": [("@hookimpl\n", "")],
    "misspelt hook": [("def register_datasets(", "def register_dataset(")],
    "argument name": [("def register_losses(register):\n    register(", "def register_losses(reg):\n    reg(")],
    "wrong class": [('register("mlp", MLP)', 'register("mlp", MLPGenerator)')],
    "invalid name": [('register("checkerboards", ', 'register("Checkerboards", ')],
    "abstract": [("def g_loss_from_logits(", "def g_loss_from_logit(")],
    "twice": [('register("minimax", MinimaxLoss, ', 'register("minimax", MinimaxLoss)\n    register("minimax", MinimaxLoss, ')],
    "hook raises": [('    register("checkerboards", Checkerboards)', '    raise RuntimeError("no GPU found")')],
    "missing dependency": [("import math\n", "import math\n\nimport toy_extras\n")],
    "preset class": [('register("goodfellow", GOODFELLOW, ', 'register("goodfellow", Preset, ')],
}  # fmt: skip


def plugin_reason(capsys, name: str = "toy") -> str:
    code, out, err = ganzoo(capsys, "plugins", "--json")
    assert code == 0, err
    [status] = [p for p in json.loads(out) if p["name"] == name and p["status"] == "failed"]
    return status["reason"]


@pytest.mark.parametrize("mistake", sorted(LOAD_FAILURES))
def test_load_failures_are_documented_verbatim(capsys, toy, mistake):
    source = toy_source()
    for old, new in LOAD_FAILURES[mistake]:
        source = mutate(source, old, new) if old != "@hookimpl\n" else source.replace(old, new)
    toy(source)
    reason = plugin_reason(capsys)
    for line in reason.splitlines():  # pluggy's explanation spans lines; the page quotes each
        if line.strip() and not line.startswith("hookimpl definition:"):
            assert line.strip() in page("hooks.md"), f"{mistake}: {line.strip()!r}"


def test_a_failed_plugins_names_are_unknown(capsys, toy, tmp_path, monkeypatch):
    toy(mutate(toy_source(), "def register_datasets(", "def register_dataset("))
    # as on a machine with ganzoo alone: the example distributions, if installed, stay out
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "ganzoo-ragan,ganzoo-sngan,ganzoo-featmatch")
    reset_host()
    message = cli_error(capsys, *TOY_RUN, "--out", str(tmp_path / "run"))
    assert f"$ ganzoo run mlp --loss minimax --dataset checkerboards\n{message}\n" in page(
        "hooks.md"
    )


def test_an_uninstalled_module_is_documented_verbatim(capsys, toy):
    toy(module=False)
    reason = plugin_reason(capsys)
    assert reason == "import failed: ModuleNotFoundError: No module named 'ganzoo_toy'"
    assert f"`{reason}`" in page("hooks.md") and "No module named 'ganzoo_r1'" in page(
        "plugin-tutorial.md"
    )


def test_a_taken_plugin_name_is_documented_verbatim(capsys, toy, tmp_path, monkeypatch):
    first = toy()
    other = tmp_path / "other"
    install(other, "other-toy", "1.0", {"toy": "ganzoo_toy"})
    monkeypatch.setattr(sys, "path", [*sys.path, str(other)])  # found after ganzoo-toy
    importlib.invalidate_caches()
    reset_host()
    assert first.exists()
    reason = plugin_reason(capsys)
    assert (
        reason
        == "plugin name 'toy' is already taken by distribution ganzoo-toy; rename the entry point"
    )
    assert f"`{reason}`" in page("hooks.md")


def cli_error(capsys, *args: str) -> str:
    code, _, err = ganzoo(capsys, *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


# (mistake, changes to the toy module, extra CLI arguments)
RUN_FAILURES = {
    "clash with a built-in": ([('register("minimax", ', 'register("bce", ')], ["--loss", "bce"]),
    "unknown parameter": ([], ["--set", "model.params.hiden=8"]),
    "wrong type": ([], ["--set", "model.params.hidden=12.5"]),
    "no default": ([("def __init__(self, latent_dim: int = 64, hidden: int = 256)", "def __init__(self, hidden: int, latent_dim: int = 64)")], []),
    "rejected value": ([], ["--set", "model.params.hidden=0"]),
    "rejected spec": ([], ["--image-size", "128"]),
    "build returns other types": ([("return MLPGenerator(spec, self.latent_dim, self.hidden), MLPDiscriminator(spec, self.hidden)", "return MLPDiscriminator(spec, self.hidden), MLPGenerator(spec, self.latent_dim, self.hidden)")], []),
    "spec ignored": ([("self.shape = (spec.channels, spec.size, spec.size)", "self.shape = (1, spec.size, spec.size)")], ["--channels", "3"]),
    "not reduced": ([("return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()", "return F.softplus(-real_logits) + F.softplus(fake_logits)")], []),
    "not a tensor": ([("return -F.softplus(fake_logits).mean()", "return -F.softplus(fake_logits).mean().item()")], []),
    "non-finite": ([("return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()", 'return F.softplus(-real_logits).mean() * float("nan")')], ["--steps", "1"]),
    "logits (B, 1)": ([("return self.head(features).squeeze(1), features", "return self.head(features), features")], []),
    "regularizer target": ([('    target = "D"\n', '    target = "discriminator"\n')], ["--reg", "shrink"]),
    "preset key": ([('"train": {"d_steps": 1},', '"train": {"d_step": 1},')], ["--preset", "goodfellow"]),
    "unknown regularizer": ([], ["--reg", "shrnk"]),
}  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(RUN_FAILURES))
def test_run_failures_are_documented_verbatim(capsys, toy, tmp_path, mistake):
    changes, extra = RUN_FAILURES[mistake]
    source = toy_source()
    for old, new in changes:
        source = mutate(source, old, new)
    toy(source)
    args = [*TOY_RUN, "--out", str(tmp_path / "run"), *extra]
    message = cli_error(capsys, *args)
    assert message.startswith("error: ")
    assert message in page("hooks.md"), message


# ---- the tutorial: ganzoo-r1 ------------------------------------------------------------------


@pytest.fixture
def r1_package(tmp_path, monkeypatch, fresh_host) -> Path:
    """The tutorial's files, installed the way `pip install -e` would: src/ on sys.path + dist-info."""
    files = files_of(page("plugin-tutorial.md"))
    assert set(files) == {
        "ganzoo-r1/pyproject.toml",
        "ganzoo-r1/src/ganzoo_r1/__init__.py",
        "ganzoo-r1/tests/test_r1.py",
    }
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    package = tmp_path / "ganzoo-r1"
    project = tomllib.loads((package / "pyproject.toml").read_text())
    src = package / project["tool"]["setuptools"]["packages"]["find"]["where"][0]
    meta = project["project"]
    install(src, meta["name"], meta["version"], meta["entry-points"]["ganzoo"])
    activate(src, monkeypatch, "ganzoo_r1")
    return package


def test_the_tutorial_package_registers_and_trains(capsys, tmp_path, r1_package):
    code, out, err = ganzoo(capsys, "plugins", "--json")
    [status] = [p for p in json.loads(out) if p["name"] == "r1"]
    assert (status["status"], status["distribution"], status["hooks"]) == (
        "ok",
        "ganzoo-r1",
        ["register_losses", "register_regularizers"],
    )
    code, out, err = ganzoo(capsys, "list", "losses", "r1", "--json")
    assert code == 0, err
    shown = page("plugin-tutorial.md").split("$ ganzoo list losses r1 --json\n")[1].split("```")[0]
    assert json.loads(out) == json.loads(shown)
    run = tmp_path / "run"
    code, _, err = ganzoo(
        capsys,
        "run", "dcgan", "--loss", "r1", "--dataset", "fake", "--steps", "3", "--image-size", "16",
        "--set", "model.params.ngf=8", "--set", "model.params.ndf=8",
        "--set", "model.params.latent_dim=8", "--set", "loss.params.gamma=1",
        "--set", "data.params.length=32", "--set", "train.batch_size=8", "--out", str(run),
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((run / "plugins.json").read_text())["loss"]["distribution"] == "ganzoo-r1"
    # the tutorial's regularizer, with another loss, lazy
    run = tmp_path / "drift"
    code, _, err = ganzoo(
        capsys,
        "run", "dcgan", "--loss", "hinge", "--reg", "drift", "--dataset", "fake", "--steps", "4",
        "--image-size", "16", "--set", "model.params.ngf=8", "--set", "model.params.ndf=8",
        "--set", "model.params.latent_dim=8", "--set", "reg.drift.interval=2",
        "--set", "data.params.length=32", "--set", "train.batch_size=8", "--set", "log.every=2",
        "--out", str(run),
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(row["reg_drift"] >= 0 for row in rows)
    assert (
        json.loads((run / "plugins.json").read_text())["reg.drift"]["distribution"] == "ganzoo-r1"
    )


def test_the_tutorial_parameter_errors_are_ganzoos(capsys, tmp_path, r1_package):
    text = page("plugin-tutorial.md")
    shown = re.findall(r"\$ (ganzoo run dcgan --loss r1 --set \S+)\n(error: .*)\n", text)
    assert len(shown) == 3
    for command, message in shown:
        args = command.split()[1:] + ["--dataset", "fake", "--out", str(tmp_path / "run")]
        assert cli_error(capsys, *args) == message


def test_the_tutorial_package_own_tests_pass(r1_package):
    src = r1_package / "src"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=r1_package,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed" in result.stdout


# ---- every page -------------------------------------------------------------------------------


def python_blocks(markdown: str) -> list[str]:
    return [
        m["body"] for m in re.finditer(r"^```python\n(?P<body>.*?)^```$", markdown, re.S | re.M)
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.md")))
def test_python_blocks_are_valid_python(name):
    for i, block in enumerate(python_blocks(page(name))):
        compile(textwrap.dedent(block), f"{name}[{i}]", "exec")


def run_blocks(markdown: str) -> list[str]:
    """The bodies of the ``<!-- runs -->`` python blocks, in page order."""
    blocks = [m["body"] for m in RUNS_MARK.finditer(markdown)]
    assert len(blocks) == markdown.count("<!-- runs -->"), "a <!-- runs --> mark without a block"
    return blocks


def test_every_page_with_runs_marks_is_executed():
    marked = sorted(p.name for p in DOCS.glob("*.md") if "<!-- runs -->" in p.read_text())
    assert marked == ["python-api.md"], "add a test that executes the new page's blocks"


def test_the_python_api_page_trains_resumes_and_samples(tmp_path, monkeypatch, fresh_host):
    monkeypatch.chdir(tmp_path)  # the blocks write run directories relative to the cwd
    namespace: dict[str, object] = {"__name__": "__main__"}
    blocks = run_blocks(page("python-api.md"))
    assert len(blocks) == 4
    for i, block in enumerate(blocks):
        exec(compile(block, f"python-api.md[runs {i}]", "exec"), namespace)
    run = tmp_path / "runs" / "api-demo"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6] and all("reg_r1" in r for r in rows)
    saved = (run / "config.toml").read_text()
    assert 'preset = "lsgan"' in saved and "[reg.r1]" in saved and "ema = true" in saved
    assert (tmp_path / "grid.png").is_file()
    assert (run / "export" / "generator.pt").is_file() and (run / "export" / "README.md").is_file()
    assert tuple(namespace["images"].shape) == (16, 1, 16, 16)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_point_at_files_that_exist(name):
    text = re.sub(r"```.*?```", "", page(name), flags=re.S)  # links in code are not links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#")[0]
        assert (DOCS / path).exists(), f"{name} links to {target}, which does not exist"


def nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    return re.findall(r":\s*(\S+\.md)\s*$", text, re.M)


def test_every_page_is_in_the_mkdocs_nav():
    assert sorted(nav_pages()) == sorted(p.name for p in DOCS.glob("*.md"))


def test_mkdocs_builds_the_site_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "plugin-tutorial" / "index.html").is_file()
    assert (tmp_path / "site" / "hooks" / "index.html").is_file()


# ---- the reference ------------------------------------------------------------------------------

COMMANDS = ("list", "info", "plugins", "run", "sample", "eval", "bench", "export")


def generated(key: str, capsys, monkeypatch) -> str:
    """What a ``<!-- BEGIN generated: KEY -->`` block of docs/reference.md must hold."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    args = ["run", "dcgan", "--dry-run"] if key == "run --dry-run" else [*key.split(), "--help"]
    code, out, err = ganzoo(capsys, *args)
    assert code == 0, err
    return f"```\n$ ganzoo {' '.join(args)}\n{out.rstrip()}\n```\n"


def test_reference_is_generated_from_the_cli(capsys, monkeypatch, fresh_host):
    path = DOCS / "reference.md"
    text = path.read_text()
    keys = [m["key"] for m in GENERATED.finditer(text)]
    assert sorted(keys) == sorted([*COMMANDS, "run --dry-run"])
    expected = {key: generated(key, capsys, monkeypatch) for key in keys}
    updated = GENERATED.sub(lambda m: m[1] + expected[m["key"]] + m[4], text)
    if updated != text and os.environ.get(UPDATE_ENV):
        path.write_text(updated)
        return
    stale = [m["key"] for m in GENERATED.finditer(text) if m["body"] != expected[m["key"]]]
    assert not stale, (
        f"docs/reference.md is out of date for: {', '.join(stale)}; regenerate with "
        f"{UPDATE_ENV}=1 pytest tests/test_docs.py -k reference, then review the text around them"
    )


def test_reference_names_every_option_and_config_key(monkeypatch):
    import click
    import typer.main

    from ganzoo.cli import app
    from ganzoo.config import RunConfig, flatten

    text = page("reference.md")
    prose = GENERATED.sub("", text)  # what was written by hand
    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.get_command(click.Context(group), name)  # type: ignore[attr-defined]
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                if not opt.startswith("--") or opt == "--help":
                    continue
                # `run`'s options are described one by one; the others by their help text
                where = prose if name == "run" else text
                mentioned = re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", where)
                assert mentioned, f"ganzoo {name} {opt} is not described in docs/reference.md"
    for key in flatten(RunConfig().to_dict()):
        assert f"`{key}`" in prose, f"config key {key} is not described in docs/reference.md"


REFERENCE_ERRORS = [
    ["--set", "optim.lrr=1", "--dry-run"],
    ["--set", "train.steps=ten", "--dry-run"],
    ["--set", "model.params.ngff=1"],
    ["--loss", "lsgan", "--set", "loss.params.x=0"],
    ["--loss", "lsgan", "--set", "loss.params.a=x"],
    ["--set", "loss.params.label_smoothing=1.5"],
]


@pytest.mark.parametrize("args", REFERENCE_ERRORS, ids=lambda a: " ".join(a))
def test_reference_error_messages_are_ganzoos(capsys, tmp_path, fresh_host, args):
    message = cli_error(capsys, "run", "dcgan", "--dataset", "fake", "--out", str(tmp_path), *args)
    assert f"`{message.removeprefix('error: ')}`" in page("reference.md"), message
