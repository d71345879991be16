"""Fashion-MNIST and MNIST: IDX files found offline first, downloaded by torchvision last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest, Dataset

from .idx import read_idx
from .locate import DATA_ENV, download_dir, one_line, search_dirs
from .memory import TensorImages
from .transforms import ImageTransform

#: where Debian's ``dataset-*`` packages put data (``dataset-fashion-mnist`` -> ``fashion-mnist/``).
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
#: split -> the prefix of the IDX file names.
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}


@dataclass(frozen=True)
class IdxSource:
    """One dataset of the MNIST family and where its files may lie."""

    slug: str  # subdirectory name under a search directory, e.g. "fashion-mnist"
    title: str  # for messages, e.g. "Fashion-MNIST"
    torchvision_class: str  # torchvision keeps files in <root>/<class>/raw, e.g. "FashionMNIST"
    classes: tuple[str, ...]  # the names of labels 0..9
    apt_package: str | None = None  # the Debian package that installs the files, if any

    def layouts(self, base: Path) -> list[Path]:
        """The directories under ``base`` that may hold the files."""
        raw = Path(self.torchvision_class) / "raw"
        return [base, base / self.slug, base / raw, base / self.slug / raw]

    def hint(self) -> str:
        """What to provide, for error messages."""
        apt = f", or `apt-get install {self.apt_package}`" if self.apt_package else ""
        return (
            f"provide --data-root DIR or ${DATA_ENV} pointing at a directory holding "
            f"train-images-idx3-ubyte.gz and t10k-images-idx3-ubyte.gz{apt}"
        )


#: Fashion-MNIST's label names (Xiao et al. 2017, Table 1).
FASHION_CLASSES = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
FASHION_MNIST = IdxSource(
    "fashion-mnist", "Fashion-MNIST", "FashionMNIST", FASHION_CLASSES, "dataset-fashion-mnist"
)
MNIST_SOURCE = IdxSource("mnist", "MNIST", "MNIST", tuple(str(d) for d in range(10)))


def image_file_names(split: str) -> list[str]:
    """Accepted names of a split's image file, fastest to read first."""
    prefix = SPLIT_PREFIXES[split]
    return [
        f"{prefix}-images-idx3-ubyte",
        f"{prefix}-images.idx3-ubyte",
        f"{prefix}-images-idx3-ubyte.gz",
    ]


def find_images(source: IdxSource, split: str, bases: Sequence[Path]) -> Path | None:
    """The first image file of ``split`` under ``bases`` (searched in order), if any."""
    names = image_file_names(split)
    for base in bases:
        for directory in source.layouts(base):
            for name in names:
                path = directory / name
                if path.is_file():
                    return path
    return None


def download_idx(source: IdxSource, root: Path) -> None:
    """Download ``source`` with torchvision into ``root/<TorchvisionClass>/raw`` (network)."""
    from torchvision import datasets

    getattr(datasets, source.torchvision_class)(str(root), train=True, download=True)


def label_file_for(image_file: Path) -> Path:
    """``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz`` (any of the accepted names)."""
    return image_file.with_name(image_file.name.replace("images", "labels").replace("idx3", "idx1"))


def read_labels(image_file: Path, count: int) -> Tensor | None:
    """The labels ``(N,)`` int64 stored beside ``image_file``; None without a label file (the
    images then train unconditional models only)."""
    path = label_file_for(image_file)
    if not path.is_file():
        return None
    labels = read_idx(path)
    if labels.shape != (count,):
        raise GanzooError(f"{path}: {labels.shape[0]} labels for {count} images in {image_file}")
    return torch.from_numpy(labels.astype("int64"))


def load_idx(source: IdxSource, request: DataRequest) -> tuple[Tensor, Tensor | None, Path]:
    """Find (or, if allowed, download) and read ``request.split``: images uint8
    ``(N, 1, H, W)``, labels ``(N,)`` (None when no label file lies beside the images) and the
    image file read."""
    if request.split not in SPLIT_PREFIXES:
        raise UsageError(
            f"{source.slug} has splits {', '.join(SPLIT_PREFIXES)}; got '{request.split}'"
        )
    bases = search_dirs(request, system=[SYSTEM_DATA_DIR])
    path = find_images(source, request.split, bases)
    if path is None:
        looked = ", ".join(str(b) for b in bases)
        if not request.download:
            raise GanzooError(f"{source.title} not found (looked in {looked}); {source.hint()}")
        dest = download_dir(request)
        try:
            download_idx(source, dest)
        except Exception as exc:  # any failure of the network or the mirror: say what to provide
            raise GanzooError(
                f"{source.title} not found (looked in {looked}) and downloading it into {dest} "
                f"failed ({one_line(exc)}); {source.hint()}"
            ) from exc
        path = find_images(source, request.split, [dest])
        if path is None:
            raise GanzooError(f"{source.title} download into {dest} left no files; {source.hint()}")
    images = read_idx(path)  # (N, H, W) uint8
    if images.ndim != 3 or images.dtype != "uint8":
        raise GanzooError(
            f"{path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
        )
    labels = read_labels(path, images.shape[0])
    return torch.from_numpy(images).unsqueeze(1), labels, path  # (N, 1, H, W), (N,)


class IdxDataset(Dataset):
    """Base of the MNIST-family datasets: grey 28x28 images and their 10 labels, read from IDX
    files into memory."""

    default_channels = 1
    default_size = 28
    source: ClassVar[IdxSource]

    def load(self, request: DataRequest) -> TensorImages:
        transform = ImageTransform.for_request(request)  # check the request before reading
        images, labels, path = load_idx(self.source, request)
        return TensorImages(images, transform, labels, self.source.classes, str(path))


class FashionMNIST(IdxDataset):
    """Zalando's Fashion-MNIST: 60,000 train / 10,000 test grey 28x28 clothing images.

    Found offline in ``--data-root``, ``$GANZOO_DATA``, ``/usr/share/datasets/fashion-mnist``
    (``apt-get install dataset-fashion-mnist``) or the download cache; downloaded last.
    """

    source = FASHION_MNIST


class MNIST(IdxDataset):
    """LeCun's handwritten digits: 60,000 train / 10,000 test grey 28x28 images."""

    source = MNIST_SOURCE
