"""Evaluation: the Frechet distance itself, torch-fidelity wiring, caching, weights and refusals."""

from __future__ import annotations

import json
import re
import urllib.error
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest
from ganzoo.metrics import extractors, inputs
from ganzoo.metrics.evaluate import EvalRequest, asked_names, evaluate, stored_result
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
        EvalRequest(metrics=("fd", "kid", "pr", "is"), num_samples=64, extractor="ganzoo-fmnist"),
    )
    assert set(result["metrics"]) >= {"fd", "kid", "precision", "recall", "is"}
    assert result["metrics"]["fd"] > 0
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
    request = EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist")
    first = evaluate(tiny_run, request)
    after_first = len(reads)
    assert after_first >= 32 and list((tmp_path / "cache" / "fidelity").iterdir())
    second = evaluate(tiny_run, request)
    assert len(reads) - after_first <= 1  # at most torch-fidelity's shape probe, not the reference
    assert second["metrics"]["fd"] == pytest.approx(first["metrics"]["fd"])


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
        evaluate(tiny_run, EvalRequest(metrics=("fidd",)))
    with pytest.raises(UsageError, match="did you mean 'fd'"):
        evaluate(tiny_run, EvalRequest(metrics=("fdd",)))
    with pytest.raises(UsageError, match="did you mean 'inception'"):
        evaluate(tiny_run, EvalRequest(extractor="inceptoin"))


