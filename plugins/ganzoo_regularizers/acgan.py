"""ACGAN's auxiliary classification loss: Odena, Olah & Shlens 2017, "Conditional Image Synthesis
with Auxiliary Classifier GANs" (ICML 2017, arXiv:1610.09585).
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Regularizer
from ganzoo.labels import LABELLED_DATA

from . import _checks


class AuxiliaryClassifier(Regularizer):
    """The class-likelihood term of ACGAN, for both networks, beside any adversarial loss.

    With ``L_C = log P(C = c | X_real) + log P(C = c | X_fake)`` (paper, eq. 2-3) D maximises
    ``L_S + L_C`` and G maximises ``L_C - L_S``; the adversarial part ``L_S`` is whatever loss the
    run uses (bce as the paper, lsgan, hinge, ...), and this regularizer adds, as cross-entropies
    on D's auxiliary class logits:

        D:  weight   * ( CE(C(x_real), y) + CE(C(G(z, y)), y) )
        G:  g_weight * CE(C(G(z, y)), y)

    ``y`` are the batch's labels (the fakes are generated for the real batch's labels). D needs a
    classifier head (:meth:`ganzoo.Discriminator.class_logits`): with DCGAN,
    ``--set model.params.conditional=true --set model.params.d_conditioning=classifier``, or
    ``--preset acgan`` for all of it.

    Args:
        weight: of D's classification loss (1 in the paper and StudioGAN).
        g_weight: of G's; negative: the same as ``weight``.
        fake_in_d: whether D also learns to classify the fakes (the paper's ``L_C``); False keeps
            D's classifier on real images only, a common variant that stops D rewarding G for
            fakes that are merely easy to classify.
    """

    target: Literal["both"] = "both"  # type: ignore[assignment]

    def __init__(self, weight: float = 1.0, g_weight: float = -1.0, fake_in_d: bool = True) -> None:
        _checks.at_least("acgan", "weight", weight, 0)
        self.weight = weight
        self.g_weight = weight if g_weight < 0 else g_weight
        self.fake_in_d = fake_in_d

    def penalty(
        self,
        discriminator: Discriminator,
        real: Tensor,
        fake: Tensor,
        *,
        labels: Tensor | None = None,
        net: str = "D",
    ) -> Tensor:
        if labels is None:
            raise GanzooError(f"regularizer acgan needs labelled data; use {LABELLED_DATA}")
        if net == "G":
            return self.g_weight * self.cross_entropy(discriminator, fake, labels)
        loss = self.cross_entropy(discriminator, real, labels)
        if self.fake_in_d:
            loss = loss + self.cross_entropy(discriminator, fake, labels)
        return self.weight * loss

    @staticmethod
    def cross_entropy(discriminator: Discriminator, images: Tensor, labels: Tensor) -> Tensor:
        """CE of D's class logits ``(B, K)`` on ``images`` (the loss's memoised forward)."""
        _, features = discriminator.forward_features(images)  # (B, F)
        logits = discriminator.class_logits(features)
        if logits is None:
            raise GanzooError(
                "regularizer acgan needs a discriminator with a classifier head (class_logits); "
                "with DCGAN: --set model.params.conditional=true --set "
                "model.params.d_conditioning=classifier (or --preset acgan)"
            )
        return F.cross_entropy(logits.float(), labels)
