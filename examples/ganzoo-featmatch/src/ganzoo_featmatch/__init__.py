"""ganzoo-featmatch: feature matching and the improved-gan preset, as a third-party plugin.

Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen 2016, "Improved Techniques for Training
GANs", NeurIPS 2016, arXiv:1606.03498. Written against ganzoo's public API only
(``from ganzoo import ...``).
"""

from importlib.metadata import PackageNotFoundError, version

from ganzoo import Preset, hookimpl

from .regularizer import FeatureMatching, feature_matching

try:
    __version__ = version("ganzoo-featmatch")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["IMPROVED_GAN", "FeatureMatching", "__version__", "feature_matching"]

#: The paper's CIFAR-10 settings (openai/improved-gan, train_cifar_feature_matching.py):
#: Adam with lr 3e-4 and beta1 0.5, one D step per G step, feature matching for G.
IMPROVED_GAN = Preset(
    {
        "loss": {"name": "bce"},
        "reg": {"feature-matching": {"weight": 1.0}},
        "train": {"d_steps": 1},
        "optim": {"name": "Adam", "lr": 3e-4, "betas": [0.5, 0.999]},
    },
    source=(
        "Salimans et al. 2016 (Improved GAN): feature matching, Adam lr 3e-4, beta1 0.5, "
        "1 D step (openai/improved-gan, CIFAR-10)"
    ),
    description="BCE plus feature matching for G, with Improved GAN's Adam settings",
)


@hookimpl
def register_regularizers(register):  # type: ignore[no-untyped-def]
    register(
        "feature-matching",
        FeatureMatching,
        description="G matches the mean of D's features on real data (Salimans et al. 2016)",
    )


@hookimpl
def register_presets(register):  # type: ignore[no-untyped-def]
    register("improved-gan", IMPROVED_GAN, description=IMPROVED_GAN.description)
