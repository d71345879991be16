"""DCGAN against the published architecture (Radford et al. 2015; pytorch/examples dcgan)."""

from __future__ import annotations

import pytest
import torch
from ganzoo_dcgan import DCGAN
from ganzoo_dcgan.model import layout, minibatch_stddev
from torch import nn

from ganzoo import ImageSpec, LeakyReLU, UsageError, layers


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_64x64_rgb_parameter_counts_match_the_published_dcgan():
    g, d = DCGAN().build(ImageSpec(channels=3, size=64))
    assert n_params(g) == 3_576_704
    assert n_params(d) == 2_765_568


def test_generator_layers_follow_the_paper():
    g, _ = DCGAN().build(ImageSpec(3, 64))
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (100, 512),
        (512, 256),
        (256, 128),
        (128, 64),
        (64, 3),
    ]
    assert isinstance(list(g.modules())[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 4  # not on the output


def test_discriminator_has_no_batchnorm_on_the_input_block_and_leaky_relu_02():
    _, d = DCGAN().build(ImageSpec(3, 64))
    first = list(d.features)
    assert isinstance(first[0], nn.Conv2d) and isinstance(first[1], LeakyReLU)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, LeakyReLU))
    assert not any(isinstance(m, nn.LeakyReLU) for m in d.modules())  # one LeakyReLU entry point


def test_weights_are_initialised_from_n0_002():
    g, d = DCGAN().build(ImageSpec(3, 64))
    weights = torch.cat([m.weight.flatten() for m in d.modules() if isinstance(m, nn.Conv2d)])
    assert abs(weights.mean().item()) < 1e-3 and weights.std().item() == pytest.approx(
        0.02, rel=0.05
    )
    gammas = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert gammas.mean().item() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("size", "blocks"), [(16, 2), (28, 2), (32, 3), (64, 4), (128, 5), (256, 6)]
)
def test_layout_for_each_size(size, blocks):
    assert layout(size)[1] == blocks


@pytest.mark.parametrize("size", [8, 20, 48, 100, 2048])
def test_unsupported_sizes_name_the_supported_ones(size):
    with pytest.raises(UsageError, match="supported: 28 or a power of two"):
        DCGAN().build(ImageSpec(3, size))


def test_linear_projection_as_in_the_tensorflow_dcgan():
    g, _ = DCGAN(projection="linear", latent_dim=16, ngf=8).build(ImageSpec(1, 32))
    assert isinstance(g.project, nn.Linear) and g.project.out_features == 32 * 4 * 4
    assert g(torch.randn(2, 16)).shape == (2, 1, 32, 32)


def test_widths_and_latent_size_are_configurable():
    g, d = DCGAN(latent_dim=7, ngf=4, ndf=6).build(ImageSpec(1, 28))
    assert g.latent_dim == 7 and g(torch.randn(3, 7)).shape == (3, 1, 28, 28)
    logits, features = d.forward_features(torch.randn(3, 1, 28, 28))
    assert logits.shape == (3,) and features.shape == (3, 12 * 7 * 7)


def test_bad_parameters_are_usage_errors():
    with pytest.raises(UsageError, match="projection"):
        DCGAN(projection="dense")
    with pytest.raises(UsageError, match="1 or 3 channels"):
        DCGAN().build(ImageSpec(4, 32))


def test_fused_and_unfused_discriminators_compute_the_same_function(monkeypatch):
    monkeypatch.setattr(layers, "FUSED_ON_CPU", True)  # the op itself, not the CPU shortcut
    torch.manual_seed(0)
    fused_g, fused_d = DCGAN(ndf=8, ngf=8, fused=True).build(ImageSpec(1, 32))
    _, plain_d = DCGAN(ndf=8, ngf=8, fused=False).build(ImageSpec(1, 32))
    plain_d.load_state_dict(fused_d.state_dict())  # same keys: checkpoints work either way
    x = torch.randn(6, 1, 32, 32)
    for mode in ("train", "eval"):
        fused_d.train(mode == "train")
        plain_d.train(mode == "train")
        fused_logits, plain_logits = fused_d(x), plain_d(x)
        torch.testing.assert_close(fused_logits, plain_logits, atol=1e-5, rtol=1e-4)
    fused_d.train()
    plain_d.train()
    fused_d(x).sum().backward()
    plain_d(x).sum().backward()
    for (name, a), b in zip(fused_d.named_parameters(), plain_d.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4, msg=name)
    for (name, a), b in zip(fused_d.named_buffers(), plain_d.buffers(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), atol=1e-5, rtol=1e-4, msg=name)


