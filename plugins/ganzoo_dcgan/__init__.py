"""ganzoo's built-in DCGAN plugin, registered through an entry point like any third-party plugin."""

from ganzoo import hookimpl

from .model import DCGAN, DCGANDiscriminator, DCGANGenerator

__all__ = ["DCGAN", "DCGANDiscriminator", "DCGANGenerator"]


@hookimpl
def register_architectures(register):  # type: ignore[no-untyped-def]
    register("dcgan", DCGAN, description="DCGAN (Radford et al. 2015), any size 28 or 2^k >= 16")
