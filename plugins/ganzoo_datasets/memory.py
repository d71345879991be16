"""Image arrays held in memory (MNIST, Fashion-MNIST, CIFAR-10, SVHN) served as training items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset as TorchDataset

from ganzoo.interfaces import DataRequest

from .transforms import ImageTransform, scale_to_unit

#: resize the whole array once at load time when the result fits in this many bytes; larger
#: requests (CIFAR-10 at 128 px, say) resize each item as it is fetched instead.
PREPARE_LIMIT_BYTES = 512 * 2**20


class TensorImages(TorchDataset[Any]):
    """A uint8 array ``(N, C, H, W)`` whose items are float32 ``(channels, size, size)`` in [-1, 1],
    or ``(image, label)`` pairs when ``labels`` ``(N,)`` are given (their names in ``classes``);
    ``source`` says where they were read from.

    ``__getitem__`` is on the training hot path: when the stored images already have the requested
    size (natively, or because they were resized once here) it only indexes and scales.
    """

    def __init__(
        self,
        images: Tensor | np.ndarray,
        transform: ImageTransform,
        labels: Tensor | np.ndarray | Sequence[int] | None = None,
        classes: Sequence[str] = (),
        source: str | None = None,
    ) -> None:
        self.source = source  # where the images were read from, for the run's records
        images = torch.as_tensor(images)
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64)
        if self.labels is not None and self.labels.shape != (images.shape[0],):
            raise ValueError(
                f"{tuple(self.labels.shape)} labels for {images.shape[0]} images; need one each"
            )
        self.classes = list(classes) if self.labels is not None else []
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"expected uint8 images (N, C, H, W), got {images.dtype} {images.shape}"
            )
        n, c, h, w = images.shape
        out_c = min(c, transform.channels)
        needs_work = (h, w) != (transform.size, transform.size) or c > transform.channels
        if needs_work and n * out_c * transform.size**2 <= PREPARE_LIMIT_BYTES:
            images = transform.prepare_batch(images)  # (N, out_c, size, size) uint8
        self.images = images.contiguous()
        self.transform = transform
        stored = tuple(self.images.shape[1:])
        self._scale_only = stored == (transform.channels, transform.size, transform.size)
        self._repeat_only = stored == (1, transform.size, transform.size)  # grey -> RGB

    @classmethod
    def from_request(cls, images: Tensor | np.ndarray, request: DataRequest) -> TensorImages:
        return cls(images, ImageTransform.for_request(request))

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Any:  # -> (channels, size, size) [, label]
        image = self.image(index)
        return image if self.labels is None else (image, self.labels[index])

    def image(self, index: int) -> Tensor:  # -> (channels, size, size)
        x = self.images[index]  # (C, H, W) uint8
        if self._scale_only:
            return scale_to_unit(x)
        if self._repeat_only:
            return scale_to_unit(x).expand(self.transform.channels, -1, -1).contiguous()
        return self.transform(x)
