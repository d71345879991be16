"""Optimizers and learning-rate schedules from the ``[optim]`` table.

Any ``torch.optim`` optimizer is found by name (case-insensitive; a typo suggests the closest),
its extra arguments (``optim.params``) are checked against its signature, and ``optim.betas`` is
passed only to optimizers that take betas (Adam, AdamW, NAdam, ...). Lazy regularisation
(Karras et al. 2020) rescales a network's lr and betas by ``ratio = N / (N + 1)`` so that the
regularised optimizer moves as far per step as an unregularised one.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import nn

from ..config import OptimConfig
from ..errors import UnknownNameError, UsageError
from ..interfaces import Regularizer


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """The ``torch.optim`` class called ``name`` (any case)."""
    classes = {
        n: c
        for n, c in vars(torch.optim).items()
        if inspect.isclass(c)
        and issubclass(c, torch.optim.Optimizer)
        and c is not torch.optim.Optimizer
    }
    by_lower = {n.lower(): c for n, c in classes.items()}
    if name.lower() not in by_lower:
        raise UnknownNameError("optimizer (optim.name)", name, sorted(classes))
    return by_lower[name.lower()]


def build_optimizer(
    module: nn.Module, config: OptimConfig, lr: float, ratio: float = 1.0
) -> torch.optim.Optimizer:
    """``config.name`` over ``module``'s parameters at ``lr`` (times the lazy-regularisation ``ratio``)."""
    cls = optimizer_class(config.name)
    accepted = inspect.signature(cls).parameters
    for key in config.params:
        if key not in accepted or key in ("params", "lr"):
            choices = [k for k in accepted if k not in ("params", "lr")]
            raise UnknownNameError(f"argument of {cls.__name__} (optim.params)", key, choices)
    kwargs: dict[str, Any] = dict(config.params)
    if "betas" in accepted and "betas" not in kwargs:
        kwargs["betas"] = tuple(b**ratio for b in config.betas)
    try:
        return cls(module.parameters(), lr=lr * ratio, **kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"optim: {cls.__name__} refused its arguments: {exc}") from None


def lazy_ratio(regularizers: dict[str, Regularizer], net: str) -> float:
    """``N / (N + 1)`` for a network with a lazy regularizer every N steps (smallest N), else 1."""
    intervals = [
        r.interval for r in regularizers.values() if r.target in (net, "both") and r.interval > 1
    ]
    return min(intervals) / (min(intervals) + 1) if intervals else 1.0


def build_optimizers(
    nets: dict[str, nn.Module],
    config: OptimConfig,
    regularizers: dict[str, Regularizer],
    total_steps: int,
) -> tuple[dict[str, torch.optim.Optimizer], dict[str, torch.optim.lr_scheduler.LRScheduler]]:
    """Each network's optimizer (``"G"``: lr, ``"D"``: lr_d or lr; lazy regularizers rescale)
    and its schedule over ``total_steps``."""
    optimizers = {
        net: build_optimizer(
            module,
            config,
            config.lr_d or config.lr if net == "D" else config.lr,
            lazy_ratio(regularizers, net),
        )
        for net, module in nets.items()
    }
    schedulers = {
        net: build_scheduler(optimizer, config, total_steps)
        for net, optimizer in optimizers.items()
    }
    return optimizers, schedulers


def schedule_factor(config: OptimConfig, total_steps: int):  # type: ignore[no-untyped-def]
    """``step -> lr multiplier``: linear warm-up, then constant, linear or cosine decay to 0."""
    warmup, schedule = config.warmup_steps, config.schedule

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if schedule == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))  # cosine

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """One scheduler step per generator step (D's scheduler too, whatever d_steps is)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(config, total_steps))
