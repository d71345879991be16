"""Any directory tree of images (``--dataset folder --data-root DIR``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset as TorchDataset

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest, Dataset

from .transforms import ImageTransform, pil_to_tensor

#: file name suffixes read as images (case-insensitive); GIFs give their first frame.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"})


def find_images(root: Path) -> list[Path]:
    """Every image file under ``root``, recursively and sorted; hidden files and directories
    (``.git``, ``.thumbnails``) are skipped, symlinked directories followed once."""
    found: list[Path] = []
    seen: set[str] = set()
    for directory, subdirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a symlink cycle, or a tree linked twice
            subdirs.clear()
            continue
        seen.add(real)
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        found.extend(
            Path(directory, name)
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
        )
    return sorted(found)


class FolderImages(TorchDataset[Any]):
    """Image files decoded with PIL on access; items float32 ``(channels, size, size)`` in [-1, 1],
    or ``(image, label)`` when ``labels`` are given (one per path, names in ``classes``)."""

    def __init__(
        self,
        paths: list[Path],
        transform: ImageTransform,
        labels: list[int] | None = None,
        classes: list[str] | None = None,
    ) -> None:
        self.paths, self.transform = paths, transform
        self.labels, self.classes = labels, classes or []
        self.source = str(paths[0].parent) if paths else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        image = self.image(index)
        return image if self.labels is None else (image, self.labels[index])

    def image(self, index: int) -> Tensor:
        from PIL import Image, UnidentifiedImageError

        path = self.paths[index]
        try:
            with Image.open(path) as image:
                x = pil_to_tensor(image)  # (1 or 3, H, W) in [0, 255]
        except (OSError, UnidentifiedImageError) as exc:
            raise GanzooError(f"cannot read image {path}: {exc}") from exc
        return self.transform(x)


class Folder(Dataset):
    """Your own images: every png/jpg/jpeg/bmp/webp/gif under ``--data-root``, recursively.

    Items are resized (shorter side) and center-cropped to the image size; grey and RGB files may
    be mixed. There are no splits: every split is the whole tree.

    Args:
        classes: label every image with its first-level subdirectory (``ROOT/cat/x.png`` is class
            ``cat``; classes sorted by name), as torchvision's ImageFolder does. Off by default:
            folders of photos are not always classes. Every image must then sit in a class folder.
    """

    default_channels = 3
    default_size = 64

    def __init__(self, classes: bool = False) -> None:
        self.classes = classes

    def load(self, request: DataRequest) -> FolderImages:
        transform = ImageTransform.for_request(request)
        if request.root is None:
            raise UsageError("the folder dataset needs --data-root DIR, a directory of images")
        root = Path(request.root).expanduser()
        if not root.is_dir():
            raise UsageError(f"folder dataset: --data-root {root} is not a directory")
        paths = find_images(root)
        if not paths:
            kinds = "/".join(sorted(s[1:] for s in IMAGE_SUFFIXES))
            raise UsageError(f"folder dataset: no images ({kinds}) found under {root}")
        if not self.classes:
            images = FolderImages(paths, transform)
        else:
            images = FolderImages(paths, transform, *labels_from_folders(root, paths))
        images.source = str(root)
        return images


def labels_from_folders(root: Path, paths: list[Path]) -> tuple[list[int], list[str]]:
    """Each path's first-level folder under ``root`` as its class: ``(labels, sorted names)``."""
    loose = [p for p in paths if len(p.relative_to(root).parts) < 2]
    if loose:
        raise UsageError(
            f"folder dataset with classes=true: {loose[0]} is not in a class folder; put every "
            f"image under {root}/CLASS/ (or drop data.params.classes)"
        )
    folders = [p.relative_to(root).parts[0] for p in paths]
    names = sorted(set(folders))
    index = {name: i for i, name in enumerate(names)}
    return [index[f] for f in folders], names
