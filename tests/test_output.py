"""What ganzoo prints and writes, as scripts and logs read it: piped output is never wrapped or
truncated, and an output that could not be made (a plot without matplotlib) is said to be missing."""

from __future__ import annotations

import re
import sys

import pytest
from rich.table import Table

from ganzoo.cli.console import console, error_console

from .test_bench import TINY as BENCH_TINY
from .test_cli import ganzoo
from .test_docs import ROOT, tomllib
from .test_training import TINY_FLAGS, train

LONG_PATH = "/tmp/" + "/".join(["a-rather-long-folder-name"] * 6) + "/last.safetensors"


def test_piped_messages_keep_long_paths_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal's setting, leaking into a pipe
    console().print(f"done: checkpoint {LONG_PATH}", highlight=False)
    error_console().print(f"note: wrote {LONG_PATH}", highlight=False)
    out, err = capsys.readouterr()
    assert out == f"done: checkpoint {LONG_PATH}\n"
    assert err == f"note: wrote {LONG_PATH}\n"


def test_piped_tables_never_truncate_a_number(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    table = Table(title="a wide table")
    for title in ("variant", "FD (ganzoo-fmnist)", "KID (ganzoo-fmnist)", "precision", "recall"):
        table.add_column(title)
    table.add_row("dcgan/bce", "514.2718 ± 12.3456", "0.123456 ± 0.012345", "0.123", "0.456")
    console().print(table)
    out = capsys.readouterr().out
    assert "514.2718 ± 12.3456" in out and "0.123456 ± 0.012345" in out and "…" not in out


def test_the_done_line_of_a_piped_run_holds_the_whole_checkpoint_path(
    capsys, tmp_path, monkeypatch, fresh_host
):
    monkeypatch.setenv("COLUMNS", "40")
    run = tmp_path / "a-run-directory-with-a-name-longer-than-forty-columns"
    code, out, err = ganzoo(
        capsys, "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, "--steps", "2", "-o", str(run)
    )
    assert code == 0, err
    [done] = [line for line in out.splitlines() if line.startswith("done:")]
    assert done.endswith(f"checkpoint {run / 'checkpoints' / 'last.safetensors'}")


def test_plots_are_core_outputs_so_matplotlib_is_a_core_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(re.match(r"matplotlib\b", d) for d in project["dependencies"])


@pytest.fixture
def no_matplotlib(monkeypatch):
    """As on an install where matplotlib is missing or broken anyway."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError


def test_a_run_without_matplotlib_says_the_loss_curve_was_skipped(
    tmp_path, fresh_host, no_matplotlib
):
    with pytest.warns(UserWarning, match=r"matplotlib is not installed: loss_curve\.png skipped"):
        trainer = train(tmp_path, "run", "train.steps=2")
    assert not trainer.run_dir.loss_curve.exists()


def test_a_bench_without_matplotlib_says_the_figure_was_skipped(
    capsys, tmp_path, fresh_host, no_matplotlib, monkeypatch
):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "bench"
    with pytest.warns(UserWarning, match=r"loss_curve\.png skipped"):  # the cell's run says so too
        code, stdout, err = ganzoo(capsys, "bench", "--loss", "bce", *BENCH_TINY, "-o", str(out))
    assert code == 0, err
    assert "note: figure.png skipped: matplotlib is not installed" in err
    assert "figure.png" not in stdout and not (out / "figure.png").exists()
    assert f"results.md, results.csv, results.json in {out}" in stdout
