"""Training on real Fashion-MNIST moves samples measurably toward the data (slow; runs in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from ganzoo.config import parse_assignments, resolve
from ganzoo.interfaces import DataRequest
from ganzoo.labels import image_of
from ganzoo.metrics.frechet import frechet_distance_of, pooled_pixels
from ganzoo.plugins import get_host
from ganzoo.train.rundir import RunDir
from ganzoo.train.trainer import Trainer

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SYSTEM_FASHION_MNIST.is_dir() and not os.environ.get("CI"),
        reason="needs `apt-get install dataset-fashion-mnist` (CI installs it)",
    ),
]


def test_dcgan_on_fashion_mnist_moves_toward_the_data(tmp_path, fresh_host):
    config = resolve(
        parse_assignments(["loss.name=bce", "train.steps=300", "log.every=100", f"out={tmp_path}"])
    )
    trainer = Trainer(config, RunDir(tmp_path))
    test_set = (
        get_host().datasets.get("fashion-mnist").factory().load(DataRequest(None, 28, 1, "test"))
    )
    real = torch.stack([image_of(test_set[i]) for i in range(1000)])  # (1000, 1, 28, 28)
    real_features = pooled_pixels(real)

    def distance() -> float:
        trainer.g.eval()
        with torch.no_grad():
            fake = trainer.g(
                trainer.g.sample_latent(1000, generator=torch.Generator().manual_seed(1))
            )
        trainer.g.train()
        return frechet_distance_of(real_features, pooled_pixels(fake))

    before = distance()
    trainer.fit()
    after = distance()
    assert after < 0.3 * before, (before, after)
