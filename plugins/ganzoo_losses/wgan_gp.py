"""WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028)."""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo import Discriminator, Loss, UsageError


def gradient_penalty(discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = eps * real + (1 - eps) * fake``.

    ``eps ~ U[0, 1]`` per sample ``(B, 1, 1, 1)``; the graph is kept (``create_graph``) so the
    penalty trains D.
    """
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


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
