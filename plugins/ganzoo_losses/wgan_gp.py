"""WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028).

The penalty itself lives in :mod:`ganzoo.penalties` (shared with the ``gp`` regularizer); it is
re-exported here so ``from ganzoo_losses import gradient_penalty`` keeps working.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo import Discriminator, Loss, UsageError
from ganzoo.penalties import gradient_penalty

__all__ = ["WGANGPLoss", "gradient_penalty"]  # gradient_penalty: re-exported from ganzoo.penalties


class WGANGPLoss(Loss):
    """Wasserstein critic loss with a gradient penalty (Gulrajani et al. 2017).

    D: ``E[D(G(z))] - E[D(x)] + lambda_gp * E[(||grad D(x_hat)||_2 - 1)^2]``; G: ``-E[D(G(z))]``.
    ``lambda_gp`` is 10 as in the paper. The paper drops BatchNorm from the critic; DCGAN's critic
    keeps it here so every loss runs on the same architecture.
    """

    def __init__(self, lambda_gp: float = 10.0) -> None:
        if lambda_gp < 0:
            raise UsageError(f"wgan-gp lambda_gp must be >= 0, got {lambda_gp}")
        self.lambda_gp = lambda_gp

    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        wasserstein = discriminator(fake).mean() - discriminator(real).mean()
        if self.lambda_gp == 0:
            return wasserstein
        return wasserstein + self.lambda_gp * gradient_penalty(discriminator, real, fake)

    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        return -discriminator(fake).mean()
