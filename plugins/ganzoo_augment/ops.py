"""Differentiable image transforms with explicit per-sample parameters, shared by every pipeline.

Each function takes a batch ``x`` of shape ``(B, C, H, W)`` and per-sample parameters of shape
``(B,)``, and returns a new batch of ``x``'s shape, dtype and memory format (contiguous or
channels_last). None draws random numbers: the pipelines (:mod:`.diffaugment`, :mod:`.ada`) draw
them from torch's global RNG and pass them in, so every transform can be tested by hand.

Gradients flow to ``x`` through all of them, twice over (gather, multiply and add only; no
``grid_sample``, whose backward has no derivative), so gradient penalties such as R1 work on
augmented images.

The color transforms follow Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training" (arXiv:2006.10738) and Karras et al. 2020, "Training Generative Adversarial Networks
with Limited Data" (arXiv:2006.06676); the geometric ones resample with reflected or zero
borders, the cutout of DeVries & Taylor 2017 (arXiv:1708.04552) zeroes a rectangle.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Padding = Literal["zeros", "reflect"]


def same_format(out: Tensor, like: Tensor) -> Tensor:
    """``out`` in ``like``'s memory format: channels_last stays channels_last."""
    if like.is_contiguous() or not like.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous()
    return out.contiguous(memory_format=torch.channels_last)


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    """``(B,)`` parameters as ``(B, 1, 1, 1)`` in ``like``'s dtype and device, to broadcast."""
    return values.to(device=like.device, dtype=like.dtype).view(-1, 1, 1, 1)


# ---- color -----------------------------------------------------------------------------------


def brightness(x: Tensor, shift: Tensor) -> Tensor:
    """Add ``shift[b]`` to every pixel and channel of sample ``b``: ``x + shift``."""
    return x + _per_sample(shift, x)


def contrast(x: Tensor, factor: Tensor, *, around: Literal["mean", "zero"] = "mean") -> Tensor:
    """Scale each sample's deviation from a centre by ``factor[b]``.

    ``around="mean"`` (DiffAugment): the centre is the sample's mean over ``(C, H, W)``, which
    the transform preserves. ``around="zero"`` (ADA's 3-D color matrix): the centre is 0, mid-grey
    in ``[-1, 1]``, so the transform is ``x * factor``.
    """
    f = _per_sample(factor, x)  # (B, 1, 1, 1)
    if around == "zero":
        return x * f
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * f + mean


