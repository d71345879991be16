"""ganzoo: a plugin-based GAN zoo for PyTorch.

Public API for plugin authors: the interfaces (:class:`Architecture`, :class:`Generator`,
:class:`Discriminator`, :class:`Loss`, :class:`LogitLoss`, :class:`Regularizer`,
:class:`Augmentation`, :class:`Dataset`, :class:`Preset`), the hook marker :data:`hookimpl`,
and the errors a plugin raises to tell the user something; :mod:`ganzoo.testing` has the
conformance checks for a plugin's own tests.

For notebooks and scripts: :func:`train` (a config in, a run directory out) and
:func:`load_generator` (a run directory in, a generator out).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import GanzooError, UsageError
from .hookspecs import hookimpl

try:
    __version__ = version("ganzoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

# Names that need torch are imported on first use: `ganzoo --version` and `--help` never pay the
# seconds importing torch takes. {name: module that defines it}
_LAZY = {
    **dict.fromkeys(
        (
            "Architecture",
            "Augmentation",
            "DataRequest",
            "Dataset",
            "Discriminator",
            "Generator",
            "ImageSpec",
            "LogitLoss",
            "Loss",
            "Preset",
            "Regularizer",
            "Stateful",
        ),
        ".interfaces",
    ),
    "LeakyReLU": ".layers",
    "load_generator": ".api",
}

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import train
    from .api import load_generator
    from .interfaces import (
        Architecture,
        Augmentation,
        DataRequest,
        Dataset,
        Discriminator,
        Generator,
        ImageSpec,
        LogitLoss,
        Loss,
        Preset,
        Regularizer,
        Stateful,
    )
    from .layers import LeakyReLU


def __getattr__(name: str) -> Any:
    if name == "train":  # callable: ganzoo.train(config) -> run directory
        return importlib.import_module(".train", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Architecture",
    "Augmentation",
    "DataRequest",
    "Dataset",
    "Discriminator",
    "GanzooError",
    "Generator",
    "ImageSpec",
    "LeakyReLU",
    "LogitLoss",
    "Loss",
    "Preset",
    "Regularizer",
    "Stateful",
    "UsageError",
    "__version__",
    "hookimpl",
    "load_generator",
    "train",
]
