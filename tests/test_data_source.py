"""Where the data came from is never silent: the start banner and RUN/data.json say it."""

from __future__ import annotations

import json

import pytest

from ganzoo.errors import GanzooError
from ganzoo.interfaces import DataRequest
from ganzoo.plugins import get_host

from .test_cli import ganzoo

TINY_MODEL = ["--set", "model.params.ngf=8", "--set", "model.params.ndf=8", "--steps", "1"]


def test_the_banner_and_the_run_directory_name_the_data_source(capsys, tmp_path):
    args = ["run", "dcgan", "--dataset", "fake", "--image-size", "16", *TINY_MODEL]
    code, _, err = ganzoo(
        capsys, *args, "--set", "data.params.length=64", "-o", str(tmp_path / "r")
    )
    assert code == 0, err
    assert "data: 64 images from generated noise (seed 0), unlabelled" in err
    assert json.loads((tmp_path / "r" / "data.json").read_text())["source"].startswith("generated")


@pytest.mark.slow
def test_an_empty_data_root_is_reported_not_silently_passed_over(capsys, tmp_path):
    try:  # the fallback: the system copy (apt-get install dataset-fashion-mnist)
        get_host().datasets.get("fashion-mnist").factory().load(
            DataRequest(None, 28, 1, download=False)
        )
    except GanzooError:
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["run", "dcgan", "--data-root", str(empty), "--batch-size", "8", *TINY_MODEL]
    code, _, err = ganzoo(capsys, *args, "-o", str(tmp_path / "r"))
    assert code == 0, err
    assert f"note: --data-root {empty} holds no fashion-mnist data; it was read from" in err
    source = json.loads((tmp_path / "r" / "data.json").read_text())["source"]
    assert "train-images" in source and str(empty) not in source


def test_run_json_prints_only_the_summary_on_stdout(capsys, tmp_path):
    args = ["run", "dcgan", "--dataset", "fake", "--image-size", "16", *TINY_MODEL, "--json"]
    code, out, err = ganzoo(
        capsys, *args, "--set", "data.params.length=64", "-o", str(tmp_path / "r")
    )
    assert code == 0, err
    summary = json.loads(out)  # nothing but the JSON
    assert summary["run"] == str(tmp_path / "r") and summary["steps"] == 1
    assert "done: 1 steps" in err and "next: ganzoo eval" in err
