"""Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, the FID formula).

``FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, computed in float64 with scipy's ``sqrtm``
as in the reference TTUR implementation (a small ridge is added when the product is singular).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(F,)`` and covariance ``(F, F)`` of ``features (N, F)``."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_of(features1: np.ndarray, features2: np.ndarray) -> float:
    """FD between two feature sets ``(N, F)`` and ``(M, F)``."""
    return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


def pooled_pixels(images: torch.Tensor, grid: int = 7) -> np.ndarray:
    """A small fixed feature space: images ``(N, C, H, W)`` average-pooled to ``(N, C*grid*grid)``.

    No weights, no download: cheap enough to watch training progress in tests.
    """
    return F.adaptive_avg_pool2d(images.float(), grid).flatten(1).cpu().numpy()
