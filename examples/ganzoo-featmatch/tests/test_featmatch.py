"""ganzoo-featmatch's contract: values by hand, gradients, ganzoo's conformance checks, training."""

from __future__ import annotations

import json
from importlib import metadata

import ganzoo_featmatch
import pytest
import torch
from ganzoo_featmatch import IMPROVED_GAN, FeatureMatching, feature_matching
from torch import Tensor

import ganzoo
from ganzoo import Discriminator, Preset, Regularizer, UsageError
from ganzoo.testing import check_regularizer, train_tiny


def plugin_module() -> object | None:
    """The module for ``train_tiny(plugin=...)``, or None when ganzoo already loads it.

    ``train_tiny`` registers ``plugin`` in-process; a module that the installed distribution's
    entry point has already registered cannot be registered a second time, so an installed
    package (``pip install -e .``, the usual case) trains through its entry point.
    """
    try:
        dist = metadata.distribution("ganzoo-featmatch")
    except metadata.PackageNotFoundError:
        return ganzoo_featmatch
    installed = any(ep.group == "ganzoo" and ep.name == "featmatch" for ep in dist.entry_points)
    return None if installed else ganzoo_featmatch


class PixelsAreFeatures(Discriminator):
    """D whose features are the image's pixels, flattened: hand-picked features go through."""

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = x.flatten(1)  # (B, C*H*W)
        return features.sum(1), features  # (B,), (B, F)


def test_value_by_hand():
    # features (B=2, F=2): real means (2, 0), fake means (0, 1): |(2, -1)|^2 = 5
    real = torch.tensor([[1.0, 0.0], [3.0, 0.0]]).view(2, 1, 1, 2)
    fake = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    d = PixelsAreFeatures()
    assert FeatureMatching().penalty(d, real, fake).item() == pytest.approx(5.0)
    assert FeatureMatching(weight=0.5).penalty(d, real, fake).item() == pytest.approx(2.5)


def test_it_matches_means_not_samples():
    # the same batch in another order has the same mean features: no penalty
    x = torch.randn(8, 3, 4, 4)
    assert FeatureMatching().penalty(PixelsAreFeatures(), x, x.flip(0)).item() == pytest.approx(
        0.0, abs=1e-6
    )


def test_the_gradient_reaches_fake_only():
    real = torch.randn(4, 1, 2, 2, requires_grad=True)
    fake = torch.randn(4, 1, 2, 2, requires_grad=True)
    FeatureMatching().penalty(PixelsAreFeatures(), real, fake).backward()
    assert real.grad is None  # the real features are detached: constants for G
    # d/d fake_i of |m_r - m_f|^2 = -2 (m_r - m_f) / B for every sample i
    expected = (-2 * (real.mean(0) - fake.mean(0)) / 4).detach().expand(4, -1, -1, -1)
    torch.testing.assert_close(fake.grad, expected)


def test_features_must_be_two_dimensional():
    with pytest.raises(ValueError, match=r"\(B, F\)"):
        feature_matching(torch.zeros(2, 3, 1), torch.zeros(2, 3))


def test_weight_zero_turns_the_term_off():
    assert (
        FeatureMatching(weight=0).penalty(PixelsAreFeatures(), *torch.randn(2, 4, 1, 2, 2)) is None
    )


@pytest.mark.parametrize("params", [{}, {"weight": 0.1}, {"interval": 4}])
def test_it_passes_ganzoos_regularizer_checks(params):
    check_regularizer(FeatureMatching, **params)
    assert FeatureMatching.target == "G"


def test_bad_parameters_are_usage_errors():
    with pytest.raises(UsageError, match="feature-matching weight must be >= 0, got -1"):
        FeatureMatching(weight=-1.0)
    with pytest.raises(UsageError, match="feature-matching interval must be an integer >= 1"):
        FeatureMatching(interval=0)


def test_it_trains_a_tiny_gan(tmp_path):
    run = train_tiny(tmp_path / "run", reg=["feature-matching"], plugin=plugin_module())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(row["reg_feature-matching"] >= 0 for row in rows)


def test_the_preset_through_the_python_api(tmp_path):
    tiny = [
        "data.name=fake", "data.params.length=32", "data.image_size=16", "data.channels=1",
        "model.params.ngf=8", "model.params.ndf=8", "model.params.latent_dim=8",
        "train.batch_size=8", "train.steps=2", "log.every=1",
    ]  # fmt: skip
    run = ganzoo.train(assignments=tiny, preset="improved-gan", out=tmp_path / "run")
    saved = (run / "config.toml").read_text()
    assert 'preset = "improved-gan"' in saved
    assert "lr = 0.0003" in saved and "[reg.feature-matching]" in saved
    generator = ganzoo.load_generator(run)
    assert generator(generator.sample_latent(2)).shape == (2, 1, 16, 16)


def test_the_preset_is_the_papers():
    assert isinstance(IMPROVED_GAN, Preset)
    assert IMPROVED_GAN.config["optim"] == {"name": "Adam", "lr": 3e-4, "betas": [0.5, 0.999]}
    assert IMPROVED_GAN.config["reg"] == {"feature-matching": {"weight": 1.0}}
    assert "Salimans et al. 2016" in IMPROVED_GAN.source


def test_the_hooks_register_the_regularizer_and_the_preset():
    calls = []
    ganzoo_featmatch.register_regularizers(lambda *a, **kw: calls.append((a, kw)))
    ganzoo_featmatch.register_presets(lambda *a, **kw: calls.append((a, kw)))
    [((name, factory), kwargs), ((preset_name, preset), _)] = calls
    assert name == "feature-matching" and factory is FeatureMatching
    assert issubclass(factory, Regularizer) and kwargs["description"]
    assert preset_name == "improved-gan" and preset is IMPROVED_GAN
