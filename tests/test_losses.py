"""Each built-in loss against hand-computed values, gradient signs, and the MMD / GP estimators."""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_losses import (
    BCELoss,
    HingeLoss,
    LSGANLoss,
    MMDLoss,
    WGANGPLoss,
    gradient_penalty,
    mmd2_unbiased,
)
from torch import nn

from ganzoo import Discriminator, UsageError

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_bce_by_hand():
    # BCE(l, 1) = softplus(-l); BCE(l, 0) = softplus(l)
    d = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2
    g = (softplus(-0.5) + softplus(3)) / 2
    loss = BCELoss()
    assert loss.d_loss_from_logits(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss_from_logits(FAKE).item() == pytest.approx(g, rel=1e-6)


def test_bce_one_sided_label_smoothing_only_touches_real_targets():
    # BCE(l, t) = t * softplus(-l) + (1 - t) * softplus(l), real target t = 0.9
    real = sum(0.9 * softplus(-r) + 0.1 * softplus(r) for r in (2.0, -1.0)) / 2
    fake = (softplus(0.5) + softplus(-3)) / 2
    loss = BCELoss(label_smoothing=0.1)
    assert loss.d_loss_from_logits(REAL, FAKE).item() == pytest.approx(real + fake, rel=1e-6)
    assert loss.g_loss_from_logits(FAKE).item() == pytest.approx(BCELoss().g_loss_from_logits(FAKE))


def test_lsgan_by_hand():
    loss = LSGANLoss()  # a=0, b=1, c=1
    d = 0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * (0.5**2 + 3**2) / 2
    g = 0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2
    assert loss.d_loss_from_logits(REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss_from_logits(FAKE).item() == pytest.approx(g)
    custom = LSGANLoss(a=-1, b=1, c=0)
    assert custom.g_loss_from_logits(FAKE).item() == pytest.approx(0.5 * (0.25 + 9) / 2)


def test_hinge_by_hand():
    loss = HingeLoss()
    d = (max(0, 1 - 2) + max(0, 1 + 1)) / 2 + (max(0, 1 + 0.5) + max(0, 1 - 3)) / 2
    assert loss.d_loss_from_logits(REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss_from_logits(FAKE).item() == pytest.approx(-(0.5 - 3) / 2)


@pytest.mark.parametrize("loss", [BCELoss(), LSGANLoss(), HingeLoss()], ids=type)
def test_generator_loss_falls_when_fake_logits_rise(loss):
    # in the range where a GAN trains (fakes judged fake), G's gradient w.r.t. D's logits is < 0
    fake = torch.tensor([-0.5, -2.0, 0.3], requires_grad=True)
    loss.g_loss_from_logits(fake).backward()
    assert (fake.grad < 0).all()


@pytest.mark.parametrize("loss", [BCELoss(), LSGANLoss(), HingeLoss()], ids=type)
def test_discriminator_loss_pushes_real_up_and_fake_down(loss):
    real = torch.tensor([-0.5, 0.2], requires_grad=True)
    fake = torch.tensor([0.4, 0.1], requires_grad=True)  # above LSGAN's a = 0
    loss.d_loss_from_logits(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()


def test_mmd_is_near_zero_for_one_distribution_and_positive_for_shifted():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 8, generator=gen), torch.randn(256, 8, generator=gen)
    shifted = torch.randn(256, 8, generator=gen) + 1.0
    same = mmd2_unbiased(x, y, (0.5, 1, 2, 4, 8)).item()
    apart = mmd2_unbiased(x, shifted, (0.5, 1, 2, 4, 8)).item()
    assert abs(same) < 0.01
    assert apart > 0.2 and apart > 20 * abs(same)


def test_mmd_is_symmetric():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 5, generator=gen), torch.randn(30, 5, generator=gen) * 2
    for relative in (True, False):
        assert mmd2_unbiased(x, y, (1, 2), relative).item() == pytest.approx(
            mmd2_unbiased(y, x, (1, 2), relative).item(), abs=1e-6
        )


def test_mmd_matches_the_unbiased_formula_by_hand():
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [2.0], [3.0]])

    def k(a, b):  # one Gaussian kernel, sigma 1
        return math.exp(-((a - b) ** 2) / 2)

    xs, ys = [0.0, 1.0], [0.0, 2.0, 3.0]
    kxx = sum(k(a, b) for i, a in enumerate(xs) for j, b in enumerate(xs) if i != j) / 2
    kyy = sum(k(a, b) for i, a in enumerate(ys) for j, b in enumerate(ys) if i != j) / 6
    kxy = sum(k(a, b) for a in xs for b in ys) / 6
    expected = kxx + kyy - 2 * kxy
    assert mmd2_unbiased(x, y, (1.0,), relative=False).item() == pytest.approx(expected, rel=1e-5)


