"""The training loop shared by every architecture, loss and dataset.

One generator step is: ``d_steps`` discriminator updates, each on a fresh real batch and a fresh
fake batch, then one generator update on the last fake batch (as in the DCGAN reference code).
Losses stay on the device and are read every ``log.every`` steps, where a NaN/inf stops the run
before any checkpoint can store it.
"""

from __future__ import annotations

import math
import random
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import __version__
from ..config import RunConfig
from ..errors import GanzooError, UsageError
from ..interfaces import Discriminator, Generator
from ..labels import split_batch
from .batches import EpochBatchSampler, batch_loader
from .build import Components, build_models, load_data
from .compiling import compile_models, copy_of_call, is_compile_error, uncompile_models
from .device import amp_dtype, autocast, peak_memory_mb, resolve_device, slow_amp_warning
from .distributed import (
    DistContext,
    DistributedDiscriminator,
    DistributedGenerator,
    all_reduce_mean,
    any_rank,
    no_sync,
)
from .ema import EMA
from .images import SampleGrid
from .optim import build_optimizers
from .progress import TrainingProgress
from .reporting import plot_losses
from .rundir import RunDir, provenance
from .state import TrainingState
from .step import StepParts, StepRunner
from .tensorboard import TensorBoardLog

DEFAULT_EPOCHS = 5.0


class Interrupted(GanzooError):
    """Ctrl-C: a checkpoint was saved."""

    exit_code = 130


class NonFiniteLoss(GanzooError):
    """A loss became NaN or inf."""


