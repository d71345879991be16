"""ganzoo-ragan: relativistic GAN losses for ganzoo, as a third-party plugin.

Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element missing from standard
GAN", arXiv:1807.00734. Written against ganzoo's public API only (``from ganzoo import ...``).
"""

from importlib.metadata import PackageNotFoundError, version

from ganzoo import hookimpl

from .loss import VARIANTS, RaGANLoss, relativistic_losses

try:
    __version__ = version("ganzoo-ragan")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["VARIANTS", "RaGANLoss", "__version__", "relativistic_losses"]


@hookimpl
def register_losses(register):  # type: ignore[no-untyped-def]
    register(
        "ragan",
        RaGANLoss,
        description="relativistic average GAN, RaSGAN by default (Jolicoeur-Martineau 2018)",
    )
