"""ganzoo's built-in regularizer plugin: r1, r2, gp, clip, lecam, bcr, acgan.

Choose them with ``--reg NAME`` (repeatable) and set their parameters with
``--set reg.NAME.PARAM=VALUE``; docs/regularizers.md describes each one.
"""

from ganzoo import hookimpl

from .acgan import AuxiliaryClassifier
from .clip import WeightClip
from .consistency import BalancedConsistency, hflip, random_flip_translate, translate
from .gradient import R1, R2, GradientPenalty
from .lecam import LeCam

__all__ = [
    "R1",
    "AuxiliaryClassifier",
    "R2",
    "BalancedConsistency",
    "GradientPenalty",
    "LeCam",
    "WeightClip",
    "hflip",
    "random_flip_translate",
    "translate",
]


@hookimpl
def register_regularizers(register):  # type: ignore[no-untyped-def]
    register("r1", R1, description="gamma/2 * E||grad D(x)||^2 on real images (Mescheder 2018)")
    register("r2", R2, description="gamma/2 * E||grad D(G(z))||^2 on fake images (Mescheder 2018)")
    register(
        "gp",
        GradientPenalty,
        description="gradient penalty at real/fake interpolates (Gulrajani 2017)",
    )
    register(
        "clip", WeightClip, description="clamp D's weights after each step (WGAN, Arjovsky 2017)"
    )
    register("lecam", LeCam, description="anchor D's logits to their moving averages (Tseng 2021)")
    register(
        "bcr",
        BalancedConsistency,
        description="balanced consistency under flips/shifts (Zhao 2021)",
    )
    register(
        "acgan",
        AuxiliaryClassifier,
        description="auxiliary classifier loss for D and G (ACGAN, Odena 2017)",
    )
