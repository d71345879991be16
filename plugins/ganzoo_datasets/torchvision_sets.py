"""CIFAR-10, SVHN and CelebA through torchvision's dataset classes.

Each is looked for without downloading in ``--data-root``, ``$GANZOO_DATA`` and the cache (see
:mod:`.locate`), then downloaded into ``--data-root`` or the cache. torchvision is imported only
when one of these is loaded, so listing plugins stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest, Dataset

from .filecache import Decoder
from .folder import FolderImages
from .locate import download_dir, one_line, search_dirs
from .memory import TensorImages
from .transforms import ImageTransform

#: builds a torchvision dataset from (root, download).
Builder = Callable[[Path, bool], Any]


def open_torchvision(
    slug: str, title: str, holds: str, build: Builder, request: DataRequest
) -> Any:
    """Return ``build(dir, False)`` for the first search dir (or its ``slug/``) that has the data,
    else ``build(download_dir, True)``; failures become one-line :class:`GanzooError`\\ s.

    ``holds`` names what a data root must contain, for the messages.
    """
    bases = search_dirs(request)
    for base in bases:
        for directory in (base, base / slug):
            if not directory.is_dir():
                continue
            try:
                return build(directory, False)
            except RuntimeError:  # torchvision: "Dataset not found or corrupted"
                continue
            except ImportError as exc:
                raise missing_dependency(slug, title, exc) from exc
    dest = download_dir(request)
    hint = f"pass --data-root DIR for a directory holding {holds}"
    if not request.download:
        looked = ", ".join(str(b) for b in bases)
        raise GanzooError(f"{slug}: {title} not found (looked in {looked}); {hint}")
    try:
        return build(dest, True)
    except ImportError as exc:
        raise missing_dependency(slug, title, exc) from exc
    except Exception as exc:  # network, mirror or archive failure: say what to provide instead
        raise GanzooError(
            f"{slug}: could not download {title} into {dest} ({one_line(exc)}); {hint}"
        ) from exc


def missing_dependency(slug: str, title: str, exc: ImportError) -> GanzooError:
    """torchvision reads SVHN with scipy and fetches CelebA with gdown, both optional."""
    return GanzooError(f"{slug}: reading {title} needs the '{exc.name}' package; pip install it")


def check_split(slug: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise UsageError(f"{slug} has splits {', '.join(splits)}; got '{split}'")


class CIFAR10(Dataset):
    """CIFAR-10: 50,000 train / 10,000 test RGB 32x32 images of 10 classes (labelled)."""

    default_channels = 3
    default_size = 32

    def load(self, request: DataRequest) -> TensorImages:
        transform = ImageTransform.for_request(request)
        check_split("cifar10", request.split, ("train", "test"))
        from torchvision import datasets

        def build(root: Path, download: bool) -> Any:
            return datasets.CIFAR10(str(root), train=request.split == "train", download=download)

        tv = open_torchvision("cifar10", "CIFAR-10", "cifar-10-batches-py/", build, request)
        images = np.ascontiguousarray(
            tv.data.transpose(0, 3, 1, 2)
        )  # (N, 32, 32, 3) -> (N, 3, 32, 32)
        return TensorImages(images, transform, tv.targets, tv.classes, str(tv.root))


SVHN_CLASSES = tuple(str(d) for d in range(10))


class SVHN(Dataset):
    """Street View House Numbers (cropped digits): 73,257 train / 26,032 test RGB 32x32 images,
    labelled with their digit.

    Split ``extra`` (531,131 more images) is accepted too. Reading the ``.mat`` files needs scipy.
    """

    default_channels = 3
    default_size = 32

    def load(self, request: DataRequest) -> TensorImages:
        transform = ImageTransform.for_request(request)
        check_split("svhn", request.split, ("train", "test", "extra"))
        from torchvision import datasets

        def build(root: Path, download: bool) -> Any:
            return datasets.SVHN(str(root), split=request.split, download=download)

        holds = f"{request.split}_32x32.mat"
        tv = open_torchvision("svhn", "SVHN", holds, build, request)
        # (N, 3, 32, 32) uint8; torchvision maps the digit 0's label 10 to 0
        return TensorImages(
            np.ascontiguousarray(tv.data), transform, tv.labels, SVHN_CLASSES, str(tv.root)
        )


class CelebA(Dataset):
    """CelebA aligned faces: 162,770 train / 19,962 test RGB images, cropped and resized to 64.

    torchvision downloads it from Google Drive (needs ``pip install gdown``, often rate-limited):
    better put ``celeba/`` (img_align_celeba/ and the list_*.txt files) under ``--data-root``.

    Args:
        crop: the center square cut from each 178x218 image before resizing (DCGAN's recipe).
        cache: decode every image once into a memory-mapped uint8 cache (``$GANZOO_CACHE/decoded``)
            instead of on every access.
        cache_dir: where to keep that cache instead (empty: the default).
    """

    default_channels = 3
    default_size = 64

    def __init__(self, crop: int = 178, cache: bool = True, cache_dir: str = "") -> None:
        if crop < 1:
            raise UsageError(f"celeba: crop must be a positive number of pixels, got {crop}")
        self.crop, self.cache, self.cache_dir = crop, cache, cache_dir

    def load(self, request: DataRequest) -> FolderImages:
        transform = ImageTransform.for_request(request)
        check_split("celeba", request.split, ("train", "valid", "test", "all"))
        from torchvision import datasets

        def build(root: Path, download: bool) -> Any:
            return datasets.CelebA(
                str(root), split=request.split, target_type=[], download=download
            )

        holds = "celeba/img_align_celeba/ and celeba/list_*.txt"
        tv = open_torchvision("celeba", "CelebA", holds, build, request)
        folder = Path(tv.root) / tv.base_folder / "img_align_celeba"
        images = FolderImages(
            [folder / name for name in tv.filename], Decoder(transform, self.crop)
        )
        images.source = str(folder)
        return images.use_cache(self.cache_dir) if self.cache else images
