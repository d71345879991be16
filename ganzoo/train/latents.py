"""Latent batches beyond plain draws: seeds, truncation, slerp paths and random walks.

Truncation assumes the N(0, I) prior of :meth:`ganzoo.Generator.sample_latent` and is refused
for a generator that overrides it; slerp and the walk keep N(0, I) draws typical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ..errors import UsageError
from ..interfaces import Generator

#: the angle each random-walk step turns toward a fresh draw (radians): small steps, smooth walks
WALK_ANGLE = 0.2


def truncated_normal(
    n: int, dim: int, psi: float, *, generator: torch.Generator | None = None
) -> Tensor:
    """``(n, dim)`` draws of N(0, I) with every component resampled until ``|z_i| <= psi``.

    Drawn in one pass by the inverse CDF of the truncated normal (exactly the distribution
    resampling gives, without a loop that small ``psi`` would make long).
    """
    if psi <= 0:
        raise ValueError(f"psi must be > 0, got {psi}")
    edge = torch.special.ndtr(torch.tensor(psi, dtype=torch.float64))
    u = torch.rand(n, dim, generator=generator, dtype=torch.float64)
    z = torch.special.ndtri((1 - edge) + u * (2 * edge - 1))  # uniform on [Phi(-psi), Phi(psi)]
    return z.clamp(-psi, psi).float()


#: ``(n, seed) -> (n, latent_dim)``: the latents ``seed`` gives, the same for the same arguments
LatentDraw = Callable[[int, int], Tensor]


def prior_draw(generator: Generator, truncation: float | None = None) -> LatentDraw:
    """Draws from ``generator``'s prior (its ``sample_latent``), or truncated N(0, I) draws.

    Truncation is defined for the N(0, I) prior only: a generator that overrides
    ``sample_latent`` draws from a prior of its own, and asking to truncate it is a usage error.
    """
    if truncation is None:
        return lambda n, seed: generator.sample_latent(
            n, generator=torch.Generator().manual_seed(seed)
        )
    if truncation <= 0:
        raise UsageError(f"--truncation must be > 0, got {truncation}")
    if type(generator).sample_latent is not Generator.sample_latent:
        raise UsageError(
            f"--truncation assumes N(0, I) latents, but {type(generator).__name__} overrides "
            "sample_latent with a prior of its own; sample without --truncation"
        )
    dim = generator.latent_dim
    return lambda n, seed: truncated_normal(
        n, dim, truncation, generator=torch.Generator().manual_seed(seed)
    )


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation from ``a`` to ``b`` (both ``(D,)``) at fractions ``t`` ``(T,)``.

    Linear paths between N(0, I) draws pass close to the origin, where the prior has almost no
    mass; slerp keeps the norm typical all the way (White 2016, "Sampling Generative Networks").
    """
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    t = t[:, None]
    if torch.sin(omega).abs() < 1e-6:  # (anti)parallel: the great circle is undefined
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolation(keyframes: Tensor, steps: int) -> Tensor:
    """Slerp paths through ``keyframes`` ``(K, D)``: ``steps`` latents per segment, each segment
    from one keyframe to the next, both included: ``((K - 1) * steps, D)``."""
    t = torch.linspace(0.0, 1.0, steps)
    segments = [slerp(keyframes[i], keyframes[i + 1], t) for i in range(len(keyframes) - 1)]
    return torch.cat(segments)


def seed_keyframes(seeds: Sequence[int], draw: LatentDraw) -> Tensor:
    """One latent per seed, the one ``ganzoo sample -n 1 --seed S`` draws: ``(len(seeds), D)``."""
    return torch.cat([draw(1, s) for s in seeds])


def random_walk(
    starts: Tensor,
    steps: int,
    *,
    draw: LatentDraw,
    seed: int,
    angle: float = WALK_ANGLE,
) -> Tensor:
    """``len(starts)`` walks of ``steps`` latents each, walk by walk: ``(n * steps, D)``.

    The steps' draws come from ``draw`` with ``seed``. Each step is ``z <- cos(angle) z + sin(angle) eps`` with a fresh draw ``eps``: for an N(0, I)
    start every point of the walk is again N(0, I), so the walk never drifts off the prior.
    """
    n, dim = starts.shape
    noise = draw((steps - 1) * n, seed).view(steps - 1, n, dim)
    points = [starts]
    for eps in noise:
        points.append(math.cos(angle) * points[-1] + math.sin(angle) * eps)
    return torch.stack(points, dim=1).reshape(n * steps, dim)
