"""Read a finished (or interrupted) run back: its config and its generator from a checkpoint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig, merge, read_toml, resolve
from ..errors import GanzooError, UnknownNameError, UsageError
from ..interfaces import Generator, ImageSpec
from . import checkpoint as ckpt
from .batchnorm import SAMPLING_MODES, recompute_batchnorm, recompute_seed
from .build import build_models, image_spec
from .rundir import RunDir


def load_run_config(run_dir: RunDir) -> RunConfig:
    if not run_dir.config.exists():
        raise UsageError(f"{run_dir.root} is not a ganzoo run directory (no config.toml)")
    return resolve(base=merge(RunConfig().to_dict(), read_toml(run_dir.config)))


def run_spec(run_dir: RunDir, config: RunConfig) -> ImageSpec:
    """The spec the run trained on, from its own files: no dataset is read (older runs that did
    not store their size or channels fall back to the dataset's defaults)."""
    data = config.data
    if data.image_size and data.channels:
        spec = ImageSpec(channels=data.channels, size=data.image_size)
    else:
        spec = image_spec(config)[0]
    return replace(spec, num_classes=len(run_dir.read_classes()))


def load_generator(
    run_dir: RunDir,
    *,
    ema: bool = False,
    checkpoint: Path | None = None,
    device: torch.device | str = "cpu",
    batchnorm: str = "running",
) -> tuple[Generator, dict[str, Any]]:
    """The run's generator (or its EMA) in eval mode, and the checkpoint's metadata.

    ``batchnorm="recompute"`` re-estimates G's BatchNorm statistics for the checkpoint's weights
    (:mod:`ganzoo.train.batchnorm`) with the run's batch size; ``"running"`` keeps the saved ones.
    """
    if batchnorm not in SAMPLING_MODES:
        raise UnknownNameError("batchnorm mode", batchnorm, SAMPLING_MODES)
    config = load_run_config(run_dir)
    generator = build_models(config, run_spec(run_dir, config)).generator
    tensors, meta = ckpt.read_checkpoint(checkpoint or run_dir.last_checkpoint)
    prefix = "ema" if ema else "g"
    state = ckpt.strip_prefix(prefix, tensors)
    if not state:
        raise GanzooError(f"{run_dir.root} has no EMA generator; train with --ema or drop --ema")
    generator.load_state_dict(state)
    generator.to(device).eval()
    if batchnorm == "recompute":
        recompute_batchnorm(generator, config.train.batch_size, recompute_seed(meta["step"]))
    return generator, meta
