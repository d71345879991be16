"""Gradient penalties on the discriminator's input, shared by losses and regularizers.

Both functions differentiate D's logits with respect to its input and keep that graph
(``create_graph=True``), so the penalty they return trains D (a double backward). They build the
input as a fresh leaf that requires grad, which is also what tells ganzoo's step runner to call
the uncompiled D: torch.compile's graphs have no double backward.

- :func:`gradient_penalty`: WGAN-GP, Gulrajani et al. 2017, "Improved Training of Wasserstein
  GANs" (arXiv:1704.00028); ``center=0`` is the zero-centred variant of Thanh-Tung et al. 2019,
  "Improving Generalization and Stability of Generative Adversarial Networks" (arXiv:1902.03984).
- :func:`input_gradient_sq_norm`: the per-sample ``||grad_x D(x)||^2`` of R1 and R2, Mescheder
  et al. 2018, "Which Training Methods for GANs do actually Converge?" (arXiv:1801.04406).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from .interfaces import Discriminator

__all__ = ["gradient_penalty", "input_gradient_sq_norm", "input_gradients"]


def input_gradients(discriminator: Discriminator, images: Tensor) -> Tensor:
    """``grad_x sum_i D(x_i)`` at ``x = images``, with the graph kept: ``(B, C, H, W)``.

    Summing the logits before differentiating gives each sample's own gradient, as long as D
    treats samples independently (true in eval mode; in train mode BatchNorm couples the batch,
    as in every implementation of these penalties).

    Args:
        discriminator: maps ``(B, C, H, W)`` to logits ``(B,)``.
        images: ``(B, C, H, W)``; detached here, so no gradient reaches whatever made them.

    Returns:
        ``(B, C, H, W)``, differentiable with respect to D's weights.
    """
    x = images.detach().requires_grad_(True)  # a leaf: the step runner calls the eager D
    logits = discriminator(x)  # (B,)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad  # (B, C, H, W)


def input_gradient_sq_norm(discriminator: Discriminator, images: Tensor) -> Tensor:
    """``||grad_x D(x)||_2^2`` for each image: the R1 (real) or R2 (fake) statistic.

    Args:
        discriminator: maps ``(B, C, H, W)`` to logits ``(B,)``.
        images: ``(B, C, H, W)``, real images for R1, detached fakes for R2.

    Returns:
        ``(B,)`` squared gradient norms, differentiable with respect to D's weights. R1 is
        ``gamma / 2 * input_gradient_sq_norm(D, real).mean()``.
    """
    grad = input_gradients(discriminator, images)  # (B, C, H, W)
    return grad.square().flatten(1).sum(1)  # (B,)


def gradient_penalty(
    discriminator: Discriminator, real: Tensor, fake: Tensor, center: float = 1.0
) -> Tensor:
    """``E[(||grad_x D(x_hat)||_2 - center)^2]`` at ``x_hat = eps * real + (1 - eps) * fake``.

    ``eps ~ U[0, 1]`` per sample is the first draw from the global RNG (``torch.rand`` of shape
    ``(B, 1, 1, 1)`` on ``real``'s device and dtype), so a run seeded the same draws the same
    interpolates whether the penalty comes from the ``wgan-gp`` loss or the ``gp`` regularizer.

    Args:
        discriminator: maps ``(B, C, H, W)`` to logits ``(B,)``.
        real: ``(B, C, H, W)`` real images.
        fake: ``(B, C, H, W)`` generated images (detached here).
        center: the target norm: 1 for WGAN-GP (Gulrajani et al. 2017); 0 for the zero-centred
            penalty (Thanh-Tung et al. 2019), computed as the squared norm (no ``sqrt`` whose
            gradient is undefined at 0).

    Returns:
        A scalar, differentiable with respect to D's weights.
    """
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)  # (B,1,1,1)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()  # (B, C, H, W)
    grad = input_gradients(discriminator, x_hat).flatten(1)  # (B, C*H*W)
    if center == 0:
        return grad.square().sum(1).mean()
    return ((grad.norm(2, dim=1) - center) ** 2).mean()