def test_the_fused_op_is_used_where_it_is_faster(monkeypatch):
    calls = []
    original = layers.fused_leaky_relu
    monkeypatch.setattr(layers, "fused_leaky_relu", lambda *a: calls.append(1) or original(*a))
    _, d = DCGAN(ndf=4, ngf=4).build(ImageSpec(1, 16))
    d(torch.randn(2, 1, 16, 16))
    assert calls == []  # CPU: native BatchNorm + LeakyReLU are faster (also compiled)
    monkeypatch.setattr(layers, "FUSED_ON_CPU", True)
    d(torch.randn(2, 1, 16, 16))
    assert len(calls) == 2  # the input block's LeakyReLU and the BN + LeakyReLU block


def test_spectral_norm_d_has_no_batchnorm_and_unit_spectral_norm_layers():
    _, d = DCGAN(d_norm="spectral").build(ImageSpec(1, 28, num_classes=10))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and all(nn.utils.parametrize.is_parametrized(c) for c in convs)
    x = torch.randn(16, 1, 28, 28)
    for _ in range(30):  # power iteration converges on the largest singular value
        d(x)
    d.eval()
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    assert d(x).shape == (16,)


def test_spectral_norm_d_with_projection_normalises_the_embedding_too():
    _, d = DCGAN(conditional=True, d_norm="spectral").build(ImageSpec(1, 28, num_classes=10))
    assert nn.utils.parametrize.is_parametrized(d.embed)
    assert d(torch.randn(4, 1, 28, 28), torch.arange(4)).shape == (4,)


def test_an_unknown_d_norm_suggests_the_closest():
    with pytest.raises(UsageError, match="unknown d_norm 'spectal'; did you mean 'spectral'"):
        DCGAN(d_norm="spectal")


def test_extra_layers_deepen_without_changing_shapes():
    """dcgan.torch's ``n_extra_layers``: stride-1 3x3 conv + BatchNorm + activation at G's last
    hidden resolution and after D's first block, ``9 w^2`` weights and a BatchNorm each."""
    spec = ImageSpec(channels=1, size=28)
    g0, d0 = DCGAN().build(spec)
    g, d = DCGAN(g_extra_layers=2, d_extra_layers=1).build(spec)
    assert n_params(g) - n_params(g0) == 2 * (9 * 64 * 64 + 2 * 64)
    assert n_params(d) - n_params(d0) == 9 * 64 * 64 + 2 * 64
    convs = [m for m in g.blocks if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.in_channels) for c in convs] == [((3, 3), (1, 1), 64)] * 2
    x = g(torch.randn(5, 100))
    assert x.shape == (5, 1, 28, 28) and d(x).shape == (5,)
    first = list(d.features)[:4]  # input conv, its LeakyReLU, the extra conv, its BN + LeakyReLU
    assert isinstance(first[2], nn.Conv2d) and first[2].stride == (1, 1)
    assert isinstance(first[3], layers.BatchNormLeakyReLU)


def test_extra_layers_work_in_a_conditional_generator_and_a_spectral_d():
    spec = ImageSpec(channels=1, size=32, num_classes=3)
    g, d = DCGAN(
        conditional=True, g_extra_layers=1, d_extra_layers=1, d_norm="spectral", ngf=8, ndf=8
    ).build(spec)
    y = torch.tensor([0, 1, 2, 1])
    x = g(torch.randn(4, 100), y)
    assert x.shape == (4, 1, 32, 32) and d(x, y).shape == (4,)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def test_minibatch_stddev_is_the_groups_spread_broadcast_to_their_members():
    h = torch.randn(8, 3, 2, 2)
    out = minibatch_stddev(h, 4)  # groups: images {0, 2, 4, 6} and {1, 3, 5, 7}
    assert out.shape == (8, 1, 2, 2)
    for member in range(2):
        group = h[member::2]  # (4, 3, 2, 2)
        spread = group.var(0, unbiased=False).add(1e-8).sqrt().mean()
        assert torch.allclose(out[member::2], spread.expand(4, 1, 2, 2), atol=1e-6)
    # a batch the group size does not divide: the largest common divisor (here 2)
    odd = minibatch_stddev(torch.randn(6, 3, 2, 2), 4)
    assert odd.shape == (6, 1, 2, 2) and odd.abs().min() > 0


def test_d_with_minibatch_stddev_sees_one_more_channel_and_reacts_to_collapse():
    spec = ImageSpec(channels=1, size=28)
    _, d = DCGAN(d_mbstd=4).build(spec)
    assert d.classify.in_channels == 128 + 1
    d.eval()
    varied = torch.rand(8, 1, 28, 28) * 2 - 1
    collapsed = varied[:1].expand(8, -1, -1, -1)  # eight copies of one image
    with torch.no_grad():
        d.classify.weight.zero_()
        d.classify.weight[:, -1] = 1.0  # read only the std channel
        assert d(collapsed).abs().max() < 1e-2 < d(varied).abs().min()


def test_depth_and_group_sizes_are_range_checked():
    for name in ("g_extra_layers", "d_extra_layers", "d_mbstd"):
        with pytest.raises(UsageError, match=f"{name} must be from 0 to"):
            DCGAN(**{name: -1})
