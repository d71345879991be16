"""The relativistic discriminator (Jolicoeur-Martineau 2018, arXiv:1807.00734).

A standard discriminator estimates the probability that an image is real. A relativistic one
estimates how much more real a real image looks than a fake one. With ``C`` the critic (D's raw
logit), the *relativistic average* logits are

    real_rel = C(x_r) - mean C(x_f)        fake_rel = C(x_f) - mean C(x_r)

(means over the batch) and, for a variant with functions ``f1`` (push up) and ``f2`` (push down),

    L_D = E[f1(real_rel)] + E[f2(fake_rel)]
    L_G = E[f1(fake_rel)] + E[f2(real_rel)]          (the same with real and fake swapped)

======== ========================= ========================= ==================
variant  f1(y)                     f2(y)                     paper's name
======== ========================= ========================= ==================
sgan     -log sigmoid(y)           -log(1 - sigmoid(y))      RaSGAN (default)
lsgan    (y - 1)^2                 (y + 1)^2                 RaLSGAN
hinge    max(0, 1 - y)             max(0, 1 + y)             RaHingeGAN
======== ========================= ========================= ==================

For ``sgan`` these are binary cross-entropies on logits: ``L_D = BCE(real_rel, 1) + BCE(fake_rel,
0)``. Unlike a standard GAN, G's loss depends on the real batch, which ganzoo's ``Loss`` interface
hands to ``generator_loss`` for exactly this kind of loss.

With ``average=False`` the pairs are compared one to one instead of against the other batch's mean
(the paper's non-average RGAN, RSGAN for ``sgan``): ``L_D = E[f1(C(x_r) - C(x_f))]`` and ``L_G =
E[f1(C(x_f) - C(x_r))]``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from ganzoo import Discriminator, Loss, UsageError

Fn = Callable[[Tensor], Tensor]

#: variant -> (f1, f2): f1 is minimised where the input should be "more real", f2 "less real".
VARIANTS: dict[str, tuple[Fn, Fn]] = {
    "sgan": (lambda y: F.softplus(-y), lambda y: F.softplus(y)),  # -log s(y), -log(1 - s(y))
    "lsgan": (lambda y: (y - 1.0) ** 2, lambda y: (y + 1.0) ** 2),
    "hinge": (lambda y: F.relu(1.0 - y), lambda y: F.relu(1.0 + y)),
}


def relativistic_losses(
    real_logits: Tensor, fake_logits: Tensor, variant: str = "sgan", average: bool = True
) -> tuple[Tensor, Tensor]:
    """``(L_D, L_G)`` from D's logits ``(B,)`` on a real and a fake batch; both are scalars."""
    f1, f2 = VARIANTS[variant]
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if not average:
        if real_logits.shape != fake_logits.shape:
            raise ValueError(
                "ragan with average=false compares real and fake images pairwise: the batches "
                f"must have the same size, got {tuple(real_logits.shape)} and "
                f"{tuple(fake_logits.shape)}"
            )
        diff = real_logits - fake_logits  # (B,)
        return f1(diff).mean(), f1(-diff).mean()
    real_rel = real_logits - fake_logits.mean()  # (B,): how much more real than the average fake
    fake_rel = fake_logits - real_logits.mean()  # (B,)
    d_loss = f1(real_rel).mean() + f2(fake_rel).mean()
    g_loss = f1(fake_rel).mean() + f2(real_rel).mean()
    return d_loss, g_loss


class RaGANLoss(Loss):
    """Relativistic average GAN loss (Jolicoeur-Martineau 2018); RaSGAN with the defaults.

    Args:
        variant: ``"sgan"`` (RaSGAN, binary cross-entropy), ``"lsgan"`` (RaLSGAN, least squares)
            or ``"hinge"`` (RaHingeGAN).
        average: compare each image with the mean logit of the other batch (RaGAN, the default);
            ``False`` compares real and fake images pairwise (RGAN; RSGAN for ``"sgan"``).
    """

    def __init__(self, variant: str = "sgan", average: bool = True) -> None:
        if variant not in VARIANTS:
            raise UsageError(f"ragan variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        self.variant, self.average = variant, average

    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        # two forward passes, as ganzoo's LogitLoss does: with BatchNorm in D each batch is
        # normalised with its own statistics
        d_loss, _ = relativistic_losses(
            discriminator(real), discriminator(fake), self.variant, self.average
        )
        return d_loss

    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        # G's loss needs D(real) too; D's weights are frozen during G's step, so only the terms
        # through D(fake) carry a gradient, to G
        _, g_loss = relativistic_losses(
            discriminator(real), discriminator(fake), self.variant, self.average
        )
        return g_loss
