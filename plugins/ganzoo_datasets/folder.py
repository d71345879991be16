"""Any directory tree of images (``--dataset folder --data-root DIR``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset as TorchDataset

from ganzoo.errors import UsageError
from ganzoo.interfaces import DataRequest, Dataset

from .filecache import DecodedCache, Decoder, megabytes, open_decoded, say
from .transforms import ImageTransform, scale_to_unit

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
    """Image files as float32 ``(channels, size, size)`` items in [-1, 1], or ``(image, label)``
    when ``labels`` are given (one per path, names in ``classes``).

    With ``decoded`` (uint8 ``(N, channels, size, size)``, see :mod:`.filecache`) an item is an
    index and a scale; without, each access decodes its file with ``decoder``.
    """

    def __init__(
        self,
        paths: list[Path],
        decoder: Decoder,
        labels: list[int] | None = None,
        classes: list[str] | None = None,
        decoded: Tensor | None = None,
    ) -> None:
        self.paths, self.decoder, self.decoded = paths, decoder, decoded
        self.decoded_file: Path | None = None  # where ``decoded`` is mapped from
        self.labels, self.classes = labels, classes or []
        self.source = str(paths[0].parent) if paths else None
        self.notes: list[str] = []  # lines the run prints under its data line

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        image = self.image(index)
        return image if self.labels is None else (image, self.labels[index])

    def image(self, index: int) -> Tensor:  # -> (channels, size, size)
        if self.decoded is not None:
            return scale_to_unit(self.decoded[index])
        return self.decoder(self.paths[index])

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started by spawn (macOS, Windows) get the file's name, not a copy of
        # its bytes: pickling the mapped tensor would move all of it into shared memory
        state = dict(self.__dict__)
        if self.decoded_file is not None:
            state["decoded"] = tuple(self.decoded.shape)  # type: ignore[union-attr]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("decoded_file") is not None:
            state["decoded"] = open_decoded(state["decoded_file"], state["decoded"])
        self.__dict__.update(state)

    def use_cache(self, directory: str = "") -> FolderImages:
        """Read the images from their decoded-image cache (built on first use); returns self."""
        cache = DecodedCache(
            self.paths, self.decoder, self.source or ".", Path(directory) if directory else None
        )
        try:
            self.decoded, self.decoded_file = cache.load(), cache.data_file
        except OSError as exc:  # a read-only or full disk: train anyway, decoding as it goes
            say(
                f"cannot write the decoded-image cache in {cache.directory} ({exc}); decoding "
                "every image on access instead (set data.params.cache_dir to a writable folder)"
            )
            return self
        self.notes.append(
            f"decoded-image cache: {cache.data_file} ({megabytes(cache.nbytes)}; "
            "data.params.cache=false to decode on every access)"
        )
        return self


class Folder(Dataset):
    """Your own images: every png/jpg/jpeg/bmp/webp/gif under ``--data-root``, recursively.

    Items are resized (shorter side) and center-cropped to the image size; grey and RGB files may
    be mixed. There are no splits: every split is the whole tree.

    Args:
        classes: label every image with its first-level subdirectory (``ROOT/cat/x.png`` is class
            ``cat``; classes sorted by name), as torchvision's ImageFolder does. Off by default:
            folders of photos are not always classes. Every image must then sit in a class folder.
        cache: decode every image once into a memory-mapped uint8 cache (``$GANZOO_CACHE/decoded``,
            rebuilt when a file, the size or the channels change) instead of on every access.
        cache_dir: where to keep that cache instead (empty: the default).
    """

    default_channels = 3
    default_size = 64

    def __init__(self, classes: bool = False, cache: bool = True, cache_dir: str = "") -> None:
        self.classes, self.cache, self.cache_dir = classes, cache, cache_dir

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
        decoder = Decoder(transform)
        if not self.classes:
            images = FolderImages(paths, decoder)
        else:
            images = FolderImages(paths, decoder, *labels_from_folders(root, paths))
        images.source = str(root)
        return images.use_cache(self.cache_dir) if self.cache else images


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
