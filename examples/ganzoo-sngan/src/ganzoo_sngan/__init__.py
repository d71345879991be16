"""ganzoo-sngan: SNGAN's ResNet architecture for ganzoo, as a third-party plugin.

Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018, arXiv:1802.05957. Written against ganzoo's public API only
(``from ganzoo import ...``).
"""

from importlib.metadata import PackageNotFoundError, version

from ganzoo import hookimpl

from .model import SIZES, SNGAN, SNGANDiscriminator, SNGANGenerator

try:
    __version__ = version("ganzoo-sngan")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["SIZES", "SNGAN", "SNGANDiscriminator", "SNGANGenerator", "__version__"]


@hookimpl
def register_architectures(register):  # type: ignore[no-untyped-def]
    register(
        "sngan",
        SNGAN,
        description="SNGAN ResNet, spectral norm in D (Miyato et al. 2018); 16, 28, 32, 64",
    )
