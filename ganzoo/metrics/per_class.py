"""Metrics of class-conditional generators: intra-class FD and the accuracy of a classifier on
generated images against the labels they were generated for.

Intra-class FD (used by StudioGAN and Miyato & Koyama 2018 as "intra FID") is the Frechet distance
between the features of G's images of class c and the reference images of class c, for each c;
its mean over classes and its worst class show what the overall FD hides (a generator that draws
every class well but mixes them up scores a good FD and a poor intra-class FD). The accuracy
needs an extractor whose classifier knows the data's classes: the ``ganzoo-fmnist`` domain
classifier on Fashion-MNIST (about 90% on real test images: the ceiling generated images reach).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import GanzooError
from ..interfaces import Generator
from ..labels import image_of
from . import domain
from .extractors import Extractor
from .frechet import frechet_distance_of
from .inputs import to_uint8_rgb


def reference_by_class(reference: Dataset[Any], num_classes: int) -> list[list[int]]:
    """Indices of the labelled ``reference`` items, grouped by class."""
    groups: list[list[int]] = [[] for _ in range(num_classes)]
    labels = getattr(reference, "labels", None)
    if labels is not None:  # the built-in in-memory datasets: no item decoding
        for index, label in enumerate(torch.as_tensor(labels).tolist()):
            groups[label].append(index)
        return groups
    for index in range(len(reference)):  # type: ignore[arg-type]
        item = reference[index]
        if not isinstance(item, tuple | list):
            raise GanzooError(
                "intra-class FD needs a labelled reference split, and this one has no labels; "
                "put the split's label file beside its images"
            )
        groups[int(item[1])].append(index)
    return groups


class FeatureNet:
    """An extractor's features (and, where it has them, class logits) for uint8 images."""

    def __init__(self, extractor: Extractor, device: torch.device, with_logits: bool) -> None:
        from torch_fidelity.utils import create_feature_extractor

        features = [extractor.feature_layer] + (["logits_unbiased"] if with_logits else [])
        self.net = create_feature_extractor(
            extractor.fidelity_name,
            features,
            cuda=device.type == "cuda",
            feature_extractor_weights_path=str(extractor.weights) if extractor.weights else None,
            verbose=False,
        )
        self.device, self.with_logits = device, with_logits

    @torch.no_grad()
    def __call__(self, images: Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 ``(N, 3, H, W)`` -> features ``(N, F)`` and logits ``(N, K)`` (or None)."""
        feats, logits = [], []
        for start in range(0, images.shape[0], batch_size):
            out = self.net(images[start : start + batch_size].to(self.device))
            feats.append(out[0].double().cpu())
            if self.with_logits:
                logits.append(out[1].cpu())
        return (
            torch.cat(feats).numpy(),
            torch.cat(logits).numpy() if self.with_logits else None,
        )


@torch.no_grad()
def generate_class(generator: Generator, label: int, n: int, seed: int, batch_size: int) -> Tensor:
    """``n`` uint8 ``(n, 3, H, W)`` images of class ``label``, latents seeded by ``(seed, label)``."""
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed * 1_000_003 + label)
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z = generator.sample_latent(m, generator=rng).to(device)
        y = torch.full((m,), label, dtype=torch.int64, device=device)
        out.append(to_uint8_rgb(generator(z, y)).cpu())
    return torch.cat(out)


def class_metrics(
    generator: Generator,
    reference: Dataset[Any],
    classes: Sequence[str],
    extractor: Extractor,
    *,
    dataset: str,
    num_samples: int,
    seed: int,
    batch_size: int,
    device: torch.device,
    distance: str = "fd",
) -> dict[str, Any]:
    """Intra-class FD (mean, worst, per class) and, where the extractor classifies the data's
    classes, the accuracy on generated images; ``num_samples`` split evenly over the classes.
    ``distance`` names the FD keys (``fd``, or ``fid`` in Inception features)."""
    k = len(classes)
    groups = reference_by_class(reference, k)
    with_logits = extractor.name == domain.NAME and dataset == "fashion-mnist"
    net = FeatureNet(extractor, device, with_logits)
    per_class: dict[str, float] = {}
    correct = total = 0
    n = max(10, num_samples // k)
    for label, name in enumerate(classes):
        if len(groups[label]) < 2:
            continue  # no reference for this class: no FD
        ref = torch.stack(
            [to_uint8_rgb(image_of(reference[i]).unsqueeze(0))[0] for i in groups[label]]
        )
        ref_features, _ = net(ref, batch_size)
        fake_features, logits = net(
            generate_class(generator, label, n, seed, batch_size), batch_size
        )
        per_class[name] = frechet_distance_of(fake_features, ref_features)
        if logits is not None:
            correct += int((logits.argmax(1) == label).sum())
            total += logits.shape[0]
    if not per_class:
        raise GanzooError(
            "intra-class FD: no class has 2 or more reference images in this split; use "
            "another --ref split"
        )
    values = list(per_class.values())
    metrics: dict[str, float] = {
        f"{distance}_class_mean": float(np.mean(values)),
        f"{distance}_class_worst": float(np.max(values)),
    }
    if total:
        metrics["class_accuracy"] = correct / total
    return {
        "metrics": metrics,
        "per_class_fd": per_class,
        "worst_class": max(per_class, key=per_class.__getitem__),
        "samples_per_class": n,
        "accuracy_classifier": domain.NAME if total else None,
    }
