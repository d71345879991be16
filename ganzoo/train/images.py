"""Image grids and single images from generator output in [-1, 1], as PNG files.

One-channel images are saved as grey PNGs (PIL mode ``L``), not as RGB copies of one channel.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid


def default_nrow(count: int) -> int:
    """Images per grid row that make ``count`` images about square."""
    return max(1, math.ceil(math.sqrt(count)))


def to_pil(image: torch.Tensor) -> Image.Image:
    """One ``(C, H, W)`` image in [-1, 1] -> a PIL image: mode ``L`` for C = 1, ``RGB`` for C = 3."""
    pixels = (image.float().cpu().clamp(-1, 1) + 1) * 127.5  # [-1, 1] -> [0, 255]
    array = pixels.add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], mode="L")
    return Image.fromarray(array)


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """``(N, C, H, W)`` images in [-1, 1] as one grid, ``nrow`` images a row (about square)."""
    grid = make_grid(
        images.float().cpu(), nrow=nrow or default_nrow(images.shape[0]), pad_value=-1.0
    )
    if images.shape[1] == 1:  # make_grid repeats one channel three times: keep one
        grid = grid[:1]
    return to_pil(grid)


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    """Save ``(N, C, H, W)`` images in [-1, 1] as one PNG grid (grey when C = 1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, nrow).save(path)


def save_individual(images: torch.Tensor, folder: Path) -> None:
    """Save each image of ``(N, C, H, W)`` as ``folder/000000.png`` ... (grey when C = 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        to_pil(image).save(folder / f"{i:06d}.png")
