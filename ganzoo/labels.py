"""Labelled data, the one convention: items ``(image, label)`` and the class names in ``classes``.

A dataset plugin's ``load`` returns a torch dataset; it is labelled when its items are
``(image, label)`` pairs (``label`` an int in ``[0, K)``) and its ``classes`` attribute lists the K
class names, as torchvision's datasets do. Plain image items mean unlabelled data. These helpers
read either kind, so code that only wants images never has to care.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from .errors import UnknownNameError, UsageError

#: the labelled built-in datasets, for messages that ask for one
LABELLED_DATA = (
    "fashion-mnist, mnist, cifar10, svhn, folder with --set data.params.classes=true, or fake "
    "with --set data.params.classes=N"
)


def class_names(dataset: object) -> list[str]:
    """The dataset's class names (``[]`` when unlabelled)."""
    classes = getattr(dataset, "classes", None) or []
    return [str(c) for c in classes]


def image_of(item: Any) -> Tensor:
    """The image of a dataset item, labelled ``(image, label)`` or not."""
    return item[0] if isinstance(item, tuple | list) else item


def split_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
    """A DataLoader batch -> ``(images (B, C, H, W), labels (B,) or None)``."""
    if isinstance(batch, tuple | list):
        return batch[0], batch[1]
    return batch, None


def normalise(name: str) -> str:
    """``"T-shirt/top"``, ``"t_shirt top"`` -> ``"tshirttop"``: class names as users type them."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def class_index(requested: str | int, classes: Sequence[str]) -> int:
    """A class given by index (``3``) or by name (``sneaker``, any case or punctuation)."""
    if not classes:
        raise UsageError("this run's generator is unconditional (it takes no labels); drop --class")
    text = str(requested).strip()
    by_name = {normalise(c): i for i, c in enumerate(classes)}
    if normalise(text) in by_name and not text.lstrip("-").isdigit():
        return by_name[normalise(text)]
    if text in classes:  # a folder class named "10": the name wins over the index
        return list(classes).index(text)
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(classes):
            raise UsageError(
                f"--class {index} is out of range: this run has classes 0..{len(classes) - 1}"
            )
        return index
    raise UnknownNameError("class", text, list(classes))