def test_mmd_estimator_is_unbiased():
    # E[MMD^2_u] = 0 when both samples come from one distribution; the biased V-statistic would
    # average clearly above 0 at this sample size.
    gen = torch.Generator().manual_seed(2)
    draws = [
        mmd2_unbiased(
            torch.randn(8, 2, generator=gen), torch.randn(8, 2, generator=gen), (1.0,), False
        )
        for _ in range(400)
    ]
    mean = torch.stack(draws).mean().item()
    stderr = torch.stack(draws).std().item() / math.sqrt(len(draws))
    assert abs(mean) < 3 * stderr


class TinyCritic(Discriminator):
    """A linear critic on flattened 1x2x2 images with a 3-d feature layer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Linear(4, 3)
        self.head = nn.Linear(3, 1)

    def forward_features(self, x):
        h = torch.tanh(self.features(x.flatten(1)))
        return self.head(h).flatten(), h


def test_gradient_penalty_matches_direct_autograd():
    critic = TinyCritic()
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    torch.manual_seed(7)
    penalty = gradient_penalty(critic, real, fake)
    torch.manual_seed(7)
    eps = torch.rand(6, 1, 1, 1)
    expected = 0.0
    for i in range(6):  # one sample at a time, no batching tricks
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        expected += (grad.norm() - 1) ** 2 / 6
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # the penalty trains D: it has a graph to D's weights
    assert critic.features.weight.grad is not None


def test_wgan_gp_losses():
    critic = TinyCritic()
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    plain = WGANGPLoss(lambda_gp=0).discriminator_loss(critic, real, fake)
    assert plain.item() == pytest.approx((critic(fake).mean() - critic(real).mean()).item())
    assert WGANGPLoss().generator_loss(critic, real, fake).item() == pytest.approx(
        -critic(fake).mean().item()
    )
    assert WGANGPLoss().discriminator_loss(critic, real, fake).item() > plain.item()


def test_mmd_loss_adds_feature_mmd_to_g_and_weight_penalty_to_d():
    critic = TinyCritic()
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2) + 2
    adversarial = BCELoss().g_loss_from_logits(critic(fake))
    g = MMDLoss(lambda_mmd=2.0).generator_loss(critic, real, fake)
    mmd2 = mmd2_unbiased(
        critic.forward_features(real)[1], critic.forward_features(fake)[1], MMDLoss().bandwidths
    )
    assert g.item() == pytest.approx((adversarial + 2.0 * mmd2).item(), rel=1e-5)
    base = MMDLoss().discriminator_loss(critic, real, fake)
    l2 = sum(p.pow(2).sum() for p in critic.parameters())
    assert MMDLoss(lambda_d=0.1).discriminator_loss(critic, real, fake).item() == pytest.approx(
        (base + 0.1 * l2).item(), rel=1e-5
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: BCELoss(label_smoothing=1.5),
        lambda: WGANGPLoss(lambda_gp=-1),
        lambda: MMDLoss(bandwidths=()),
        lambda: MMDLoss(lambda_mmd=-1),
    ],
)
def test_bad_loss_parameters_are_usage_errors(make):
    with pytest.raises(UsageError):
        make()
