"""MMD-regularized GAN: the non-saturating BCE game plus a maximum mean discrepancy term.

The MMD follows Gretton et al. 2012 ("A Kernel Two-Sample Test", JMLR) with a mixture of Gaussian
kernels as in Li et al. 2015 ("Generative Moment Matching Networks") and Li et al. 2017 ("MMD GAN"),
taken in the discriminator's penultimate feature space.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo import Discriminator, Loss, UsageError


def mmd2_unbiased(
    x: Tensor, y: Tensor, bandwidths: Sequence[float], relative: bool = True
) -> Tensor:
    """Unbiased MMD^2 between samples ``x (m, F)`` and ``y (n, F)``, mixture of Gaussian kernels.

    ``k(a, b) = sum_s exp(-||a - b||^2 / (2 s^2))`` over ``s`` in ``bandwidths``;
    ``MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
    - 2/(mn) sum_{i,j} k(x_i, y_j)``.
    With ``relative`` the bandwidths are multiples of the median pairwise distance of the pooled
    sample (detached), which keeps the kernel informative in feature spaces of any scale.
    """
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise UsageError("MMD needs at least 2 samples on each side")
    z = torch.cat([x, y]).float()  # (m + n, F)
    d2 = torch.cdist(z, z).pow(2)  # (m + n, m + n) squared distances
    scale = 1.0
    if relative:
        off_diag = d2.detach()[~torch.eye(m + n, dtype=torch.bool, device=z.device)]
        scale = off_diag.median().clamp_min(1e-12).sqrt().item()
    k = sum(torch.exp(-d2 / (2 * (s * scale) ** 2)) for s in bandwidths)  # (m+n, m+n)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    sum_xx = kxx.sum() - kxx.diagonal().sum()  # i != j
    sum_yy = kyy.sum() - kyy.diagonal().sum()
    return sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2 * kxy.mean()


class MMDLoss(Loss):
    """Non-saturating BCE GAN regularized by MMD^2 between real and generated features.

    With ``f`` the discriminator's penultimate features (``Discriminator.forward_features``):

    - D: ``BCE(D(x), 1) + BCE(D(G(z)), 0) + lambda_d * sum(theta_D^2)``
    - G: ``BCE(D(G(z)), 1) + lambda_mmd * MMD^2_u(f(x), f(G(z)))`` with real features detached

    Defaults: ``lambda_mmd = 1.0``, Gaussian bandwidths ``(0.5, 1, 2, 4, 8)`` times the median
    pairwise feature distance, ``lambda_d = 0`` (no weight penalty on D).
    """

    def __init__(
        self,
        lambda_mmd: float = 1.0,
        bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0),
        relative_bandwidth: bool = True,
        lambda_d: float = 0.0,
    ) -> None:
        if lambda_mmd < 0 or lambda_d < 0:
            raise UsageError("mmd lambda_mmd and lambda_d must be >= 0")
        if not bandwidths or any(b <= 0 for b in bandwidths):
            raise UsageError(f"mmd bandwidths must be positive, got {bandwidths}")
        self.lambda_mmd, self.lambda_d = lambda_mmd, lambda_d
        self.bandwidths, self.relative_bandwidth = tuple(bandwidths), relative_bandwidth

    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        if self.lambda_d > 0:
            loss = loss + self.lambda_d * sum(p.pow(2).sum() for p in discriminator.parameters())
        return loss

    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        fake_logits, fake_features = discriminator.forward_features(fake)
        adversarial = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        if self.lambda_mmd == 0:
            return adversarial
        with torch.no_grad():
            _, real_features = discriminator.forward_features(real)
        mmd2 = mmd2_unbiased(real_features, fake_features, self.bandwidths, self.relative_bandwidth)
        return adversarial + self.lambda_mmd * mmd2
