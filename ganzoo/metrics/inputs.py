"""Adapters that feed torch-fidelity uint8 RGB tensors straight from memory (no image files)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..interfaces import Generator
from ..labels import image_of


def to_uint8_rgb(images: Tensor) -> Tensor:
    """``(B, C, H, W)`` in [-1, 1] (C = 1 or 3) -> uint8 ``(B, 3, H, W)``, as a PNG would store it."""
    x = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x


class UInt8Generator(nn.Module):
    """Wraps a ganzoo Generator for ``GenerativeModelModuleWrapper``: z ``(B, Z)`` -> uint8 images.

    A conditional generator gets labels drawn uniformly from its classes by a generator seeded
    ``seed`` (torch-fidelity's own conditional path would draw them too, but breaks on numpy 2).
    """

    def __init__(self, generator: Generator, seed: int = 0) -> None:
        super().__init__()
        self.generator = generator
        self.labels_rng = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def forward(self, z: Tensor) -> Tensor:
        z = z.to(next(self.generator.parameters()).device)
        y = self.generator.sample_labels(z.shape[0], generator=self.labels_rng)
        images = self.generator(z) if y is None else self.generator(z, y.to(z.device))
        return to_uint8_rgb(images)


class UInt8Subset(Dataset[Tensor]):
    """A fixed, seeded subset of ``n`` images of a ganzoo dataset, as uint8 ``(3, H, W)``."""

    def __init__(self, images: Dataset[Tensor], n: int, seed: int = 0) -> None:
        total = len(images)  # type: ignore[arg-type]
        order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
        self.images, self.indices = images, order[: min(n, total)].tolist()

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Tensor:
        return to_uint8_rgb(image_of(self.images[self.indices[i]]).unsqueeze(0))[0]
