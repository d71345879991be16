"""Image grids from generator output in [-1, 1]."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchvision.utils import save_image


def save_grid(images: torch.Tensor, path: Path) -> None:
    """Save ``(N, C, H, W)`` images in [-1, 1] as one PNG grid, as square as possible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nrow = max(1, math.ceil(math.sqrt(images.shape[0])))
    save_image(images.float().cpu(), path, nrow=nrow, normalize=True, value_range=(-1, 1))


def save_individual(images: torch.Tensor, folder: Path) -> None:
    """Save each image of ``(N, C, H, W)`` as ``folder/000000.png`` ...."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images.float().cpu()):
        save_image(image, folder / f"{i:06d}.png", normalize=True, value_range=(-1, 1))
