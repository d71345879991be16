"""ganzoo: a plugin-based GAN zoo for PyTorch.

Public API for plugin authors: the interfaces (:class:`Architecture`, :class:`Generator`,
:class:`Discriminator`, :class:`Loss`, :class:`LogitLoss`, :class:`Regularizer`,
:class:`Augmentation`, :class:`Dataset`, :class:`Preset`), the hook marker :data:`hookimpl`,
and the errors a plugin raises to tell the user something; :mod:`ganzoo.testing` has the
conformance checks for a plugin's own tests.

For notebooks and scripts: :func:`train` (a config in, a run directory out) and
:func:`load_generator` (a run directory in, a generator out).
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import GanzooError, UsageError
from .hookspecs import hookimpl
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

try:
    __version__ = version("ganzoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from . import train  # noqa: E402  (callable: ganzoo.train(config) -> run directory)
from .api import load_generator  # noqa: E402

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
