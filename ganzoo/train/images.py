"""Image grids and single images from generator output in [-1, 1], as PNG files, with class names
beside the rows of conditional runs.

One-channel images are saved as grey PNGs (PIL mode ``L``), not as RGB copies of one channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from ..interfaces import Generator

PADDING = 2  # pixels between grid cells (torchvision's default)


def default_nrow(count: int) -> int:
    """Images per grid row that make ``count`` images about square."""
    return max(1, math.ceil(math.sqrt(count)))


def to_pil(image: Tensor) -> Image.Image:
    """One ``(C, H, W)`` image in [-1, 1] -> a PIL image: mode ``L`` for C = 1, ``RGB`` for C = 3."""
    pixels = (image.float().cpu().clamp(-1, 1) + 1) * 127.5  # [-1, 1] -> [0, 255]
    array = pixels.add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], mode="L")
    return Image.fromarray(array)


def grid_image(
    images: Tensor, nrow: int | None = None, row_labels: Sequence[str] | None = None
) -> Image.Image:
    """``(N, C, H, W)`` images in [-1, 1] as one grid, ``nrow`` images a row (default: about
    square); ``row_labels`` are written left of the rows (one per row)."""
    grid = make_grid(
        images.float().cpu(),
        nrow=nrow or default_nrow(images.shape[0]),
        padding=PADDING,
        pad_value=-1.0,
    )  # (3, rows * (H + 2) + 2, nrow * (W + 2) + 2) in [-1, 1]
    if images.shape[1] == 1:  # make_grid repeats one channel three times: keep one
        grid = grid[:1]
    image = to_pil(grid)
    if row_labels:
        image = labelled_rows(image, row_labels, cell=images.shape[-2] + PADDING)
    return image


def labelled_rows(image: Image.Image, labels: Sequence[str], cell: int) -> Image.Image:
    """``image`` with a margin on the left holding one label per row of ``cell`` pixels."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default()
    width = max(int(font.getlength(label)) for label in labels) + 2 * PADDING
    labelled = Image.new(image.mode, (image.width + width, image.height), 0)
    labelled.paste(image, (width, 0))
    draw = ImageDraw.Draw(labelled)
    white = 255 if image.mode == "L" else (255, 255, 255)
    for row, label in enumerate(labels):
        draw.text((PADDING, PADDING + row * cell + cell // 2), label, fill=white, anchor="lm")
    return labelled


def save_grid(
    images: Tensor,
    path: Path,
    *,
    nrow: int | None = None,
    row_labels: Sequence[str] | None = None,
) -> None:
    """Save ``(N, C, H, W)`` images in [-1, 1] as one PNG grid (grey when C = 1), ``nrow`` per
    row (default: as square as possible); ``row_labels`` are written left of the rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, nrow, row_labels).save(path)


def save_individual(images: Tensor, folder: Path) -> None:
    """Save each image of ``(N, C, H, W)`` as ``folder/000000.png`` ... (grey when C = 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        to_pil(image).save(folder / f"{i:06d}.png")


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
        generator: Generator,
        n: int,
        rng: torch.Generator,
        device: torch.device | str = "cpu",
        latents: Callable[[int], Tensor] | None = None,
    ) -> SampleGrid:
        """The grid of ``n`` images (conditional: ``K`` rows of about ``sqrt(n)``) from ``rng``;
        ``latents(k)`` draws the ``k`` latents instead, when given (truncated ones)."""
        draw = latents or (lambda k: generator.sample_latent(k, generator=rng))
        classes = generator.num_classes
        if classes <= 0:
            return SampleGrid(draw(n).to(device), None, max(1, math.ceil(math.sqrt(n))))
        columns = max(1, round(math.sqrt(n)))
        z = draw(columns).repeat(classes, 1)  # (K * cols, Z)
        y = torch.arange(classes).repeat_interleave(columns)  # (K * cols,): row k is class k
        return SampleGrid(z.to(device), y.to(device), columns)

    def generate(self, generator: Generator) -> Tensor:
        """``(N, C, H, W)`` images of the grid (call under ``torch.no_grad``, G in eval mode)."""
        return generator(self.z) if self.y is None else generator(self.z, self.y)

    def save(self, images: Tensor, path: Path, classes: Sequence[str] = ()) -> None:
        """Save ``images`` (from :meth:`generate`) as the grid, rows labelled with ``classes``."""
        labels = list(classes) if self.y is not None and classes else None
        save_grid(images, path, nrow=self.nrow or None, row_labels=labels)