def test_eval_command(capsys, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = ganzoo(
        capsys, "eval", str(tiny_run.root), "-n", "32", "--extractor", "ganzoo-fmnist", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["protocol"]["num_samples"] == 32


def test_eval_says_what_it_does_and_how_long_it_took_on_stderr(
    capsys, tiny_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = ganzoo(
        capsys, "eval", str(tiny_run.root), "-n", "32", "--extractor", "ganzoo-fmnist", "--json"
    )
    assert code == 0, err
    json.loads(out)  # stdout holds the result and nothing else
    start, finish = [line for line in err.splitlines() if line.startswith("eval ")]
    assert "generating 32 images" in start and "ganzoo-fmnist features" in start
    assert "32 test images" in start
    assert re.search(r"step 4 scored in \d+\.\d s$", finish), finish
    code, _, err = ganzoo(capsys, "eval", str(tiny_run.root), "--extractor", "inceptoin")
    assert code == 2 and err.startswith("error: unknown extractor 'inceptoin'")  # no start line


def test_the_frechet_distance_is_fd_and_fid_only_in_inception_features(
    tiny_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    domain = evaluate(
        tiny_run, EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist")
    )
    assert set(domain["metrics"]) == {"fd"} and domain["protocol"]["extractor"] == "ganzoo-fmnist"
    with pytest.raises(
        UsageError, match="fid is the Frechet distance in Inception features.*-m fd"
    ):
        evaluate(tiny_run, EvalRequest(metrics=("fid",), extractor="ganzoo-fmnist"))


@pytest.mark.skipif(not SHARED_INCEPTION.is_file(), reason="needs ../shared/weights")
def test_fd_in_inception_features_is_reported_as_fid(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(  # the naming is under test, not Inception on a CPU
        torch_fidelity, "calculate_metrics", lambda **kw: {"frechet_inception_distance": 12.5}
    )
    request = EvalRequest(
        metrics=("fd",), num_samples=32, extractor="inception", inception_weights=SHARED_INCEPTION
    )
    assert evaluate(tiny_run, request)["metrics"] == {"fid": 12.5}


def test_evaluations_never_overwrite_each_other(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    fd = evaluate(tiny_run, EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist"))
    pr = evaluate(tiny_run, EvalRequest(metrics=("pr",), num_samples=32, extractor="ganzoo-fmnist"))
    again = evaluate(
        tiny_run, EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist", seed=1)
    )
    paths = [Path(r["path"]) for r in (fd, pr, again)]
    assert [p.name for p in paths] == [
        "ganzoo-fmnist-step4-n32-fd.json",
        "ganzoo-fmnist-step4-n32-pr.json",
        "ganzoo-fmnist-step4-n32-fd-2.json",
    ]
    assert json.loads(paths[0].read_text())["metrics"] == fd["metrics"]
    assert json.loads(paths[1].read_text())["metrics"] == pr["metrics"]


def test_a_stored_result_is_reused_only_for_the_same_measurement(tiny_run, tmp_path, monkeypatch):
    """What ``evaluate`` wrote answers the same request, or one asking fewer of its metrics; any
    other seed, sample count, reference count or metric is a different measurement."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    request = EvalRequest(metrics=("fd", "pr"), num_samples=32, extractor="ganzoo-fmnist")
    written = evaluate(tiny_run, request)
    assert stored_result(tiny_run, request)["path"] == written["path"]
    assert (
        stored_result(tiny_run, replace(request, metrics=("pr",)))["metrics"] == written["metrics"]
    )
    for other in (
        replace(request, seed=1),
        replace(request, num_samples=33),
        replace(request, num_ref=16),
        replace(request, metrics=("fd", "kid")),
        replace(request, batchnorm="recompute"),
    ):
        assert stored_result(tiny_run, other) is None, other


def test_results_written_before_the_batchnorm_field_count_as_running_statistics(
    tiny_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    request = EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist")
    path = Path(evaluate(tiny_run, request)["path"])
    old = json.loads(path.read_text())
    del old["protocol"]["batchnorm"]  # what an older ganzoo wrote
    path.write_text(json.dumps(old))
    assert stored_result(tiny_run, request)["path"] == str(path)
    assert stored_result(tiny_run, replace(request, batchnorm="recompute")) is None


def test_eval_with_recomputed_batchnorm_is_its_own_measurement(tiny_run, tmp_path, monkeypatch):
    """``--batchnorm recompute`` scores G with BatchNorm statistics re-estimated for its weights:
    another number than the running statistics give, recorded as such, reproducible."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    request = EvalRequest(metrics=("fd",), num_samples=32, extractor="ganzoo-fmnist")
    running = evaluate(tiny_run, request)
    recomputed = evaluate(tiny_run, replace(request, batchnorm="recompute"))
    again = evaluate(tiny_run, replace(request, batchnorm="recompute"))
    assert recomputed["metrics"]["fd"] != pytest.approx(running["metrics"]["fd"])
    assert again["metrics"]["fd"] == pytest.approx(recomputed["metrics"]["fd"])
    assert running["protocol"]["batchnorm"] == "running"
    assert recomputed["protocol"]["batchnorm"] == "recompute"
    assert "recomputed" in recomputed["protocol"]["generator_mode"]
    assert Path(recomputed["path"]).name == "ganzoo-fmnist-bn-step4-n32-fd.json"


def test_an_unknown_batchnorm_mode_is_one_line_with_the_closest_name(capsys, tiny_run):
    capsys.readouterr()  # the fixture's training lines
    for command in ("eval", "sample"):
        code, _, err = ganzoo(capsys, command, str(tiny_run.root), "--batchnorm", "recomputed")
        err = err.strip()
        assert code != 0 and "Traceback" not in err and len(err.splitlines()) == 1, err
        assert "'recomputed'" in err and "did you mean 'recompute'" in err


def test_asked_metrics_are_named_as_the_extractor_names_them():
    assert asked_names(("pr", "fd"), "ganzoo-fmnist") == ["fd", "pr"]
    assert asked_names(("fid", "fd", "kid"), "inception") == ["fid", "kid"]


def test_kid_spread_comes_from_real_subsets_or_is_not_reported(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    many = evaluate(
        tiny_run, EvalRequest(metrics=("kid",), num_samples=200, extractor="ganzoo-fmnist")
    )
    assert many["protocol"]["kid_subsets"] == {"count": 100, "size": 20}
    assert many["metrics"]["kid_std"] > 0  # subsets of 20 out of 200 differ
    few = evaluate(
        tiny_run, EvalRequest(metrics=("kid",), num_samples=32, extractor="ganzoo-fmnist")
    )
    assert few["protocol"]["kid_subsets"] == {"count": 1, "size": 32}
    assert "kid_std" not in few["metrics"]  # one subset, the whole set: there is no spread


def test_eval_names_the_extractor_next_to_every_number(capsys, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = ganzoo(
        capsys,
        "eval",
        str(tiny_run.root),
        "-m",
        "fd,kid,pr",
        "-n",
        "100",
        "--extractor",
        "ganzoo-fmnist",
    )
    assert code == 0, err
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()]
    rows = {row[0]: row[1:] for row in cells if row}
    assert {"fd", "kid", "precision", "recall"} <= set(rows)
    assert all(features == "ganzoo-fmnist" for _, features in rows.values()), out
    assert "±" in rows["kid"][0] and "±" not in rows["fd"][0]


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
