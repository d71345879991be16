"""DiffAugment: Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training",
arXiv:2006.10738 (reference code: mit-han-lab/data-efficient-gans, ``DiffAugment_pytorch.py``).

The policy ``color,translation,cutout`` applies every enabled op to every sample, each with its
own random parameters, on real and fake images alike.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.interfaces import Augmentation

from . import ops
from .checks import check_range


def random_color(x: Tensor) -> Tensor:
    """Brightness ``+U[-0.5, 0.5]``, saturation ``x U[0, 2]``, contrast ``x U[0.5, 1.5]``.

    Saturation scales around each pixel's channel mean (a no-op on grey images); contrast around
    each image's mean.
    """
    b, device = x.shape[0], x.device
    x = ops.brightness(x, torch.rand(b, device=device) - 0.5)
    x = ops.saturation(x, torch.rand(b, device=device) * 2)
    return ops.contrast(x, torch.rand(b, device=device) + 0.5, around="mean")


def random_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each sample by integers drawn uniformly from ``[-r, r]`` per axis, zero-padded.

    ``r = round(ratio * size)`` (2 pixels of 16 at the default 1/8).
    """
    b, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (b,), device=x.device)
    dx = torch.randint(-max_x, max_x + 1, (b,), device=x.device)
    return ops.translate(x, dy, dx, padding="zeros")


def random_cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of ``round(ratio * size)`` pixels a side at a random position per sample.

    As in the reference, the square's centre is uniform over the image, so a square near the
    border is clipped: at most ``ratio**2`` of the pixels are cut.
    """
    b, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # the reference's integer offsets in [0, size + 1 - side % 2); an odd side centres on a pixel
    off_y = torch.randint(0, h + 1 - size_h % 2, (b,), device=x.device)
    off_x = torch.randint(0, w + 1 - size_w % 2, (b,), device=x.device)
    center_y = off_y.float() + 0.5 * (size_h % 2)
    center_x = off_x.float() + 0.5 * (size_w % 2)
    full = torch.ones(b, device=x.device)
    return ops.cutout(x, center_y, center_x, full * size_h, full * size_w)


class DiffAugment(Augmentation):
    """DiffAugment (Zhao et al. 2020): color, translation and cutout on every image D sees.

    Parameters (``--set aug.params.NAME=VALUE``):

    - ``color``: random brightness, saturation and contrast (default on).
    - ``translation``: integer shifts up to ``translation_ratio`` of the size, zero-padded.
    - ``cutout``: zero a square of ``cutout_ratio`` of the size at a random position.
    - ``translation_ratio``: in ``[0, 0.5]``, default 1/8 as in the paper.
    - ``cutout_ratio``: in ``[0, 1]``, default 1/2 as in the paper.
    """

    def __init__(
        self,
        color: bool = True,
        translation: bool = True,
        cutout: bool = True,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        check_range("translation_ratio", translation_ratio, 0.0, 0.5)
        check_range("cutout_ratio", cutout_ratio, 0.0, 1.0)
        self.color, self.translation, self.cutout = color, translation, cutout
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def augment(self, images: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W)
        x = images
        if self.color:
            x = random_color(x)
        if self.translation:
            x = random_translation(x, self.translation_ratio)
        if self.cutout:
            x = random_cutout(x, self.cutout_ratio)
        return x