class Trainer:
    """The loop around the step: ``config`` trained into ``run_dir`` (logging, samples,
    checkpoints, Ctrl-C); ``resume`` continues from the run's last checkpoint.

    The step itself is :class:`~ganzoo.train.step.StepRunner`; everything that carries over from
    one step to the next is :class:`~ganzoo.train.state.TrainingState` (``self.state``).
    """

    def __init__(
        self,
        config: RunConfig,
        run_dir: RunDir,
        *,
        resume: bool = False,
        dist: DistContext | None = None,
    ) -> None:
        self.config, self.run_dir = config, run_dir
        self.dist = dist if dist is not None and dist.world_size > 1 else None
        self.is_main = self.dist is None or self.dist.is_main
        train = config.train
        self.device = dist.device if dist is not None else resolve_device(train.device)
        if train.deterministic:
            torch.use_deterministic_algorithms(True)
        self.spec, self.dataset, self.classes = load_data(config)
        self.data_source: str | None = getattr(self.dataset, "source", None)
        # what sample/eval read back without the data: the resolved size, channels and classes
        config.data.image_size, config.data.channels = self.spec.size, self.spec.channels
        seed_everything(train.seed)  # the same initial weights on every rank
        self.components: Components = build_models(config, self.spec)
        needed = train.batch_size * (self.dist.world_size if self.dist else 1)
        if len(self.dataset) < needed:  # type: ignore[arg-type]
            raise GanzooError(
                f"dataset '{config.data.name}' has {len(self.dataset)} images, fewer than one "  # type: ignore[arg-type]
                f"global batch of {needed}; lower --batch-size"
            )
        self.memory_format = torch.channels_last if train.channels_last else torch.contiguous_format
        self.g = self.components.generator.to(self.device, memory_format=self.memory_format)
        self.d = self.components.discriminator.to(self.device, memory_format=self.memory_format)
        if train.sync_bn:
            if self.device.type != "cuda":
                raise UsageError("train.sync_bn needs CUDA (SyncBatchNorm has no CPU kernel)")
            self.g = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.g)
            self.d = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.d)
        # what the step calls: DDP wrappers under torch.distributed, the modules themselves otherwise
        g_call: Generator = self.g
        d_call: Discriminator = self.d
        if self.dist is not None:
            g_call = DistributedGenerator(self.g, self.dist)
            d_call = DistributedDiscriminator(self.d, self.dist)
            seed_everything(train.seed + self.dist.rank)  # each rank its own latents
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        self.sampler = EpochBatchSampler(
            len(self.dataset),  # type: ignore[arg-type]
            train.batch_size,
            train.seed,
            rank=rank,
            world_size=world,
        )
        self.total_steps = total_steps(config, self.sampler.batches_per_epoch)
        regularizers = self.components.regularizers
        nets = {"G": self.g, "D": self.d}
        optimizers, schedulers = build_optimizers(
            nets, config.optim, regularizers, self.total_steps
        )
        precision = amp_dtype(self.device, train.amp_dtype) if train.amp else None
        slow = slow_amp_warning(self.device, precision)
        if slow and self.is_main:
            warnings.warn(slow, stacklevel=2)
        # fp16 needs loss scaling; one scaler per optimizer, each updated after its own step
        scalers = {
            net: torch.amp.GradScaler(self.device.type, enabled=precision == torch.float16)
            for net in optimizers
        }
        ema = EMA(self.g, train.ema_decay, train.ema_batchnorm) if train.ema else None
        self.eager_d: Discriminator | None = None
        if train.compile:
            self.eager_d = copy_of_call(self.d)
            compile_models(self.g, self.d, train.compile_mode)
        self.runner = StepRunner(
            StepParts(
                generator=self.g,
                discriminator=self.d,
                generator_call=g_call,
                discriminator_call=d_call,
                discriminator_eager=self.eager_d,
                loss=self.components.loss,
                regularizers=regularizers,
                augmentation=self.components.augmentation,
                optimizers=optimizers,
                scalers=scalers,
                schedulers=schedulers,
                ema=ema,
                entries=self.components.entries,
                autocast=lambda: autocast(self.device, precision),
                no_sync=no_sync,
                d_steps=train.d_steps,
            )
        )
        self.state = TrainingState(
            self.g, self.d, ema, optimizers, schedulers, scalers, self.runner.components,
            world_size=world,
        )  # fmt: skip
        # a fixed latent batch, drawn from its own generator so it never shifts training's RNG;
        # conditional runs show one row per class
        fixed = torch.Generator().manual_seed(train.seed + 12345)
        self.grid = SampleGrid.fixed(self.g, config.log.samples, fixed, self.device)
        self.precision = precision
        if resume:
            self.state.restore(self.run_dir.last_checkpoint, self.dist, self.run_dir.root)
            self.run_dir.truncate_metrics(self.state.step)
        self._stop_requested = self._synced_stop = False
        self.compile_seconds: float | None = None

    @property
    def step(self) -> int:
        return self.state.step

    @property
    def ema(self) -> EMA | None:
        return self.state.ema

    def save_checkpoint(self, path: Path | None = None) -> None:
        """The whole :class:`TrainingState`, with the config and versions; rank 0 writes."""
        self.state.extra_meta = {
            "config": self.config.to_dict(),
            "ganzoo": __version__,
            "torch": torch.__version__,
            "plugins": provenance(self.components.entries),
        }
        if self.ema is not None:
            self.ema.refresh_batchnorm(self.config.train.batch_size, self.step)
        self.state.save(path or self.run_dir.last_checkpoint, self.dist)

    def _prune_checkpoints(self) -> None:
        keep = self.config.log.keep_checkpoints
        steps = sorted(self.run_dir.checkpoints.glob("step_*.safetensors"))
        for old in steps[: max(0, len(steps) - keep)]:
            old.unlink(missing_ok=True)

    def _first_compiled_step(self, batches: Iterator[Any]) -> dict[str, Tensor]:
        """The first step compiles; if compiling fails, warn once and redo the step in eager mode."""
        snapshot = self.state.snapshot()
        started = time.perf_counter()
        try:
            result = self.train_step(batches)
        except Exception as exc:
            if not is_compile_error(exc):
                raise
            warnings.warn(
                f"torch.compile failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "training continues in eager mode",
                stacklevel=2,
            )
            uncompile_models(self.g, self.d)
            self.state.load_snapshot(snapshot)
            self.config.train.compile = False
            if self.is_main:  # config.toml says how the run trains (and resumes): eager
                self.run_dir.config.write_text(self.config.to_toml())
            return self.train_step(batches)
        self.compile_seconds = time.perf_counter() - started
        return result

    def train_step(self, batches: Iterator[Any]) -> dict[str, Tensor]:
        """One generator step (every phase); returns its detached scalars (``d_loss``, ...)."""
        return self.runner.run(self.state.step, lambda: self._next_real(batches))

    def _next_real(self, batches: Iterator[Any]) -> tuple[Tensor, Tensor | None]:
        """The next real batch ``(B, C, H, W)`` on the device, and its labels ``(B,)`` or None."""
        batch, labels = split_batch(next(batches))
        epoch, index = self.state.position
        index += 1
        self.state.position = (
            (epoch + 1, 0) if index == self.sampler.batches_per_epoch else (epoch, index)
        )
        self.state.images_seen += batch.shape[0] * (self.dist.world_size if self.dist else 1)
        images = batch.to(self.device, non_blocking=True, memory_format=self.memory_format)
        return images, None if labels is None else labels.to(self.device, non_blocking=True)

    # ---- the loop -------------------------------------------------------------------------
    def fit(self, progress: TrainingProgress | None = None) -> dict[str, Any]:
        log = self.config.log
        if self.is_main:
            self.run_dir.write_start(
                self.config,
                self.components.entries,
                fresh=self.step == 0,
                classes=self.classes,
                source=self.data_source,
            )
        self.sampler.epoch, self.sampler.batch = self.state.position
        batches = iter(batch_loader(self.dataset, self.sampler, self.config.data.workers))
        progress = progress or TrainingProgress(self.total_steps, self.step, quiet=not self.is_main)
        sums = ScalarSums()
        interval_images, tick = self.state.images_seen, time.perf_counter()
        previous_handler = signal.signal(signal.SIGINT, self._request_stop)
        self.tensorboard = TensorBoardLog(
            self.run_dir.tensorboard if self.is_main else None, self.config
        )
        try:
            with progress:
                while self.step < self.total_steps and not self._should_stop():
                    if self.config.train.compile and self.compile_seconds is None:
                        scalars = self._first_compiled_step(batches)
                        # compile warm-up is reported apart, not averaged into img/s
                        interval_images, tick = self.state.images_seen, time.perf_counter()
                    else:
                        scalars = self.train_step(batches)
                    sums.add(scalars)
                    self.state.step += 1
                    progress.advance(self.step)
                    if self.step % log.every and self.step != self.total_steps:
                        continue
                    seconds = time.perf_counter() - tick  # .tolist() below syncs the device
                    means = sums.means(lambda t: all_reduce_mean(t, self.dist))
                    self._synced_stop = any_rank(self._stop_requested, self.dist, self.device)
                    self.state.train_seconds += seconds
                    row = self._log_row(means, self.state.images_seen - interval_images, seconds)
                    self._check_finite(row, means)
                    progress.report(row)
                    self._side_work()
                    sums.clear()
                    interval_images, tick = self.state.images_seen, time.perf_counter()
        finally:
            signal.signal(signal.SIGINT, previous_handler)
            self.tensorboard.close()
        if self._should_stop():
            self.save_checkpoint()
            raise Interrupted(
                f"interrupted at step {self.step}; checkpoint saved, continue with "
                f"`ganzoo run --resume {self.run_dir.root}`"
            )
        self.save_checkpoint()
        if not self.is_main:
            return {}
        self.save_samples()
        plot_losses(self.run_dir)
        return self._write_summary()

    def _should_stop(self) -> bool:
        """Ctrl-C: at once alone; under DDP at the next log interval, on every rank together."""
        return self._synced_stop if self.dist else self._stop_requested

    def _side_work(self) -> None:
        """Samples and checkpoints at their intervals (only ever after a finite-loss check)."""
        log = self.config.log
        if self.step % log.sample_every == 0 and self.is_main:
            self.save_samples()
        if self.step % log.checkpoint_every == 0:
            self.save_checkpoint()
            self.save_checkpoint(self.run_dir.step_checkpoint(self.step))
            if self.is_main:
                self._prune_checkpoints()

    def _request_stop(self, signum: int, frame: object) -> None:
        if self._stop_requested:  # a second Ctrl-C: stop now, without the checkpoint
            raise KeyboardInterrupt
        self._stop_requested = True

    def _log_row(self, means: dict[str, float], images: int, seconds: float) -> dict[str, Any]:
        row: dict[str, Any] = {
            "step": self.step,
            "epoch": round(
                self.step / max(1, self.sampler.batches_per_epoch) * self.config.train.d_steps, 4
            ),
            **means,
            **{
                f"lr_{n.lower()}": o.param_groups[0]["lr"] for n, o in self.state.optimizers.items()
            },
            "img_per_s": images / seconds if seconds > 0 else 0.0,
            "images_seen": self.state.images_seen,
            "train_seconds": round(self.state.train_seconds, 3),
        }
        for component in self.state.components.values():
            row.update(component.log_values())
        if self.is_main:
            self.run_dir.append_metrics(row)
            self.tensorboard.write(row)
        return row

    def _check_finite(self, row: dict[str, Any], means: dict[str, float]) -> None:
        bad = {k: v for k, v in means.items() if not math.isfinite(v)}
        if not bad:
            return
        last = self.run_dir.last_checkpoint
        kept = (
            f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written"
        )
        first = next(iter(bad))
        key = f"reg.{first[4:]}" if first.startswith("reg_") else "loss"
        if key not in self.components.entries:  # reg_NAME_d / reg_NAME_g of a two-net term
            key = key.rsplit("_", 1)[0]
        entry = self.components.entries[key]
        kind = "regularizer" if key != "loss" else "loss"
        values = ", ".join(f"{k}={v}" for k, v in means.items())
        raise NonFiniteLoss(
            f"{kind} '{entry.qualified_name}' (plugin {entry.plugin}) became non-finite by step "
            f"{self.step} ({values}); {kept}; try a lower --lr or another {kind}"
        )

    # ---- outputs --------------------------------------------------------------------------
    @torch.no_grad()
    def save_samples(self) -> None:
        """A grid from the fixed latent batch, G in eval mode (BatchNorm running statistics)."""
        self.g.eval()
        try:
            with autocast(self.device, self.precision):
                images = self.grid.generate(self.g)
        finally:
            self.g.train()
        self.grid.save(images, self.run_dir.sample_grid(self.step), self.classes)
        self.tensorboard.add_grid(self.step, images, self.grid.nrow or None)

    def _write_summary(self) -> dict[str, Any]:
        import json

        summary = {
            "steps": self.step,
            "images_seen": self.state.images_seen,
            "train_seconds": round(self.state.train_seconds, 3),
            "img_per_s": self.state.images_seen / self.state.train_seconds
            if self.state.train_seconds
            else 0.0,
            "peak_memory_mb": round(peak_memory_mb(self.device), 1),
            "compile_seconds": None
            if self.compile_seconds is None
            else round(self.compile_seconds, 2),
            "device": str(self.device),
            "parameters": {
                "generator": sum(p.numel() for p in self.g.parameters()),
                "discriminator": sum(p.numel() for p in self.d.parameters()),
            },
            "final": (self.run_dir.read_metrics() or [{}])[-1],
        }
        self.run_dir.summary.write_text(json.dumps(summary, indent=2) + "\n")
        return summary


class ScalarSums:
    """Running sums of the step's scalars between log lines (kept on the device: no syncs)."""

    def __init__(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, scalars: dict[str, Tensor]) -> None:
        for key, value in scalars.items():
            if key in self.sums:
                self.sums[key] += value.float()
            else:
                self.sums[key] = value.float().clone()
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self, reduce: Callable[[Tensor], Tensor]) -> dict[str, float]:
        """Interval means (``reduce`` averages them over DDP ranks), in a stable key order."""
        keys = sorted(self.sums, key=lambda k: (k not in ("d_loss", "g_loss"), k))
        if not keys:
            return {}
        stacked = torch.stack([self.sums[k] / self.counts[k] for k in keys])
        return dict(zip(keys, reduce(stacked).tolist(), strict=True))

    def clear(self) -> None:
        self.sums.clear()
        self.counts.clear()


def total_steps(config: RunConfig, batches_per_epoch: int) -> int:
    """Generator steps to run: ``--steps``, else epochs over the data (``d_steps`` batches a step)."""
    if config.train.steps is not None:
        return config.train.steps
    epochs = config.train.epochs if config.train.epochs is not None else DEFAULT_EPOCHS
    return max(1, math.ceil(epochs * batches_per_epoch / config.train.d_steps))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
