"""Cluster labels (``data.clusters``): balanced k-means pseudo-labels for conditional models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganzoo.metrics.evaluate import EvalRequest, evaluate
from ganzoo.train.clusters import ClusterLabelled, balanced_assignment, balanced_kmeans
from ganzoo.train.rundir import RunDir

from .test_cli import ganzoo as cli
from .test_recipes import assert_identical
from .test_training import TINY_FLAGS

CLUSTERED = [*TINY_FLAGS, "--set", "data.clusters=3", "--set", "model.params.conditional=true"]


def blobs(sizes: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points ``(N, 2)`` around one far-apart centre per blob, and each point's blob."""
    rng = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    points = [centres[i] + torch.randn(n, 2, generator=rng) for i, n in enumerate(sizes)]
    truth = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    return torch.cat(points), truth


def test_the_assignment_fills_each_cluster_to_a_share_and_keeps_the_nearest():
    # four points all nearest cluster 0; two clusters: the two nearest stay, the others move
    distances = torch.tensor([[1.0, 9.0], [2.0, 9.0], [3.0, 5.0], [4.0, 6.0]])
    assert balanced_assignment(distances).tolist() == [0, 0, 1, 1]
    sizes = balanced_assignment(torch.rand(103, 5)).bincount()
    assert sizes.tolist() == [21, 21, 21, 20, 20]


def test_balanced_kmeans_finds_well_separated_groups():
    points, truth = blobs([30, 30, 30])
    labels = balanced_kmeans(points, 3)
    for blob in range(3):  # every blob is one cluster, whatever its number
        assert labels[truth == blob].unique().numel() == 1
    assert labels.bincount().tolist() == [30, 30, 30]
    assert torch.equal(labels, balanced_kmeans(points, 3))  # seeded: the same every time


def test_unequal_groups_still_get_equal_clusters():
    """Balance is the point: uniform labels at sampling time must match the data's frequencies,
    so a group larger than a share spills its farthest points into a neighbour."""
    points, truth = blobs([50, 25, 15])
    labels = balanced_kmeans(points, 3)
    assert labels.bincount().tolist() == [30, 30, 30]


def test_cluster_labelled_data_replaces_labels_and_names_the_clusters():
    images = [torch.full((1, 4, 4), v) for v in (-1.0, -0.9, 0.9, 1.0, -0.95, 0.95)]
    data = ClusterLabelled([(x, 7) for x in images], 2)  # labels 7 are replaced
    assert data.classes == ["cluster 0", "cluster 1"] and len(data) == 6
    labels = [int(data[i][1]) for i in range(6)]
    dark, light = {labels[0], labels[1], labels[4]}, {labels[2], labels[3], labels[5]}
    assert len(dark) == len(light) == 1 and dark != light
    assert torch.equal(data[2][0], images[2])


def test_a_clustered_conditional_run_trains_resumes_exactly_and_samples_by_cluster(
    tmp_path, capsys, fresh_host
):
    args = ["run", "dcgan", *CLUSTERED]
    assert cli(capsys, *args, "--steps", "6", "-o", str(tmp_path / "straight"))[0] == 0
    assert cli(capsys, *args, "--steps", "3", "-o", str(tmp_path / "split"))[0] == 0
    code, _, err = cli(capsys, *args, "--steps", "6", "--resume", str(tmp_path / "split"))
    assert code == 0, err
    assert_identical(tmp_path / "straight", tmp_path / "split")
    run = RunDir(tmp_path / "straight")
    assert run.read_classes() == ["cluster 0", "cluster 1", "cluster 2"]
    code, out, err = cli(capsys, "sample", str(run.root), "-c", "cluster 1", "-n", "4")
    assert code == 0, err


def test_a_clustered_run_is_scored_without_per_class_metrics(tmp_path, capsys, monkeypatch):
    """Clusters are not the data's classes: intra-class FD against the test split's labels would
    compare a cluster with a class, so only the whole-distribution metrics are reported."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert cli(capsys, "run", "dcgan", *CLUSTERED, "--steps", "2", "-o", str(run))[0] == 0
    request = EvalRequest(metrics=("fd",), num_samples=30, extractor="ganzoo-fmnist")
    result = evaluate(RunDir(run), request)
    assert list(result["metrics"]) == ["fd"]
    assert "per_class_fd" not in json.loads(Path(result["path"]).read_text())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["--set", "data.clusters=3"], "add --set model.params.conditional=true"),
        (["--set", "data.clusters=1", "--set", "model.params.conditional=true"], "from 2 to"),
        (["--set", "data.clusters=-2"], "data.clusters"),
    ],
)
def test_bad_cluster_settings_are_one_line(tmp_path, capsys, settings, message):
    args = ["run", "dcgan", *TINY_FLAGS, *settings, "--steps", "1", "-o", str(tmp_path / "r")]
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
