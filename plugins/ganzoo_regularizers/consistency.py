"""Balanced consistency regularisation (bCR): Zhao et al. 2021, "Improved Consistency
Regularization for GANs" (AAAI 2021, arXiv:2002.04724), with the flip-and-translate transform
of Zhang et al. 2020, "Consistency Regularization for Generative Adversarial Networks"
(ICLR 2020, arXiv:1910.12027).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo import UsageError
from ganzoo.interfaces import Discriminator, Regularizer

from . import _checks


def hflip(images: Tensor, mask: Tensor) -> Tensor:
    """Mirror the images where ``mask`` is True, left to right.

    Args:
        images: ``(B, C, H, W)``.
        mask: ``(B,)`` bool.

    Returns:
        ``(B, C, H, W)``; differentiable with respect to ``images``.
    """
    return torch.where(mask.view(-1, 1, 1, 1), images.flip(3), images)


def translate(images: Tensor, shift_x: Tensor, shift_y: Tensor) -> Tensor:
    """Shift each image by whole pixels, filling with zeros.

    ``out[b, c, i, j] = images[b, c, i - shift_y[b], j - shift_x[b]]`` where that is inside the
    image, else 0: a positive ``shift_x`` moves the content right, a positive ``shift_y`` down.
    Two gathers and a mask, no host synchronisation.

    Args:
        images: ``(B, C, H, W)``.
        shift_x: ``(B,)`` integer shifts along the width.
        shift_y: ``(B,)`` integer shifts along the height.

    Returns:
        ``(B, C, H, W)``; differentiable with respect to ``images``.
    """
    b, c, h, w = images.shape
    rows = torch.arange(h, device=images.device) - shift_y.view(-1, 1)  # (B, H) source rows
    cols = torch.arange(w, device=images.device) - shift_x.view(-1, 1)  # (B, W) source columns
    rows_in = ((rows >= 0) & (rows < h)).view(b, 1, h, 1)
    cols_in = ((cols >= 0) & (cols < w)).view(b, 1, 1, w)
    rows = rows.clamp(0, h - 1).view(b, 1, h, 1).expand(b, c, h, w)
    cols = cols.clamp(0, w - 1).view(b, 1, 1, w).expand(b, c, h, w)
    out = images.gather(2, rows).gather(3, cols)  # (B, C, H, W)
    return out.masked_fill(~(rows_in & cols_in), 0)  # zero padding


def random_flip_translate(
    images: Tensor, translation: float = 0.125, p_flip: float = 0.5
) -> Tensor:
    """The transform T of CR-GAN and bCR: a random horizontal flip, then a random translation.

    Each image is flipped with probability ``p_flip`` and shifted by integers drawn uniformly
    from ``[-m, m]`` on each axis, ``m = round(translation * size)`` (4 pixels at 32 with the
    default 1/8). Draws from the global RNG: the flip mask, then x shifts, then y shifts.

    Args:
        images: ``(B, C, H, W)``.
        translation: the largest shift as a fraction of the image size.
        p_flip: the probability of a flip (0 turns flipping off).

    Returns:
        ``(B, C, H, W)``; differentiable with respect to ``images``.
    """
    b, _, h, w = images.shape
    device = images.device
    images = hflip(images, torch.rand(b, device=device) < p_flip)
    max_x, max_y = int(translation * w + 0.5), int(translation * h + 0.5)
    if max_x == 0 and max_y == 0:
        return images
    shift_x = torch.randint(-max_x, max_x + 1, (b,), device=device)
    shift_y = torch.randint(-max_y, max_y + 1, (b,), device=device)
    return translate(images, shift_x, shift_y)


class BalancedConsistency(Regularizer):
    """bCR: D should score an image and its flipped/shifted copy the same, real and fake alike.

    Zhao et al. 2021, "Improved Consistency Regularization for GANs" (arXiv:2002.04724),
    section 3.1::

        L_bCR = lambda_real * E_x[ (D(x) - D(T(x)))^2 ]
              + lambda_fake * E_z[ (D(G(z)) - D(T(G(z))))^2 ]

    on D's logits, with T a random horizontal flip and a random translation of up to 1/8 of the
    size with zero padding (Zhang et al. 2020, "Consistency Regularization for Generative
    Adversarial Networks", arXiv:1910.12027). ``D(x)`` and ``D(G(z))`` are the logits the loss
    already computed; each term costs one extra D forward on the transformed batch. Gradients
    flow through both sides, as in the paper. A term whose lambda is 0 is skipped.

    Args:
        lambda_real: weight of the real term (10 in the paper).
        lambda_fake: weight of the fake term (10 in the paper).
        translation: the largest shift as a fraction of the image size (1/8).
        flip: whether T also flips (with probability 1/2).
    """

    def __init__(
        self,
        lambda_real: float = 10.0,
        lambda_fake: float = 10.0,
        translation: float = 0.125,
        flip: bool = True,
    ) -> None:
        _checks.at_least("bcr", "lambda_real", lambda_real, 0)
        _checks.at_least("bcr", "lambda_fake", lambda_fake, 0)
        _checks.in_range("bcr", "translation", translation, 0, 0.5)
        if lambda_real == 0 and lambda_fake == 0:
            raise UsageError("bcr lambda_real and lambda_fake are both 0; set one > 0")
        if translation == 0 and not flip:
            raise UsageError("bcr with translation=0 and flip=false has no transform")
        self.lambda_real, self.lambda_fake = lambda_real, lambda_fake
        self.translation, self.flip = translation, flip

    def transform(self, images: Tensor) -> Tensor:
        """T: ``(B, C, H, W)`` -> ``(B, C, H, W)``, random, differentiable."""
        return random_flip_translate(images, self.translation, 0.5 if self.flip else 0.0)

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        total: Tensor | None = None
        for weight, images in ((self.lambda_real, real), (self.lambda_fake, fake)):
            if weight == 0:
                continue
            logits = discriminator(images)  # (B,), memoised: the loss's forward
            moved = discriminator(self.transform(images))  # (B,)
            term = weight * (logits.float() - moved.float()).square().mean()
            total = term if total is None else total + term
        assert total is not None  # __init__ refuses two zero weights
        return total
