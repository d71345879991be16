"""The benchmark scripts still run: each once at toy sizes, as a subprocess (no figures checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_the_quality_study_runs_in_lanes_and_tabulates_every_recipe(tmp_path):
    tiny = (
        "--dataset fake --steps 2 --image-size 16 -n 32 --curve-points 2 --set model.params.ngf=8 "
        "--set model.params.ndf=8 --set data.params.length=32 --set train.batch_size=8 "
        "--set train.compile=false"
    )
    env = {**os.environ, "BENCH_ARGS": tiny, "GANZOO": f"{sys.executable} -m ganzoo"}
    quality = [str(BENCHMARKS / "quality.sh"), str(tmp_path)]
    done = subprocess.run(["bash", *quality, "plain", "lr4 ema"], capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "table" / "results.md").read_text()
    for recipe in ("plain", "lr4", "ema"):
        assert f"dcgan/bce+{recipe}" in table

    failed = subprocess.run(["bash", *quality, "nonesuch"], capture_output=True, text=True,
                            timeout=600, env=env)  # fmt: skip
    assert failed.returncode == 1 and "lane 1 failed" in failed.stderr
    assert "unknown recipe 'nonesuch'" in (tmp_path / "lane1-0.log").read_text()

    # CONFIG names another config of recipes: LSGAN's, whose cells are LSGAN's
    lsgan = {**env, "CONFIG": str(BENCHMARKS / "configs" / "fashion_mnist_quality_lsgan.toml")}
    done = subprocess.run(["bash", str(BENCHMARKS / "quality.sh"), str(tmp_path / "l"),
                           "pearson-ema"], capture_output=True, text=True, timeout=600, env=lsgan)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dcgan/lsgan+pearson-ema" in (tmp_path / "l" / "table" / "results.md").read_text()


@pytest.mark.slow
def test_folder_cache_benchmark_compares_every_data_path(tmp_path):
    out = tmp_path / "folder.json"
    done = script(
        "folder_cache.py", "--images", "80", "--size", "16", "--mode", "eager", "--steps", "1",
        "--rounds", "1", "--batch-size", "8", "--dir", str(tmp_path / "jpegs"), "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert [r["data"] for r in report["results"]] == [
        "memory", "cache, 0 workers", "cache, 2 workers", "decode, 0 workers", "decode, 2 workers"
    ]  # fmt: skip
    assert report["cache"]["bytes"] == 80 * 3 * 16 * 16
    assert len(list((tmp_path / "jpegs" / "images").glob("*.jpg"))) == 80


@pytest.mark.slow
def test_profile_step_sorts_the_step_into_categories(tmp_path):
    out = tmp_path / "profile.json"
    done = script(
        "profile_step.py", "--size", "16", "--mode", "eager", "--steps", "2", "--warmup", "1",
        "--batch-size", "8", "--data-length", "16", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "convolution (fwd+bwd)" in done.stdout and "Python/framework overhead" in done.stdout
    report = json.loads(out.read_text())
    assert report["categories_ms"] and report["step_ms_profiled"] > 0
