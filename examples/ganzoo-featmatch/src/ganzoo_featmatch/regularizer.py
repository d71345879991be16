"""Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.1).

Instead of (or, here, on top of) maximising D's output on fakes, G matches the statistics of D's
intermediate features on real data. With ``f`` D's penultimate features
(``discriminator.forward_features(x)[1]``, shape ``(B, F)``)::

    L_FM = weight * || E_x f(x) - E_z f(G(z)) ||_2^2        (means over the batch)

The real features are constants for G: they are detached, so only the fake term carries a
gradient, to G. The penalty joins G's objective (``target = "G"``), whatever the loss.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from torch import Tensor

from ganzoo import Discriminator, Regularizer, UsageError


def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """``|| mean(real_features) - mean(fake_features) ||_2^2`` for features ``(B, F)``: a scalar.

    ``real_features`` is detached; computed in float32 (features may arrive in bf16 under AMP).
    """
    if real_features.ndim != 2 or fake_features.ndim != 2:
        raise ValueError(
            "feature-matching needs D's features as (B, F) tensors, got "
            f"{tuple(real_features.shape)} and {tuple(fake_features.shape)}"
        )
    real_mean = real_features.detach().float().mean(0)  # (F,)
    fake_mean = fake_features.float().mean(0)  # (F,)
    return (real_mean - fake_mean).pow(2).sum()


class FeatureMatching(Regularizer):
    """Feature matching on D's penultimate features, added to G's loss (Salimans et al. 2016).

    Args:
        weight: multiplies ``||E f(real) - E f(G(z))||^2``; 0 turns the term off.
        interval: compute every ``interval`` G steps (lazy: the step runner multiplies the term
            by ``interval`` and scales G's learning rate and betas to match).
    """

    target: ClassVar[Literal["D", "G"]] = "G"

    def __init__(self, weight: float = 1.0, interval: int = 1) -> None:
        if not (math.isfinite(weight) and weight >= 0):
            raise UsageError(f"feature-matching weight must be >= 0, got {weight:g}")
        if isinstance(interval, bool) or interval < 1:
            raise UsageError(f"feature-matching interval must be an integer >= 1, got {interval!r}")
        self.weight = weight
        self.interval = interval

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor | None:
        if self.weight == 0:
            return None
        # in G's step the step runner has already run D on `fake` for the loss: this call reuses
        # those features; D's weights are frozen, so the gradient goes to G only
        _, real_features = discriminator.forward_features(real)  # (B, F)
        _, fake_features = discriminator.forward_features(fake)  # (B, F)
        return self.weight * feature_matching(real_features, fake_features)
