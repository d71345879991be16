"""ganzoo-ragan's contract: values by hand, gradients, ganzoo's loss checks, training, registration."""

from __future__ import annotations

import math

import ganzoo_ragan
import pytest
import torch
from ganzoo_ragan import RaGANLoss, relativistic_losses
from torch import Tensor, nn

from ganzoo import Discriminator, Generator, Loss, UsageError
from ganzoo.testing import check_loss, train_tiny


def softplus(y: float) -> float:
    return math.log1p(math.exp(y))


class LogitsAreImages(Discriminator):
    """D whose logit is the image's single pixel: hand-picked logits go straight through."""

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x.flatten(), x.flatten(1)  # (B,), (B, 1)


class TinyD(Discriminator):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.LeakyReLU(0.2))
        self.head = nn.Linear(16, 1)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.head(h).flatten(), h


class TinyG(Generator):
    def __init__(self) -> None:
        super().__init__()
        self.latent_dim = 4
        self.net = nn.Sequential(nn.Linear(4, 12), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, 3, 2, 2)


def images(*logits: float) -> Tensor:
    return torch.tensor(logits).view(-1, 1, 1, 1)  # (B, 1, 1, 1)


REAL, FAKE = images(1.0, 3.0), images(0.0, -2.0)  # mean C(x_r) = 2, mean C(x_f) = -1


def test_rasgan_by_hand():
    # real_rel = [1, 3] - (-1) = [2, 4]; fake_rel = [0, -2] - 2 = [-2, -4]
    # L_D = mean(-log s([2, 4])) + mean(-log(1 - s([-2, -4]))) = softplus(-2) + softplus(-4)
    # L_G = mean(-log s([-2, -4])) + mean(-log(1 - s([2, 4]))) = softplus(2) + softplus(4)
    loss, d = RaGANLoss(), LogitsAreImages()
    assert loss.discriminator_loss(d, REAL, FAKE).item() == pytest.approx(
        softplus(-2) + softplus(-4), rel=1e-6
    )
    assert loss.generator_loss(d, REAL, FAKE).item() == pytest.approx(
        softplus(2) + softplus(4), rel=1e-6
    )


def test_rasgan_is_bce_on_relativistic_logits():
    real, fake = torch.randn(16), torch.randn(16)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    real_rel, fake_rel = real - fake.mean(), fake - real.mean()
    d_loss, g_loss = relativistic_losses(real, fake)
    ones, zeros = torch.ones(16), torch.zeros(16)
    torch.testing.assert_close(d_loss, bce(real_rel, ones) + bce(fake_rel, zeros))
    torch.testing.assert_close(g_loss, bce(fake_rel, ones) + bce(real_rel, zeros))


def test_ralsgan_and_rahinge_by_hand():
    d = LogitsAreImages()
    # lsgan: L_D = mean(([2, 4] - 1)^2) + mean(([-2, -4] + 1)^2) = 5 + 5
    #        L_G = mean(([-2, -4] - 1)^2) + mean(([2, 4] + 1)^2) = 17 + 17
    lsgan = RaGANLoss(variant="lsgan")
    assert lsgan.discriminator_loss(d, REAL, FAKE).item() == pytest.approx(10.0)
    assert lsgan.generator_loss(d, REAL, FAKE).item() == pytest.approx(34.0)
    # hinge: L_D = mean(relu(1 - [2, 4])) + mean(relu(1 + [-2, -4])) = 0
    #        L_G = mean(relu(1 - [-2, -4])) + mean(relu(1 + [2, 4])) = 4 + 4
    hinge = RaGANLoss(variant="hinge")
    assert hinge.discriminator_loss(d, REAL, FAKE).item() == pytest.approx(0.0)
    assert hinge.generator_loss(d, REAL, FAKE).item() == pytest.approx(8.0)


def test_non_average_is_rsgan():
    # pairs: C(x_r) - C(x_f) = [1, 5]; L_D = mean(softplus(-[1, 5])), L_G = mean(softplus([1, 5]))
    loss, d = RaGANLoss(average=False), LogitsAreImages()
    assert loss.discriminator_loss(d, REAL, FAKE).item() == pytest.approx(
        (softplus(-1) + softplus(-5)) / 2, rel=1e-6
    )
    assert loss.generator_loss(d, REAL, FAKE).item() == pytest.approx(
        (softplus(1) + softplus(5)) / 2, rel=1e-6
    )
    with pytest.raises(ValueError, match="same size"):
        relativistic_losses(torch.zeros(2), torch.zeros(3), average=False)


@pytest.mark.parametrize("variant", ["sgan", "lsgan", "hinge"])
@pytest.mark.parametrize("average", [True, False])
def test_it_passes_ganzoos_loss_checks(variant, average):
    # finite scalars; D's loss reaches D only (fake is detached), G's loss reaches G with D's
    # weights frozen; one optimisation step changes both networks (tiny DCGAN, 16x16)
    torch.manual_seed(0)
    check_loss(RaGANLoss, variant=variant, average=average)


def test_every_weight_gets_a_finite_gradient():
    torch.manual_seed(0)
    g, d, loss = TinyG(), TinyD(), RaGANLoss()
    real = torch.rand(8, 3, 2, 2) * 2 - 1
    fake = g(g.sample_latent(8))
    loss.discriminator_loss(d, real, fake.detach()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())
    d.requires_grad_(False)  # as ganzoo's step runner does in G's step
    loss.generator_loss(d, real, fake).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


@pytest.mark.parametrize("variant", ["sgan", "hinge"])
def test_it_trains_a_tiny_gan(tmp_path, variant):
    # in-process, through ganzoo's trainer: the installed entry point registers `ragan`
    run = train_tiny(tmp_path / "run", loss="ragan", assignments=[f"loss.params.variant={variant}"])
    assert f'variant = "{variant}"' in (run / "config.toml").read_text()


def test_one_optimisation_step_lowers_each_loss():
    torch.manual_seed(0)
    g, d, loss = TinyG(), TinyD(), RaGANLoss()
    real = torch.rand(32, 3, 2, 2) * 2 - 1
    z = g.sample_latent(32)
    opt_d = torch.optim.SGD(d.parameters(), lr=0.05)
    opt_g = torch.optim.SGD(g.parameters(), lr=0.05)

    before = loss.discriminator_loss(d, real, g(z).detach())
    opt_d.zero_grad()
    before.backward()
    opt_d.step()
    with torch.no_grad():
        assert loss.discriminator_loss(d, real, g(z)) < before

    d.requires_grad_(False)
    before = loss.generator_loss(d, real, g(z))
    opt_g.zero_grad()
    before.backward()
    opt_g.step()
    with torch.no_grad():
        assert loss.generator_loss(d, real, g(z)) < before


def test_a_bad_variant_is_a_usage_error():
    with pytest.raises(UsageError, match="ragan variant must be one of sgan, lsgan, hinge"):
        RaGANLoss(variant="wgan")


def test_the_hook_registers_ragan():
    calls = []
    ganzoo_ragan.register_losses(lambda *args, **kwargs: calls.append((args, kwargs)))
    [((name, factory), kwargs)] = calls
    assert name == "ragan" and factory is RaGANLoss and issubclass(factory, Loss)
    assert kwargs["description"]
