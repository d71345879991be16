"""What a run would do, worked out without training: ``ganzoo run --dry-run``.

Everything a real run resolves before its first step: each component's plugin and the value of
every parameter (set or default, checked against the plugin's signature), the optimizer and its
arguments, the image spec, the dataset's length (which means loading it) and the number of steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import RunConfig
from ..errors import GanzooError
from ..params import check_params, describe_params
from ..plugins import get_host
from ..registry import Entry
from .build import load_data
from .optim import build_optimizer
from .trainer import DEFAULT_EPOCHS, total_steps


@dataclass
class ComponentPlan:
    """One plugin of the run: its entry and every parameter's value, with the defaults."""

    table: str  # where its parameters live in the config: model.params, reg.r1, ...
    entry: Entry
    values: dict[str, Any]  # every parameter: the value the run uses
    defaults: dict[str, Any]  # every parameter with a default
    set_keys: set[str] = field(default_factory=set)  # the ones the config sets


@dataclass
class RunPlan:
    channels: int
    size: int
    images: int  # the dataset's length
    batches_per_epoch: int  # generator steps per epoch need d_steps of them
    steps: int
    components: list[ComponentPlan]
    classes: list[str] = field(default_factory=list)  # the data's class names; []: unlabelled


def plan_run(config: RunConfig, world_size: int = 1) -> RunPlan:
    """Resolve ``config`` as a run of ``world_size`` workers would, without building the models."""
    host = get_host()
    wanted = [
        ("model.params", host.architectures.get(config.model.name), config.model.params),
        ("loss.params", host.losses.get(config.loss.name), config.loss.params),
        ("data.params", host.datasets.get(config.data.name), config.data.params),
        *((f"reg.{n}", host.regularizers.get(n), p) for n, p in config.reg.items()),
    ]
    if config.aug.name:
        wanted.append(("aug.params", host.augmentations.get(config.aug.name), config.aug.params))
    components = [component_plan(table, entry, params) for table, entry, params in wanted]
    optim = config.optim
    for lr in (optim.lr, optim.lr_d or optim.lr):  # the name, optim.params and torch's own checks
        build_optimizer(torch.nn.Linear(1, 1), optim, lr)
    spec, dataset, classes = load_data(config, host)  # as the trainer loads it
    images = len(dataset)  # type: ignore[arg-type]
    needed = config.train.batch_size * world_size
    if images < needed:  # the trainer's own check, before anything trains
        raise GanzooError(
            f"dataset '{config.data.name}' has {images} images, fewer than one global batch of "
            f"{needed}; lower --batch-size"
        )
    batches = images // needed
    steps = total_steps(config, batches)
    return RunPlan(spec.channels, spec.size, images, batches, steps, components, classes)


def component_plan(table: str, entry: Entry, params: dict[str, Any]) -> ComponentPlan:
    section = table.split(".")[0]
    checked = check_params(entry, params, section, table)
    described = describe_params(entry.factory)
    defaults = {p.name: p.default for p in described if not p.required}
    values = {p.name: checked.get(p.name, p.default) for p in described}
    return ComponentPlan(table, entry, values, defaults, set(checked))


def steps_reason(config: RunConfig, plan: RunPlan) -> str:
    """How ``plan.steps`` follows from the config."""
    if config.train.steps is not None:
        return "train.steps"
    epochs = config.train.epochs if config.train.epochs is not None else DEFAULT_EPOCHS
    default = "" if config.train.epochs is not None else ", the default"
    d_steps = config.train.d_steps
    per_step = f" / {d_steps} D steps per G step" if d_steps > 1 else ""
    exact = epochs * plan.batches_per_epoch / d_steps
    rounded = "" if exact == math.ceil(exact) else " (rounded up)"
    return f"{epochs:g} epochs{default} x {plan.batches_per_epoch} batches{per_step}{rounded}"
