"""ADA's augmentation pipeline: Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data", arXiv:2006.06676 (reference code: NVlabs/stylegan2-ada-pytorch,
``training/augment.py``, the ``bgc`` pipeline less arbitrary rotation, anisotropic scaling,
fractional translation, luma flip and hue, plus cutout).

Every transform is applied to each sample independently with probability ``p``:

1. geometry, composed into one resampling with reflected borders: x-flip (a coin toss, so a
   sample flips with probability ``p/2``), rotation by a uniform multiple of 90 degrees, integer
   translation by up to ``xint_max`` of the size, isotropic scaling by ``2**N(0, scale_std)``
   about the centre (bilinear; the reference's anti-aliasing filters are left out);
2. color: brightness ``+N(0, brightness_std)``, contrast ``x 2**N(0, contrast_std)`` about 0
   (mid-grey), saturation ``x 2**N(0, saturation_std)`` about the grey axis (RGB only);
3. cutout: a rectangle of ``cutout_size`` of each side, centred uniformly, is zeroed.

With every sample's draw rejected the output equals the input bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import ops


def transform(
    x: Tensor, flip: Tensor, quarter: Tensor, dy: Tensor, dx: Tensor, scale: Tensor
) -> Tensor:
    """Resample ``x`` ``(B, C, H, W)`` through per-sample geometric transforms ``(B,)`` each.

    In this order: mirror left-right where ``flip`` is true, turn ``quarter`` times 90 degrees
    counter-clockwise, shift by ``dy`` rows down and ``dx`` columns right (integers), zoom by
    ``scale`` about the centre. Borders reflect. Square images only (a quarter turn of a
    non-square image does not fit it).
    """
    b, _, h, w = x.shape
    device = x.device
    # Map each output pixel to its source, undoing the transforms in reverse order, in
    # coordinates centred on the image: v down, u right.
    cy, cx = (h - 1) / 2, (w - 1) / 2
    v = (torch.arange(h, device=device, dtype=torch.float32) - cy).view(1, h, 1)
    u = (torch.arange(w, device=device, dtype=torch.float32) - cx).view(1, 1, w)
    scale = scale.to(device, torch.float32).view(b, 1, 1)
    v = v / scale - dy.to(device, torch.float32).view(b, 1, 1)  # (B, H, W)
    u = u / scale - dx.to(device, torch.float32).view(b, 1, 1)  # (B, H, W)
    # cos and sin of k quarter turns, exact, computed on the device (no host-to-device copy)
    quarter = (quarter.to(device).long() % 4).view(b, 1, 1)
    cos = (quarter == 0).float() - (quarter == 2).float()
    sin = (quarter == 1).float() - (quarter == 3).float()
    u, v = cos * u - sin * v, sin * u + cos * v
    u = torch.where(flip.to(device).view(b, 1, 1), -u, u)
    out = ops.sample_bilinear(x, v + cy, u + cx, padding="reflect")  # (B, C, H, W)
    return ops.same_format(out, x)


def geometry(x: Tensor, p: float, *, xint_max: float = 0.125, scale_std: float = 0.2) -> Tensor:
    """x-flip, quarter turns, integer translation and isotropic scaling, each with probability ``p``."""
    b, _, h, w = x.shape
    device = x.device

    def gate() -> Tensor:  # (B,): apply this transform to these samples
        return torch.rand(b, device=device) < p

    flip = (torch.rand(b, device=device) < 0.5) & gate()  # (B,) a coin toss, when chosen
    quarter = torch.where(gate(), torch.randint(0, 4, (b,), device=device), 0)  # (B,)
    shift = (torch.rand(b, 2, device=device) * 2 - 1) * xint_max  # (B, 2): x, y of the size
    shift = torch.where(gate().view(b, 1), shift, 0.0)
    dy, dx = torch.round(shift[:, 1] * h), torch.round(shift[:, 0] * w)
    scale = torch.where(gate(), torch.exp2(torch.randn(b, device=device) * scale_std), 1.0)
    return transform(x, flip, quarter, dy, dx, scale)


def color(
    x: Tensor,
    p: float,
    *,
    brightness_std: float = 0.2,
    contrast_std: float = 0.5,
    saturation_std: float = 1.0,
) -> Tensor:
    """Brightness, contrast and (RGB only) saturation, each with probability ``p``."""
    b, device = x.shape[0], x.device

    def gate() -> Tensor:  # (B,)
        return torch.rand(b, device=device) < p

    shift = torch.where(gate(), torch.randn(b, device=device) * brightness_std, 0.0)
    x = ops.brightness(x, shift)
    factor = torch.where(gate(), torch.exp2(torch.randn(b, device=device) * contrast_std), 1.0)
    x = ops.contrast(x, factor, around="zero")
    if x.shape[1] > 1:
        chosen = gate()
        factor = torch.exp2(torch.randn(b, device=device) * saturation_std)
        x = ops.apply_where(chosen, ops.saturation(x, factor), x)
    return x


def cutout(x: Tensor, p: float, *, size: float = 0.5) -> Tensor:
    """Zero a ``size`` by ``size`` (of the image) rectangle at a uniform centre, with probability ``p``."""
    b, _, h, w = x.shape
    side = torch.where(torch.rand(b, device=x.device) < p, size, 0.0)  # (B,); 0 cuts nothing
    center = torch.rand(b, 2, device=x.device)  # (B, 2): x, y in [0, 1)
    return ops.cutout(x, center[:, 1] * h, center[:, 0] * w, side * h, side * w)


def augment(x: Tensor, p: float) -> Tensor:
    """The whole pipeline with probability ``p`` per transform and sample."""
    return cutout(color(geometry(x, p), p), p)
