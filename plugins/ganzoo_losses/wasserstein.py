"""The Wasserstein critic loss: Arjovsky et al. 2017, "Wasserstein GAN" (arXiv:1701.07875)."""

from __future__ import annotations

from torch import Tensor

from ganzoo import LogitLoss


class WassersteinLoss(LogitLoss):
    """Critic: ``E[D(G(z))] - E[D(x)]``; generator: ``-E[D(G(z))]``.

    The critic must be kept (approximately) 1-Lipschitz by a regularizer: ``--reg clip`` (weight
    clipping, the original WGAN; ``--preset wgan``) or ``--reg gp`` (the gradient penalty of
    Gulrajani et al. 2017; ``--preset wgan-gp``). Without one the critic's logits grow unbounded.
    """

    def d_loss_from_logits(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss_from_logits(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()
