"""ganzoo's built-in augmentation plugin: diffaugment and ada.

- ``diffaugment``: Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training" (:mod:`.diffaugment`).
- ``ada``: Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"
  (:mod:`.ada`, its transforms in :mod:`.pipeline`).

Both build on the transforms of :mod:`.ops`, which take explicit per-sample parameters.
"""

from ganzoo import hookimpl

from .ada import ADA
from .diffaugment import DiffAugment

__all__ = ["ADA", "DiffAugment"]


@hookimpl
def register_augmentations(register):  # type: ignore[no-untyped-def]
    register(
        "diffaugment",
        DiffAugment,
        description="DiffAugment color, translation, cutout on every D input (Zhao et al. 2020)",
    )
    register(
        "ada",
        ADA,
        description="adaptive discriminator augmentation, p tuned by r_t (Karras et al. 2020)",
    )
