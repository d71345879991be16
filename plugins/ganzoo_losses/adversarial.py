"""Losses that only look at the discriminator's logits: BCE, LSGAN, hinge."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo import LogitLoss, UsageError


class BCELoss(LogitLoss):
    """Standard GAN loss on logits (Goodfellow et al. 2014), non-saturating for G.

    D: ``BCE(D(x), 1 - s) + BCE(D(G(z)), 0)``; G: ``BCE(D(G(z)), 1)``, where ``s`` is the one-sided
    label smoothing of Salimans et al. 2016 (``s = 0.1`` gives real targets of 0.9; 0 disables it).
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise UsageError(f"bce label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def d_loss_from_logits(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        # float32 targets: under bf16 autocast a target of 0.9 would otherwise become 0.8984
        real_target = torch.full_like(real_logits, 1.0 - self.label_smoothing, dtype=torch.float32)
        return F.binary_cross_entropy_with_logits(
            real_logits.float(), real_target
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def g_loss_from_logits(self, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class LSGANLoss(LogitLoss):
    """Least-squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks").

    D: ``0.5 * E[(D(x) - b)^2] + 0.5 * E[(D(G(z)) - a)^2]``; G: ``0.5 * E[(D(G(z)) - c)^2]``,
    with the 0-1 coding ``a = 0, b = 1, c = 1`` by default; the paper's choice satisfying
    ``b - c = 1, b - a = 2`` (Pearson chi^2 divergence) is ``a = -1, b = 1, c = 0``.
    """

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = a, b, c

    def d_loss_from_logits(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return (
            0.5 * ((real_logits - self.b) ** 2).mean() + 0.5 * ((fake_logits - self.a) ** 2).mean()
        )

    def g_loss_from_logits(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * ((fake_logits - self.c) ** 2).mean()


class HingeLoss(LogitLoss):
    """Hinge loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018).

    D: ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``; G: ``-E[D(G(z))]``.
    """

    def d_loss_from_logits(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss_from_logits(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()
