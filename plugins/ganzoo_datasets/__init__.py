"""ganzoo's built-in datasets, registered through the plugin API like any third-party package.

``fashion-mnist`` (the default), ``mnist``, ``cifar10``, ``svhn``, ``celeba``, ``folder`` and
``fake``; see docs/datasets.md.
"""

from __future__ import annotations

from typing import Any

from ganzoo.hookspecs import hookimpl

from .fake import Fake
from .folder import Folder
from .mnist import MNIST, FashionMNIST
from .torchvision_sets import CIFAR10, SVHN, CelebA

__all__ = ["CIFAR10", "MNIST", "SVHN", "CelebA", "FashionMNIST", "Fake", "Folder"]


@hookimpl
def register_datasets(register: Any) -> None:
    """Register the built-in datasets."""
    register(
        "fashion-mnist",
        FashionMNIST,
        description="Zalando Fashion-MNIST, grey 28x28; found offline (--data-root, "
        "$GANZOO_DATA, apt-get install dataset-fashion-mnist) or downloaded",
    )
    register("mnist", MNIST, description="MNIST handwritten digits, grey 28x28")
    register("cifar10", CIFAR10, description="CIFAR-10, RGB 32x32, via torchvision")
    register("svhn", SVHN, description="SVHN cropped house numbers, RGB 32x32, via torchvision")
    register(
        "celeba",
        CelebA,
        description="CelebA aligned faces, center-cropped 178 and resized to 64 (DCGAN recipe)",
    )
    register(
        "folder",
        Folder,
        description="every image under --data-root DIR (recursive), RGB 64x64 by default",
    )
    register("fake", Fake, description="deterministic random images for smoke and speed tests")
