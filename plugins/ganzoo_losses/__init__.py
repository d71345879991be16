"""ganzoo's built-in loss plugin: bce, lsgan, hinge, wgan, wgan-gp and mmd."""

from ganzoo import hookimpl

from .adversarial import BCELoss, HingeLoss, LSGANLoss
from .mmd import MMDLoss, mmd2_unbiased
from .wasserstein import WassersteinLoss
from .wgan_gp import WGANGPLoss, gradient_penalty

__all__ = [
    "BCELoss",
    "HingeLoss",
    "LSGANLoss",
    "MMDLoss",
    "WGANGPLoss",
    "WassersteinLoss",
    "gradient_penalty",
    "mmd2_unbiased",
]


@hookimpl
def register_losses(register):  # type: ignore[no-untyped-def]
    register("bce", BCELoss, description="non-saturating BCE GAN loss (Goodfellow et al. 2014)")
    register("lsgan", LSGANLoss, description="least-squares GAN (Mao et al. 2017), a-b-c coding")
    register("hinge", HingeLoss, description="hinge loss (Lim & Ye 2017; Miyato et al. 2018)")
    register("wgan", WassersteinLoss, description="Wasserstein critic loss (Arjovsky et al. 2017)")
    register(
        "wgan-gp", WGANGPLoss, description="Wasserstein loss + gradient penalty (Gulrajani 2017)"
    )
    register("mmd", MMDLoss, description="BCE + lambda * MMD^2 in D's feature space")
