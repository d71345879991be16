"""ganzoo: a plugin-based GAN zoo for PyTorch.

Public API for plugin authors: the interfaces (:class:`Architecture`, :class:`Generator`,
:class:`Discriminator`, :class:`Loss`, :class:`LogitLoss`, :class:`Dataset`), the hook marker
:data:`hookimpl`, and the errors a plugin raises to tell the user something.
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import GanzooError, UsageError
from .hookspecs import hookimpl
from .interfaces import (
    Architecture,
    DataRequest,
    Dataset,
    Discriminator,
    Generator,
    ImageSpec,
    LogitLoss,
    Loss,
)
from .layers import LeakyReLU

try:
    __version__ = version("ganzoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Architecture",
    "DataRequest",
    "Dataset",
    "Discriminator",
    "GanzooError",
    "Generator",
    "ImageSpec",
    "LeakyReLU",
    "LogitLoss",
    "Loss",
    "UsageError",
    "__version__",
    "hookimpl",
]
