"""ganzoo-sngan's contract: ganzoo's architecture checks, spectral norm, errors, training."""

from __future__ import annotations

import ganzoo_sngan
import pytest
import torch
import torch.nn.functional as F
from ganzoo_sngan import SNGAN
from torch import nn
from torch.nn.utils import parametrize

from ganzoo import Architecture, Discriminator, Generator, ImageSpec, UsageError
from ganzoo.testing import check_architecture, train_tiny

TINY = dict(latent_dim=8, width=8)


@pytest.mark.parametrize("size", [16, 28])  # both layouts: base 4 (2^k sizes) and base 7
@pytest.mark.parametrize("channels", [1, 3])
def test_it_passes_ganzoos_architecture_checks(size, channels):
    # ganzoo's checks: G and D types, sample_latent's shape, images (B, C, size, size) in [-1, 1],
    # logits (B,), features (B, F), and one BCE step that changes both networks. Seeded per
    # case: with sum pooling a random D can give logits so large that BCE's gradient to G is 0
    torch.manual_seed(0)
    check_architecture(SNGAN, sizes=(size,), channels=(channels,), **TINY)


@pytest.mark.parametrize("size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(size, channels):
    torch.manual_seed(0)
    g, d = SNGAN(**TINY).build(ImageSpec(channels, size))
    assert isinstance(g, Generator) and isinstance(d, Discriminator)
    z = g.sample_latent(3)
    assert z.shape == (3, 8)
    x = g(z)
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    logits, features = d.forward_features(x)
    assert logits.shape == (3,) and features.shape == (3, 8)  # features: (B, width)
    assert d(x).shape == (3,)


@pytest.mark.parametrize("size", [8, 48, 128])
def test_an_unsupported_size_names_the_supported_ones(size):
    with pytest.raises(UsageError, match=r"supported sizes: 16, 28, 32, 64"):
        SNGAN(**TINY).build(ImageSpec(3, size))


def test_unsupported_channels_and_bad_parameters_are_usage_errors():
    with pytest.raises(UsageError, match="1 or 3 channels, got 4"):
        SNGAN(**TINY).build(ImageSpec(4, 32))
    with pytest.raises(UsageError, match="width must be >= 1"):
        SNGAN(width=0)


def test_every_conv_and_linear_of_d_is_spectrally_normalised_and_d_has_no_batchnorm():
    g, d = SNGAN(**TINY).build(ImageSpec(3, 32))
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in g.modules())
    assert not any(parametrize.is_parametrized(m) for m in g.modules())


def test_spectral_norm_keeps_each_layer_near_sigma_one():
    torch.manual_seed(0)
    _, d = SNGAN(latent_dim=8, width=8, n_power_iterations=5).build(ImageSpec(1, 16))
    x = torch.randn(4, 1, 16, 16)
    for _ in range(20):  # each training-mode forward refines the power-iteration estimate
        d(x)
    d.eval()
    for module in d.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            sigma = torch.linalg.matrix_norm(module.weight.flatten(1), ord=2)
            assert sigma.item() == pytest.approx(1.0, abs=1e-3)


def test_global_sum_pooling_features():
    _, d = SNGAN(**TINY).build(ImageSpec(3, 16))
    d.eval()
    x = torch.randn(2, 3, 16, 16)
    logits, features = d.forward_features(x)
    torch.testing.assert_close(features, F.relu(d.blocks(x)).sum(dim=(2, 3)))
    torch.testing.assert_close(logits, d.classify(features).flatten())


def test_one_optimisation_step_of_each_network():
    torch.manual_seed(0)
    g, d = SNGAN(**TINY).build(ImageSpec(3, 16))
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.9))
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    z = g.sample_latent(8)

    d_before = [p.detach().clone() for p in d.parameters()]
    d_loss = F.relu(1 - d(real)).mean() + F.relu(1 + d(g(z).detach())).mean()  # hinge, as in SNGAN
    opt_d.zero_grad()
    d_loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())
    opt_d.step()
    assert all(not torch.equal(a, b) for a, b in zip(d_before, d.parameters(), strict=True))

    g_before = [p.detach().clone() for p in g.parameters()]
    d.requires_grad_(False)
    g_loss = -d(g(z)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    opt_g.step()
    assert all(not torch.equal(a, b) for a, b in zip(g_before, g.parameters(), strict=True))


def test_the_hook_registers_sngan():
    calls = []
    ganzoo_sngan.register_architectures(lambda *args, **kwargs: calls.append((args, kwargs)))
    [((name, factory), kwargs)] = calls
    assert name == "sngan" and factory is SNGAN and issubclass(factory, Architecture)
    assert kwargs["description"]


def test_it_trains_a_tiny_gan(tmp_path):
    # in-process, through ganzoo's trainer: the installed entry point registers `sngan`
    run = train_tiny(
        tmp_path / "run",
        arch="sngan",
        loss="hinge",
        assignments=["model.params.width=8", "model.params.latent_dim=8"],
    )
    assert (run / "checkpoints" / "last.safetensors").is_file()
