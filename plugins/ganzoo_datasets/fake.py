"""Deterministic random images for smoke runs and speed tests: no files, no PIL."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset as TorchDataset

from ganzoo.errors import UsageError
from ganzoo.interfaces import DataRequest, Dataset

from .transforms import check_request


class FakeImages(TorchDataset[Any]):
    """``length`` images of uniform noise; item ``i`` is drawn from a generator seeded ``seed + i``,
    so it is the same on every call, in every worker process. With ``num_classes > 0`` items are
    ``(image, label)``, labels drawn once from a generator seeded ``seed``."""

    #: datasets up to this size are drawn once into memory (the training hot path then only indexes)
    CACHE_BYTES = 256 * 2**20

    def __init__(
        self, length: int, seed: int, channels: int, size: int, num_classes: int = 0
    ) -> None:
        self.length, self.seed, self.shape = length, seed, (channels, size, size)
        self.source = f"generated noise (seed {seed})"
        self.labels: Tensor | None = None
        self.classes = [f"class{k}" for k in range(num_classes)]
        if num_classes > 0:
            generator = torch.Generator().manual_seed(seed)
            self.labels = torch.randint(num_classes, (length,), generator=generator)
        self._cache: Tensor | None = None
        if length * channels * size * size * 4 <= self.CACHE_BYTES:
            self._cache = torch.stack([self._draw(i) for i in range(length)])  # (N, C, H, W)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:  # -> (channels, size, size) in [-1, 1) [, label]
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} fake images")
        index %= self.length
        image = self._cache[index] if self._cache is not None else self._draw(index)
        return image if self.labels is None else (image, self.labels[index])

    def _draw(self, index: int) -> Tensor:
        generator = torch.Generator().manual_seed((self.seed + index) % 2**64)
        return torch.rand(self.shape, generator=generator).mul_(2.0).sub_(1.0)


class Fake(Dataset):
    """Random noise images, identical on every run: for smoke tests and measuring speed.

    Args:
        length: number of images.
        seed: the seed of every image (and of the labels).
        classes: draw a label in ``[0, classes)`` for every image (0: unlabelled).
    """

    default_channels = 3
    default_size = 32

    def __init__(self, length: int = 10000, seed: int = 0, classes: int = 0) -> None:
        if length < 1:
            raise UsageError(f"fake: length must be at least 1, got {length}")
        if not 0 <= classes <= 100_000:
            raise UsageError(f"fake: classes must be in [0, 100000], got {classes}")
        self.length, self.seed, self.classes = length, seed, classes

    def load(self, request: DataRequest) -> FakeImages:
        check_request(request)
        return FakeImages(
            self.length, self.seed, request.channels, request.image_size, self.classes
        )