def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's deviation from its channel mean (the grey axis) by ``factor[b]``.

    Grey (1-channel) images have no color to saturate: they come back unchanged.
    """
    if x.shape[1] == 1:
        return x
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): the projection on the grey axis
    return (x - mean) * _per_sample(factor, x) + mean


def apply_where(mask: Tensor, transformed: Tensor, x: Tensor) -> Tensor:
    """``transformed`` for the samples where ``mask`` ``(B,)`` is true, ``x`` (exactly) elsewhere."""
    return torch.where(mask.view(-1, 1, 1, 1), transformed, x)


# ---- geometry --------------------------------------------------------------------------------


def _fold(index: Tensor, size: int, padding: Padding) -> tuple[Tensor, Tensor | None]:
    """Indices into ``[0, size)``, and for zero padding a mask of those that were inside.

    ``reflect`` mirrors about the border pixels (``-1 -> 1``, ``size -> size - 2``), like
    ``F.pad(mode="reflect")``, and repeats the mirrored image for indices further out.
    """
    if padding == "zeros":
        inside = (index >= 0) & (index < size)
        return index.clamp(0, size - 1), inside
    period = 2 * (size - 1) if size > 1 else 1
    index = index.remainder(period)  # [0, 2 * (size - 1))
    return torch.where(index >= size, period - index, index), None


def gather_pixels(x: Tensor, rows: Tensor, cols: Tensor, padding: Padding = "zeros") -> Tensor:
    """``out[b, :, i, j] = x[b, :, rows[b, i, j], cols[b, i, j]]`` for integer maps ``(B, H, W)``.

    Indices outside the image read a zero (``"zeros"``) or the mirrored pixel (``"reflect"``).
    The output has the maps' spatial size; its gradient reaches ``x`` (a scatter-add).
    """
    b, c, h, w = x.shape
    rows, row_inside = _fold(rows, h, padding)
    cols, col_inside = _fold(cols, w, padding)
    out_h, out_w = rows.shape[1:]
    flat = (rows * w + cols).view(b, out_h * out_w, 1).expand(b, out_h * out_w, c)
    # channels last (B, H*W, C): a view of a channels_last x, one gather for every channel
    pixels = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
    out = pixels.gather(1, flat).view(b, out_h, out_w, c).permute(0, 3, 1, 2)  # (B, C, H, W)
    if row_inside is not None and col_inside is not None:
        out = out * (row_inside & col_inside).unsqueeze(1).to(out.dtype)
    return out


def sample_bilinear(x: Tensor, rows: Tensor, cols: Tensor, padding: Padding = "reflect") -> Tensor:
    """Bilinear interpolation of ``x`` at fractional pixel coordinates ``(B, H, W)``.

    Where the coordinates are integers the weights are exactly ``(1, 0)``, so the result equals
    :func:`gather_pixels`' bit for bit.
    """
    r0, c0 = rows.floor(), cols.floor()
    wr = (rows - r0).unsqueeze(1).to(x.dtype)  # (B, 1, H, W): weight of row r0 + 1
    wc = (cols - c0).unsqueeze(1).to(x.dtype)
    r0, c0 = r0.long(), c0.long()

    def at(dr: int, dc: int) -> Tensor:
        return gather_pixels(x, r0 + dr, c0 + dc, padding)

    top = at(0, 0) * (1 - wc) + at(0, 1) * wc
    bottom = at(1, 0) * (1 - wc) + at(1, 1) * wc
    return top * (1 - wr) + bottom * wr


def translate(x: Tensor, dy: Tensor, dx: Tensor, padding: Padding = "zeros") -> Tensor:
    """Shift sample ``b``'s content by ``dy[b]`` rows down and ``dx[b]`` columns right (integers).

    ``out[b, :, i, j] = x[b, :, i - dy[b], j - dx[b]]``; what enters from the border is zero or a
    reflection (``padding``).
    """
    b, _, h, w = x.shape
    i = torch.arange(h, device=x.device).view(1, h, 1)
    j = torch.arange(w, device=x.device).view(1, 1, w)
    rows = (i - dy.to(x.device).long().view(b, 1, 1)).expand(b, h, w)
    cols = (j - dx.to(x.device).long().view(b, 1, 1)).expand(b, h, w)
    return same_format(gather_pixels(x, rows, cols, padding), x)


def cutout(x: Tensor, center_y: Tensor, center_x: Tensor, height: Tensor, width: Tensor) -> Tensor:
    """Zero, in sample ``b``, the pixels whose centres lie inside a rectangle.

    The rectangle is centred at ``(center_y[b], center_x[b])`` and measures ``height[b]`` by
    ``width[b]``, all in pixels; pixel ``(i, j)``'s centre is ``(i + 0.5, j + 0.5)``. It is clipped
    by the image border. A size of 0 cuts nothing.
    """
    b, _, h, w = x.shape

    def inside(center: Tensor, size: Tensor, n: int) -> Tensor:  # (B, n)
        coord = torch.arange(n, device=x.device, dtype=torch.float32) + 0.5
        center = center.to(x.device, torch.float32).view(b, 1)
        return (coord - center).abs() < size.to(x.device, torch.float32).view(b, 1) / 2

    hole = inside(center_y, height, h).view(b, 1, h, 1) & inside(center_x, width, w).view(
        b, 1, 1, w
    )
    return same_format(x * (~hole).to(x.dtype), x)  # (B, 1, H, W) broadcast over channels
