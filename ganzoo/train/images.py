"""Image grids from generator output in [-1, 1], with class names beside the rows of conditional runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torchvision.utils import make_grid, save_image

from ..interfaces import Generator

PADDING = 2  # pixels between grid cells (torchvision's default)


def save_grid(
    images: Tensor,
    path: Path,
    *,
    nrow: int | None = None,
    row_labels: Sequence[str] | None = None,
) -> None:
    """Save ``(N, C, H, W)`` images in [-1, 1] as one PNG grid, ``nrow`` per row (default: as
    square as possible); ``row_labels`` are written left of the rows (one per row)."""
    from PIL import Image, ImageDraw, ImageFont

    path.parent.mkdir(parents=True, exist_ok=True)
    nrow = nrow or max(1, math.ceil(math.sqrt(images.shape[0])))
    grid = make_grid(
        images.float().cpu(), nrow=nrow, padding=PADDING, normalize=True, value_range=(-1, 1)
    )  # (3, rows * (H + 2) + 2, nrow * (W + 2) + 2) in [0, 1]
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    image = Image.fromarray(pixels)
    if row_labels:
        font = ImageFont.load_default()
        width = max(int(font.getlength(label)) for label in row_labels) + 2 * PADDING
        labelled = Image.new("RGB", (image.width + width, image.height), "black")
        labelled.paste(image, (width, 0))
        draw = ImageDraw.Draw(labelled)
        cell = images.shape[-2] + PADDING
        for row, label in enumerate(row_labels):
            draw.text((PADDING, PADDING + row * cell + cell // 2), label, fill="white", anchor="lm")
        image = labelled
    image.save(path)


def save_individual(images: Tensor, folder: Path) -> None:
    """Save each image of ``(N, C, H, W)`` as ``folder/000000.png`` ...."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images.float().cpu()):
        save_image(image, folder / f"{i:06d}.png", normalize=True, value_range=(-1, 1))


@dataclass
class SampleGrid:
    """A fixed batch to draw grids from: latents ``z (N, Z)``, labels ``y (N,)`` (None when
    unconditional) and the number of images per row.

    A conditional generator gets one row per class, and every column one latent shared by all
    rows, so a column shows the same z as each class.
    """

    z: Tensor
    y: Tensor | None
    nrow: int  # images per row; 0: as square as possible

    @staticmethod
    def fixed(
        generator: Generator, n: int, rng: torch.Generator, device: torch.device | str = "cpu"
    ) -> SampleGrid:
        """The grid of ``n`` images (conditional: ``K`` rows of about ``sqrt(n)``) from ``rng``."""
        classes = generator.num_classes
        if classes <= 0:
            z = generator.sample_latent(n, generator=rng)
            return SampleGrid(z.to(device), None, max(1, math.ceil(math.sqrt(n))))
        columns = max(1, round(math.sqrt(n)))
        z = generator.sample_latent(columns, generator=rng).repeat(classes, 1)  # (K * cols, Z)
        y = torch.arange(classes).repeat_interleave(columns)  # (K * cols,): row k is class k
        return SampleGrid(z.to(device), y.to(device), columns)

    def generate(self, generator: Generator) -> Tensor:
        """``(N, C, H, W)`` images of the grid (call under ``torch.no_grad``, G in eval mode)."""
        return generator(self.z) if self.y is None else generator(self.z, self.y)

    def save(self, images: Tensor, path: Path, classes: Sequence[str] = ()) -> None:
        """Save ``images`` (from :meth:`generate`) as the grid, rows labelled with ``classes``."""
        labels = list(classes) if self.y is not None and classes else None
        save_grid(images, path, nrow=self.nrow or None, row_labels=labels)
