"""The training loop shared by every architecture, loss and dataset.

One generator step is: ``d_steps`` discriminator updates, each on a fresh real batch and a fresh
fake batch, then one generator update on the last fake batch (as in the DCGAN reference code).
Losses stay on the device and are read every ``log.every`` steps, where a NaN/inf stops the run
before any checkpoint can store it.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..config import RunConfig
from ..errors import GanzooError, UsageError
from ..interfaces import Discriminator, Generator
from .batches import EpochBatchSampler, batch_loader
from .build import Components, build_models, image_spec, load_dataset
from .compiling import compile_models, is_compile_error, uncompile_models
from .device import amp_dtype, autocast, peak_memory_mb, resolve_device
from .distributed import (
    DistContext,
    DistributedDiscriminator,
    DistributedGenerator,
    all_reduce_mean,
    any_rank,
)
from .ema import EMA
from .images import save_grid
from .progress import TrainingProgress
from .reporting import plot_losses
from .rundir import RunDir
from .state import TrainerState
from .tensorboard import TensorBoardLog

DEFAULT_EPOCHS = 5.0


class Interrupted(GanzooError):
    """Ctrl-C: a checkpoint was saved."""

    exit_code = 130


class NonFiniteLoss(GanzooError):
    """A loss became NaN or inf."""


class Trainer(TrainerState):
    """Trains ``config`` into ``run_dir``; ``resume`` continues from its last checkpoint."""

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
        seed_everything(train.seed)  # the same initial weights on every rank
        if train.deterministic:
            torch.use_deterministic_algorithms(True)
        spec, dataset_plugin = image_spec(config)
        self.components: Components = build_models(config, spec)
        self.dataset = load_dataset(config, spec, dataset_plugin)
        needed = train.batch_size * (self.dist.world_size if self.dist else 1)
        if len(self.dataset) < needed:  # type: ignore[arg-type]
            raise GanzooError(
                f"dataset '{config.data.name}' has {len(self.dataset)} images, fewer than one "  # type: ignore[arg-type]
                f"global batch of {needed}; lower --batch-size"
            )
        memory_format = torch.channels_last if train.channels_last else torch.contiguous_format
        self.memory_format = memory_format
        self.g = self.components.generator.to(self.device, memory_format=memory_format)
        self.d = self.components.discriminator.to(self.device, memory_format=memory_format)
        if train.sync_bn:
            if self.device.type != "cuda":
                raise UsageError("train.sync_bn needs CUDA (SyncBatchNorm has no CPU kernel)")
            self.g = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.g)
            self.d = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.d)
        # what the step calls: DDP wrappers under torch.distributed, the modules themselves otherwise
        self.g_train: Generator = self.g
        self.d_train: Discriminator = self.d
        if self.dist is not None:
            self.g_train = DistributedGenerator(self.g, self.dist)
            self.d_train = DistributedDiscriminator(self.d, self.dist)
            seed_everything(train.seed + self.dist.rank)  # each rank its own latents
        self.loss = self.components.loss
        betas = (train.beta1, train.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=train.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=train.lr_d or train.lr, betas=betas)
        self.ema = EMA(self.g, train.ema_decay) if train.ema else None
        # fp16 autocast (GPUs without bf16) needs loss scaling; bf16 and fp32 do not
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=train.amp and amp_dtype(self.device) == torch.float16
        )
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        self.sampler = EpochBatchSampler(
            len(self.dataset),  # type: ignore[arg-type]
            train.batch_size,
            train.seed,
            rank=rank,
            world_size=world,
        )
        self.total_steps = total_steps(config, self.sampler.batches_per_epoch)
        self.step, self.images_seen, self.train_seconds = 0, 0, 0.0
        self.position = (0, 0)  # (epoch, batch) of the next real batch the trainer consumes
        # a fixed latent batch, drawn from its own generator so it never shifts training's RNG
        fixed = torch.Generator().manual_seed(train.seed + 12345)
        self.fixed_z = self.g.sample_latent(config.log.samples, generator=fixed).to(self.device)
        if resume:
            self._restore()
        self._stop_requested = self._synced_stop = False
        self.compile_seconds: float | None = None
        if train.compile:
            compile_models(self.g, self.d)

    def _first_compiled_step(self, batches: Iterator[Any]) -> tuple[Tensor, Tensor]:
        """The first step compiles; if compiling fails, warn once and redo the step in eager mode."""
        snapshot = self._snapshot()
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
            self._load_snapshot(snapshot)
            self.config.train.compile = False
            return self.train_step(batches)
        self.compile_seconds = time.perf_counter() - started
        return result

    def train_step(self, batches: Iterator[list[Tensor] | Tensor]) -> tuple[Tensor, Tensor]:
        """One generator step; returns the (detached) D and G losses of this step."""
        amp = self.config.train.amp
        d_steps = self.config.train.d_steps
        for i in range(d_steps):
            real = self._next_real(batches)
            z = self.g.sample_latent(real.shape[0], device=self.device)
            with autocast(self.device, amp):
                if i < d_steps - 1:
                    with torch.no_grad():
                        fake = self.g_train(z)
                else:
                    fake = self.g_train(z)  # (B, C, H, W), kept with its graph for the G step
                d_loss = self._scalar(
                    self.loss.discriminator_loss(self.d_train, real, fake.detach()),
                    "discriminator_loss",
                )
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)
        # D's weights are constants in G's step: no gradients for them (the next D step would
        # discard them anyway), which saves a third of D's backward
        self.d.requires_grad_(False)
        no_sync = self.d_train.ddp.no_sync() if self.dist else contextlib.nullcontext()
        try:
            with autocast(self.device, amp), no_sync:
                g_loss = self._scalar(
                    self.loss.generator_loss(self.d_train, real, fake), "generator_loss"
                )
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler.scale(g_loss).backward()
        finally:
            self.d.requires_grad_(True)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.g, self.step)
        return d_loss.detach(), g_loss.detach()

    def _scalar(self, value: object, method: str) -> Tensor:
        """A plugin's loss must be a scalar tensor; say which plugin broke that, and how."""
        if isinstance(value, Tensor) and value.ndim == 0:
            return value
        entry = self.components.entries["loss"]
        got = (
            f"a tensor of shape {tuple(value.shape)}"
            if isinstance(value, Tensor)
            else type(value).__name__
        )
        raise GanzooError(
            f"loss '{entry.qualified_name}' (plugin {entry.plugin}, {entry.distribution}): "
            f"{method} returned {got}; it must return a scalar tensor (reduce with .mean())"
        )

    def _next_real(self, batches: Iterator[Any]) -> Tensor:
        batch = next(batches)
        epoch, index = self.position
        index += 1
        self.position = (
            (epoch + 1, 0) if index == self.sampler.batches_per_epoch else (epoch, index)
        )
        self.images_seen += batch.shape[0] * (self.dist.world_size if self.dist else 1)
        return batch.to(self.device, non_blocking=True, memory_format=self.memory_format)

    # ---- the loop -------------------------------------------------------------------------
    def fit(self, progress: TrainingProgress | None = None) -> dict[str, Any]:
        log = self.config.log
        if self.is_main:
            self.run_dir.write_start(self.config, self.components.entries, fresh=self.step == 0)
        self.sampler.epoch, self.sampler.batch = self.position
        batches = iter(batch_loader(self.dataset, self.sampler, self.config.data.workers))
        progress = progress or TrainingProgress(self.total_steps, self.step, quiet=not self.is_main)
        sums = torch.zeros(2, device=self.device)
        interval_steps, interval_images, tick = 0, self.images_seen, time.perf_counter()
        previous_handler = signal.signal(signal.SIGINT, self._request_stop)
        self.tensorboard = TensorBoardLog(self.run_dir.tensorboard if self.is_main else None)
        try:
            with progress:
                while self.step < self.total_steps and not self._should_stop():
                    if self.config.train.compile and self.compile_seconds is None:
                        d_loss, g_loss = self._first_compiled_step(batches)
                        # compile warm-up is reported apart, not averaged into img/s
                        interval_images, tick = self.images_seen, time.perf_counter()
                    else:
                        d_loss, g_loss = self.train_step(batches)
                    sums += torch.stack([d_loss.float(), g_loss.float()])
                    self.step += 1
                    interval_steps += 1
                    progress.advance(self.step)
                    if self.step % log.every and self.step != self.total_steps:
                        continue
                    seconds = time.perf_counter() - tick  # .tolist() below syncs the device
                    d_mean, g_mean = all_reduce_mean(sums / interval_steps, self.dist).tolist()
                    self._synced_stop = any_rank(self._stop_requested, self.dist, self.device)
                    self.train_seconds += seconds
                    row = self._log_row(d_mean, g_mean, self.images_seen - interval_images, seconds)
                    self._check_finite(row)
                    progress.report(row)
                    self._side_work()
                    sums.zero_()
                    interval_steps, interval_images, tick = 0, self.images_seen, time.perf_counter()
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

    def _log_row(self, d: float, g: float, images: int, seconds: float) -> dict[str, Any]:
        row = {
            "step": self.step,
            "epoch": round(
                self.step / max(1, self.sampler.batches_per_epoch) * self.config.train.d_steps, 4
            ),
            "d_loss": d,
            "g_loss": g,
            "img_per_s": images / seconds if seconds > 0 else 0.0,
            "images_seen": self.images_seen,
            "train_seconds": round(self.train_seconds, 3),
        }
        if self.is_main:
            self.run_dir.append_metrics(row)
            self.tensorboard.write(row)
        return row

    def _check_finite(self, row: dict[str, Any]) -> None:
        if math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"]):
            return
        last = self.run_dir.last_checkpoint
        kept = (
            f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written"
        )
        entry = self.components.entries["loss"]
        raise NonFiniteLoss(
            f"loss '{entry.qualified_name}' (plugin {entry.plugin}) became non-finite by step "
            f"{self.step} (d_loss={row['d_loss']}, g_loss={row['g_loss']}); {kept}; "
            "try a lower --lr or another loss"
        )

    # ---- outputs --------------------------------------------------------------------------
    @torch.no_grad()
    def save_samples(self) -> None:
        """A grid from the fixed latent batch, G in eval mode (BatchNorm running statistics)."""
        self.g.eval()
        try:
            with autocast(self.device, self.config.train.amp):
                images = self.g(self.fixed_z)
        finally:
            self.g.train()
        save_grid(images, self.run_dir.sample_grid(self.step))

    def _write_summary(self) -> dict[str, Any]:
        import json

        summary = {
            "steps": self.step,
            "images_seen": self.images_seen,
            "train_seconds": round(self.train_seconds, 3),
            "img_per_s": self.images_seen / self.train_seconds if self.train_seconds else 0.0,
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
