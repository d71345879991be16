"""Image arrays held in memory (MNIST, Fashion-MNIST, CIFAR-10, SVHN) served as training items."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset as TorchDataset

from ganzoo.interfaces import DataRequest

from .transforms import ImageTransform, scale_to_unit

#: resize the whole array once at load time when the result fits in this many bytes; larger
#: requests (CIFAR-10 at 128 px, say) resize each item as it is fetched instead.
PREPARE_LIMIT_BYTES = 512 * 2**20


class TensorImages(TorchDataset[Tensor]):
    """A uint8 array ``(N, C, H, W)`` whose items are float32 ``(channels, size, size)`` in [-1, 1].

    ``__getitem__`` is on the training hot path: when the stored images already have the requested
    size (natively, or because they were resized once here) it only indexes and scales.
    """

    def __init__(self, images: Tensor | np.ndarray, transform: ImageTransform) -> None:
        images = torch.as_tensor(images)
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

    def __getitem__(self, index: int) -> Tensor:  # -> (channels, size, size)
        x = self.images[index]  # (C, H, W) uint8
        if self._scale_only:
            return scale_to_unit(x)
        if self._repeat_only:
            return scale_to_unit(x).expand(self.transform.channels, -1, -1).contiguous()
        return self.transform(x)
