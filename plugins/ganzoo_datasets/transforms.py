"""The one image transform every built-in dataset shares.

Images enter as tensors ``(C, H, W)`` holding values in ``[0, 255]`` (uint8 or float) and leave as
float32 ``(channels, size, size)`` in ``[-1, 1]``: resized so the shorter side is ``size``,
center-cropped to a square, converted grey <-> RGB, then scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import UsageError
from ganzoo.interfaces import DataRequest

if TYPE_CHECKING:
    from PIL import Image

#: ITU-R BT.601 luma weights (the ones PIL's ``convert("L")`` uses), for RGB -> grey.
LUMA = (0.299, 0.587, 0.114)
#: how many images :meth:`ImageTransform.prepare_batch` resizes at once (bounds peak memory).
CHUNK = 2048


def check_request(request: DataRequest) -> None:
    """Raise :class:`UsageError` for an image size or channel count no dataset can produce."""
    if request.channels not in (1, 3):
        raise UsageError(f"channels must be 1 (grey) or 3 (RGB), got {request.channels}")
    if request.image_size < 1:
        raise UsageError(
            f"image size must be a positive number of pixels, got {request.image_size}"
        )


def scale_to_unit(x: Tensor) -> Tensor:
    """``[0, 255]`` -> float32 ``[-1, 1]``, same shape; never modifies ``x``."""
    if x.dtype == torch.float32:
        return torch.div(x, 127.5).sub_(1.0)
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def to_channels(x: Tensor, channels: int) -> Tensor:
    """Convert ``(..., C, H, W)`` to ``(..., channels, H, W)``: grey is repeated, RGB weighted by luma."""
    c = x.shape[-3]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.repeat_interleave(3, dim=-3)
    if c == 3 and channels == 1:
        weights = torch.tensor(LUMA, dtype=torch.float32).view(3, 1, 1)  # (3, 1, 1)
        return (x.to(torch.float32) * weights).sum(dim=-3, keepdim=True)  # (..., 1, H, W)
    raise UsageError(f"cannot convert images with {c} channels to {channels}")


def center_crop(x: Tensor, size: int) -> Tensor:
    """Crop the central ``(size, size)`` window of ``(..., H, W)`` (at most the image's extent)."""
    h, w = x.shape[-2:]
    th, tw = min(size, h), min(size, w)
    top, left = (h - th) // 2, (w - tw) // 2
    return x[..., top : top + th, left : left + tw]


def resize_center_crop(x: Tensor, size: int) -> Tensor:
    """Resize ``(..., C, H, W)`` so the shorter side is ``size`` (bilinear, antialiased), then
    center-crop to ``(..., C, size, size)``. Returns float32 in the input's value range."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x.to(torch.float32)
    if h <= w:
        new_h, new_w = size, max(size, int(size * w / h))
    else:
        new_h, new_w = max(size, int(size * h / w)), size
    batch = x.to(torch.float32)
    squeeze = batch.dim() == 3
    if squeeze:
        batch = batch.unsqueeze(0)  # (1, C, H, W)
    if (new_h, new_w) != (h, w):
        # antialiased bilinear weights are non-negative, so values stay within the input's range
        batch = F.interpolate(
            batch, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False
        )
    batch = center_crop(batch, size)  # (B, C, size, size)
    return batch[0] if squeeze else batch


def pil_to_tensor(image: Image.Image) -> Tensor:
    """A PIL image -> ``(1, H, W)`` for grey modes or ``(3, H, W)`` otherwise, values in ``[0, 255]``.

    Palette, alpha and CMYK images become RGB (alpha is dropped); 16-bit grey is scaled down.
    """
    if image.mode.startswith("I;16"):
        array = np.array(image, dtype=np.float32) / 257.0  # (H, W) 16-bit -> [0, 255]
        return torch.from_numpy(array).unsqueeze(0)
    if image.mode in ("1", "L", "I", "F"):
        array = np.array(image.convert("L"))  # (H, W) uint8
        return torch.from_numpy(array).unsqueeze(0)
    array = np.array(image.convert("RGB"))  # (H, W, 3) uint8
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()  # (3, H, W)


@dataclass(frozen=True)
class ImageTransform:
    """``(C, H, W)`` in ``[0, 255]`` -> float32 ``(channels, size, size)`` in ``[-1, 1]``."""

    size: int
    channels: int

    @classmethod
    def for_request(cls, request: DataRequest) -> ImageTransform:
        check_request(request)
        return cls(size=request.image_size, channels=request.channels)

    def __call__(self, x: Tensor) -> Tensor:
        if x.shape[-3] > self.channels:  # reduce channels first: less to resize
            x = to_channels(x, self.channels)
        x = resize_center_crop(x, self.size)  # (C', size, size) float32, maybe x itself
        x = scale_to_unit(x).clamp_(-1.0, 1.0)
        return to_channels(x, self.channels)  # grey -> RGB after resizing: a third of the work

    def prepare_batch(self, images: Tensor) -> Tensor:
        """Do the expensive part once for a whole uint8 array ``(N, C, H, W)``.

        Returns uint8 ``(N, min(C, channels), size, size)``: resized, cropped, and reduced to grey
        if asked; repeating grey to RGB is left to :meth:`__call__`, which would triple the memory.
        """
        out_c = min(images.shape[1], self.channels)
        out = torch.empty((images.shape[0], out_c, self.size, self.size), dtype=torch.uint8)
        for start in range(0, images.shape[0], CHUNK):
            chunk = images[start : start + CHUNK]  # (B, C, H, W)
            if chunk.shape[1] > out_c:
                chunk = to_channels(chunk, out_c)
            chunk = resize_center_crop(chunk, self.size)  # (B, out_c, size, size) float32
            out[start : start + CHUNK] = chunk.round_().clamp_(0, 255).to(torch.uint8)
        return out
