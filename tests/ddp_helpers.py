"""Pieces the DDP tests need inside spawned worker processes (so they must be importable)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from ganzoo import Architecture, Discriminator, Generator, ImageSpec, hookimpl

LATENT, BATCH = 4, 8


class TableGenerator(Generator):
    """No BatchNorm, and latents from a fixed table: rank r of N draws rows [r*n, (r+1)*n) of a
    table of N*n rows, so N workers together draw exactly what one worker with N*n draws."""

    def __init__(self, spec: ImageSpec) -> None:
        super().__init__()
        self.latent_dim, self.spec, self.calls = LATENT, spec, 0
        self.net = nn.Sequential(nn.Linear(LATENT, spec.channels * spec.size**2), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, self.spec.channels, self.spec.size, self.spec.size)

    def sample_latent(self, n, *, device=None, generator=None):
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        self.calls += 1
        table = torch.randn(n * world, LATENT, generator=torch.Generator().manual_seed(self.calls))
        return table[rank * n : (rank + 1) * n].to(device)


class LinearCritic(Discriminator):
    def __init__(self, spec: ImageSpec) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(spec.channels * spec.size**2, 6), nn.Tanh()
        )
        self.head = nn.Linear(6, 1)

    def forward_features(self, x):
        h = self.body(x)
        return self.head(h).flatten(), h


class NoBatchNorm(Architecture):
    """A GAN without BatchNorm: per-sample computations, so batch splits change nothing."""

    def build(self, spec):
        return TableGenerator(spec), LinearCritic(spec)


class Plugin:
    @hookimpl
    def register_architectures(self, register):
        register("nobn", NoBatchNorm)


def one_step_worker(rank: int, world: int, port: int, out: str) -> None:
    """Train one step of ``nobn``/``bce`` with batch BATCH per worker; save G and D weights."""
    from ganzoo.config import parse_assignments, resolve
    from ganzoo.plugins import get_host
    from ganzoo.train.distributed import init_from_env
    from ganzoo.train.rundir import RunDir
    from ganzoo.train.trainer import Trainer

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    get_host().add_plugin(Plugin(), "ddp-test")
    ctx = init_from_env("cpu") if world > 1 else None
    config = resolve(
        parse_assignments(
            ["model.name=nobn", "loss.name=bce", "data.name=fake", "data.image_size=16",
             "data.channels=1", "data.params.length=64", f"train.batch_size={BATCH * (2 // world)}",
             "train.steps=1", f"out={out}/run{world}"]
        )
    )  # fmt: skip
    trainer = Trainer(config, RunDir(Path(out) / f"run{world}"), dist=ctx)
    from ganzoo.train.batches import batch_loader

    trainer.train_step(iter(batch_loader(trainer.dataset, trainer.sampler, 0)))
    if rank == 0:
        torch.save(
            {"g": trainer.g.state_dict(), "d": trainer.d.state_dict()}, f"{out}/weights{world}.pt"
        )
    if ctx is not None:
        dist.destroy_process_group()
