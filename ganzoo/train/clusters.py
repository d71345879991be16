"""Pseudo-labels: balanced k-means clusters of the training images, for conditional GANs on any data.

A class-conditional GAN samples far better than an unconditional one at the same budget (on
Fashion-MNIST a projection D lowers FD from 25 to 7; benchmarks/README.md section 8), but needs
labels. Liu et al. 2020 ("Diverse Image Generation via Self-Conditioned GANs", CVPR) get much of
the gain without them: they cluster the data and condition G and D on the cluster. They cluster
D's features and re-cluster during training; ganzoo clusters once, before training, on a 14x14
thumbnail of each image, which needs no trained network and keeps a run's labels a function of
its data alone (a resumed run recomputes the same ones).

The clusters are **balanced** (sizes differ by at most one), so the uniform labels ``ganzoo
sample`` and ``ganzoo eval`` draw for a conditional G follow the data's own cluster frequencies.
Turn it on with ``data.clusters = K`` on a conditional model, e.g. ``--set data.clusters=10 --set
model.params.conditional=true``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ..labels import image_of

#: the thumbnail the clusters are computed on: images average-pooled to this size
THUMBNAIL = 14
#: k-means iterations at most (it stops earlier once no label changes)
ITERATIONS = 30
#: the clusters' seed: fixed, so that every seed of a study trains on the same clusters
SEED = 0


def thumbnails(data: Dataset[Any], chunk: int = 1024) -> Tensor:
    """``(N, C * 14 * 14)``: each image average-pooled to a 14x14 thumbnail, flattened."""
    n = len(data)  # type: ignore[arg-type]
    out = []
    for start in range(0, n, chunk):
        batch = torch.stack([image_of(data[i]) for i in range(start, min(n, start + chunk))])
        size = min(THUMBNAIL, batch.shape[-1])
        out.append(F.adaptive_avg_pool2d(batch.float(), size).flatten(1))  # (b, C * s * s)
    return torch.cat(out)


def balanced_assignment(distances: Tensor) -> Tensor:
    """Labels ``(N,)`` for ``distances`` ``(N, K)``, each cluster taking ``N // K`` or one more
    point: every point asks for its nearest cluster still open; a cluster asked by more points
    than it has room for keeps the nearest and closes; the rest ask again."""
    n, k = distances.shape
    room = torch.full((k,), n // k, dtype=torch.long)
    room[: n % k] += 1
    labels = torch.full((n,), -1, dtype=torch.long)
    d = distances.clone()
    while (labels < 0).any():
        waiting = (labels < 0).nonzero().squeeze(1)  # (W,)
        nearest, choice = d[waiting].min(1)  # (W,), (W,)
        for j in choice.unique().tolist():
            asking = waiting[choice == j]
            if len(asking) > room[j]:  # over-asked: keep the nearest, then close
                keep = nearest[choice == j].argsort()[: int(room[j])]
                asking = asking[keep]
            labels[asking] = j
            room[j] -= len(asking)
            if room[j] == 0:
                d[:, j] = float("inf")
    return labels


def balanced_kmeans(features: Tensor, k: int, seed: int = SEED) -> Tensor:
    """Balanced k-means labels ``(N,)`` in ``[0, k)`` of ``features`` ``(N, F)``: k-means++
    seeding (Arthur & Vassilvitskii 2007), then Lloyd iterations with
    :func:`balanced_assignment` in place of the nearest-centre step."""
    n = features.shape[0]
    if not 2 <= k <= n:
        raise ValueError(f"k must be from 2 to the number of images ({n}), got {k}")
    rng = torch.Generator().manual_seed(seed)
    centres = [features[torch.randint(n, (1,), generator=rng)].squeeze(0)]
    for _ in range(k - 1):  # k-means++: the next centre far from the ones so far
        d2 = torch.cdist(features, torch.stack(centres)).min(1).values.square()  # (N,)
        centres.append(features[torch.multinomial(d2 + 1e-12, 1, generator=rng)].squeeze(0))
    c = torch.stack(centres)  # (K, F)
    labels = torch.full((n,), -1, dtype=torch.long)
    for _ in range(ITERATIONS):
        new = balanced_assignment(torch.cdist(features, c))
        if torch.equal(new, labels):
            break
        labels = new
        c = torch.stack([features[labels == j].mean(0) for j in range(k)])
    return labels


class ClusterLabelled(Dataset[Any]):
    """``data`` with each image labelled by its cluster: items ``(image, cluster)``, classes
    ``cluster 0`` ... ``cluster K-1`` (any labels ``data`` had are replaced)."""

    def __init__(self, data: Dataset[Any], k: int, seed: int = SEED) -> None:
        self.data = data
        self.labels = balanced_kmeans(thumbnails(data), k, seed)  # (N,)
        self.classes = [f"cluster {j}" for j in range(k)]
        self.source = getattr(data, "source", None)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return image_of(self.data[index]), self.labels[index]
