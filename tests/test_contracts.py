"""Contracts every registered architecture and loss must honour (as timm tests every model)."""

from __future__ import annotations

import pytest
import torch

from ganzoo import ImageSpec, UsageError
from ganzoo.params import check_params, default_params, instantiate
from ganzoo.plugins import get_host

HOST = get_host()
ARCHITECTURES = [e.qualified_name for e in HOST.architectures.entries()]
LOSSES = [e.qualified_name for e in HOST.losses.entries()]
SIZES = [16, 28, 32, 64, 128]
# small widths keep the whole matrix fast on a 2-core CPU
SMALL = {"latent_dim": 8, "ngf": 4, "ndf": 4}


def small_arch(name: str):
    entry = HOST.architectures.get(name)
    accepted = default_params(entry.factory)
    return instantiate(entry, {k: v for k, v in SMALL.items() if k in accepted}, "model")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_architecture_shapes_and_ranges(arch, size, channels):
    try:
        g, d = small_arch(arch).build(ImageSpec(channels, size))
    except UsageError:
        pytest.skip(f"{arch} does not support {channels}x{size}x{size}")
    z = g.sample_latent(4)
    images = g(z)
    assert images.shape == (4, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1 and torch.isfinite(images).all()
    logits, features = d.forward_features(images)
    assert logits.shape == (4,) and features.ndim == 2 and features.shape[0] == 4
    assert torch.isfinite(logits).all()
    d.eval()  # in train mode a forward may update state (BatchNorm, spectral norm's power iteration)
    assert torch.equal(d(images), d.forward_features(images)[0])


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_one_step_of_every_loss_changes_both_networks(arch, loss_name):
    torch.manual_seed(0)
    g, d = small_arch(arch).build(ImageSpec(1, 16))
    loss = HOST.losses.get(loss_name).factory()
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), 2e-4, betas=(0.5, 0.999)) for m in (g, d))
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    before_g = [p.detach().clone() for p in g.parameters()]
    before_d = [p.detach().clone() for p in d.parameters()]

    fake = g(g.sample_latent(8))
    d_loss = loss.discriminator_loss(d, real, fake.detach())
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = loss.generator_loss(d, real, fake)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()

    for value in (d_loss, g_loss):
        assert value.ndim == 0 and torch.isfinite(value)
    assert any(not torch.equal(a, b) for a, b in zip(before_d, d.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(before_g, g.parameters(), strict=True))


@pytest.mark.parametrize("kind", ["architectures", "losses", "datasets"])
def test_every_entry_has_a_description_and_defaults_for_every_parameter(kind):
    for entry in getattr(HOST, kind).entries():
        assert entry.description, entry.qualified_name
        check_params(entry, {}, kind)  # builds with no parameters given


def test_parameters_are_checked_against_the_signature():
    entry = HOST.losses.get("lsgan")
    assert check_params(entry, {"a": -1, "c": 0}, "loss") == {"a": -1.0, "c": 0.0}
    with pytest.raises(UsageError, match=r"unknown parameter of lsgan .*'aa'; did you mean 'a'"):
        check_params(entry, {"aa": 1}, "loss")
    with pytest.raises(UsageError, match="loss.params.a must be a float"):
        check_params(entry, {"a": "zero"}, "loss")
    mmd = check_params(HOST.losses.get("mmd"), {"bandwidths": [1, 2]}, "loss")
    assert mmd == {"bandwidths": (1, 2)}
