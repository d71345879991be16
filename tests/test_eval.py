"""Evaluation: the Frechet distance itself, torch-fidelity wiring, caching, weights and refusals."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest
from ganzoo.metrics import extractors, inputs
from ganzoo.metrics.evaluate import EvalRequest, evaluate
from ganzoo.metrics.frechet import frechet_distance, frechet_distance_of, gaussian_stats
from ganzoo.plugins import get_host
from ganzoo.train.rundir import RunDir

from .test_cli import ganzoo
from .test_training import train

SHARED_INCEPTION = (
    Path(__file__).resolve().parents[2] / "shared/weights/inception-2015-12-05-fid-only.pth"
)


def direct_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """FD the long way: Tr((S1 S2)^(1/2)) as the sum of square roots of S1 S2's eigenvalues."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eigenvalues = np.linalg.eigvals(s1 @ s2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def test_frechet_distance_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    y = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 0.5
    assert frechet_distance_of(x, y) == pytest.approx(direct_frechet(x, y), rel=1e-6)


def test_frechet_distance_of_identical_inputs_is_zero():
    x = np.random.default_rng(1).normal(size=(300, 8))
    assert abs(frechet_distance(*gaussian_stats(x), *gaussian_stats(x))) < 1e-6


def test_uint8_conversion_matches_png_quantisation():
    images = torch.tensor([[[[-1.0, 0.0, 1.0, 0.5]]]])  # (1, 1, 1, 4)
    out = inputs.to_uint8_rgb(images)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 1, 4)
    assert out[0, 0, 0].tolist() == [0, 128, 255, 191]


@pytest.fixture
def tiny_run(tmp_path, fresh_host) -> RunDir:
    return train(tmp_path, "run", "train.steps=4").run_dir


def test_eval_records_metrics_and_protocol(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    result = evaluate(
        tiny_run,
        EvalRequest(metrics=("fid", "kid", "pr", "is"), num_samples=64, extractor="ganzoo-fmnist"),
    )
    assert set(result["metrics"]) >= {"fid", "kid", "precision", "recall", "is"}
    assert result["metrics"]["fid"] > 0
    protocol = result["protocol"]
    assert protocol["extractor"] == "ganzoo-fmnist" and protocol["feature_layer"] == "128"
    assert protocol["num_samples"] == 64 and protocol["step"] == 4 and protocol["ema"] is False
    assert protocol["ref_split"] == "fake:test" and "28x28" in protocol["resize"]
    assert json.loads(Path(result["path"]).read_text())["metrics"] == result["metrics"]


def test_reference_features_are_cached(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    reads = []
    original = inputs.UInt8Subset.__getitem__
    monkeypatch.setattr(
        inputs.UInt8Subset, "__getitem__", lambda self, i: reads.append(i) or original(self, i)
    )
    request = EvalRequest(metrics=("fid",), num_samples=32, extractor="ganzoo-fmnist")
    first = evaluate(tiny_run, request)
    after_first = len(reads)
    assert after_first >= 32 and list((tmp_path / "cache" / "fidelity").iterdir())
    second = evaluate(tiny_run, request)
    assert len(reads) - after_first <= 1  # at most torch-fidelity's shape probe, not the reference
    assert second["metrics"]["fid"] == pytest.approx(first["metrics"]["fid"])


def test_is_is_refused_with_an_fid_only_inception_file(tiny_run):
    if not SHARED_INCEPTION.is_file():
        pytest.skip("../shared/weights is not beside this checkout")
    request = EvalRequest(
        metrics=("fid", "is"),
        num_samples=32,
        extractor="inception",
        inception_weights=SHARED_INCEPTION,
    )
    with pytest.raises(UsageError, match="IS needs the Inception classifier.*zero-filled"):
        evaluate(tiny_run, request)


def test_missing_inception_weights_offline_is_one_clear_line(tiny_run, tmp_path, monkeypatch):
    monkeypatch.delenv(extractors.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(GanzooError) as info:
        evaluate(tiny_run, EvalRequest(num_samples=32, extractor="inception"))
    message = str(info.value)
    assert "\n" not in message and "--inception-weights" in message
    assert (
        "weights-inception-2015-12-05-6726825d.pth" in message and str(tmp_path / "hub") in message
    )


def test_unknown_metric_and_extractor_suggest_names(tiny_run):
    with pytest.raises(UsageError, match="did you mean 'fid'"):
        evaluate(tiny_run, EvalRequest(metrics=("fdi",)))
    with pytest.raises(UsageError, match="did you mean 'inception'"):
        evaluate(tiny_run, EvalRequest(extractor="inceptoin"))


def test_eval_command(capsys, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = ganzoo(
        capsys, "eval", str(tiny_run.root), "-n", "32", "--extractor", "ganzoo-fmnist", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["protocol"]["num_samples"] == 32


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_INCEPTION.is_file(), reason="needs ../shared/weights")
def test_real_inception_scores_real_images_far_closer_than_noise(tmp_path):
    """The classic wrong-range bug (feeding [-1, 1] floats or [0, 1] images) would break this."""
    try:
        fashion = get_host().datasets.get("fashion-mnist").factory()
        test = fashion.load(DataRequest(None, 28, 1, "test", download=False))
        train_split = fashion.load(DataRequest(None, 28, 1, "train", download=False))
    except GanzooError:
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    n = 150
    ref = inputs.UInt8Subset(test, n, seed=0)
    other_real = inputs.UInt8Subset(train_split, n, seed=1)
    noise = torch.utils.data.TensorDataset(torch.randint(0, 256, (n, 3, 28, 28), dtype=torch.uint8))

    class Images(torch.utils.data.Dataset):
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            item = self.data[i]
            return item[0] if isinstance(item, tuple) else item

    def fid(first) -> float:
        return torch_fidelity.calculate_metrics(
            input1=Images(first), input2=ref, input2_cache_name="fmnist-test-150", cache_root=str(tmp_path),
            fid=True, feature_extractor="inception-v3-compat",
            feature_extractor_weights_path=str(SHARED_INCEPTION), cuda=False, verbose=False,
            save_cpu_ram=True,
        )["frechet_inception_distance"]  # fmt: skip

    real_vs_real, noise_vs_real = fid(other_real), fid(noise)
    assert real_vs_real < 0.25 * noise_vs_real, (real_vs_real, noise_vs_real)
