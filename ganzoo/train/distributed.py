"""Data-parallel training on ``torch.distributed``: DDP for G and D, launched by torchrun's
elastic launcher (``ganzoo run --nproc-per-node N``) or by ``torchrun -m ganzoo run ...``.

Every rank draws its own latents (seed + rank) and reads its own slice of each global batch
(see :class:`~ganzoo.train.batches.EpochBatchSampler`); gradients are averaged by DDP, so N workers
with batch B take the same step as one worker with batch N*B (BatchNorm statistics aside, which
are per worker unless ``train.sync_bn`` converts them to SyncBatchNorm on CUDA).
Rank 0 alone writes logs, samples, checkpoints and the summary. Starting workers is
:mod:`ganzoo.train.launch`'s job; this module holds the process group and collectives only.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP

from ..errors import UsageError
from ..interfaces import Discriminator, Generator


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_from_env(device_name: str) -> DistContext:
    """Join the process group torchrun (or our launcher) set up: NCCL on GPUs, gloo on CPU."""
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    use_cuda = (
        device_name in ("auto", "cuda")
        and torch.cuda.is_available()
        or device_name.startswith("cuda")
    )
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise UsageError(
                f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible); "
                "start fewer processes per node or use --device cpu"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistContext(rank, world, local_rank, device)


def all_reduce_mean(values: Tensor, ctx: DistContext | None) -> Tensor:
    if ctx is None or ctx.world_size == 1:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / ctx.world_size


def any_rank(flag: bool, ctx: DistContext | None, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (so all ranks stop at the same step)."""
    if ctx is None or ctx.world_size == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class _Features(nn.Module):
    """DDP wraps ``forward``; route it to ``forward_features`` so feature losses sync too."""

    def __init__(self, discriminator: Discriminator) -> None:
        super().__init__()
        self.discriminator = discriminator

    def forward(self, x: Tensor, y: Tensor | None = None, classes: bool = False) -> Any:
        if classes:  # x: features (B, F) -> ACGAN class logits (B, K), synced like the rest
            return self.discriminator.class_logits(x)
        return self.discriminator.forward_features(*((x,) if y is None else (x, y)))


class DistributedDiscriminator(Discriminator):
    """A Discriminator whose calls go through DDP (gradient averaging across ranks)."""

    def __init__(self, discriminator: Discriminator, ctx: DistContext) -> None:
        super().__init__()
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        # an auxiliary classifier head (ACGAN) gets no gradient in phases that do not classify
        # (a lazy R1 phase): DDP must look for unused parameters then, or its next step fails
        head = type(discriminator).class_logits is not Discriminator.class_logits
        self.ddp = DDP(_Features(discriminator), device_ids=ids, find_unused_parameters=head)
        self.num_classes = discriminator.num_classes

    def forward_features(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.ddp(x) if y is None else self.ddp(x, y)

    def class_logits(self, features: Tensor) -> Tensor | None:
        return self.ddp(features, classes=True)


class DistributedGenerator(Generator):
    def __init__(self, generator: Generator, ctx: DistContext) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = generator.latent_dim, generator.num_classes
        self.inner = generator
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        self.ddp = DDP(generator, device_ids=ids)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.ddp(z) if y is None else self.ddp(z, y)

    def sample_latent(self, n: int, **kwargs: Any) -> Tensor:
        return self.inner.sample_latent(n, **kwargs)


def no_sync(module: object) -> contextlib.AbstractContextManager[object]:
    """Skip DDP's gradient sync for a wrapped module in this block (a frozen network)."""
    ddp = getattr(module, "ddp", None)
    return ddp.no_sync() if ddp is not None else contextlib.nullcontext()


def finish(ctx: DistContext | None) -> None:
    """After a successful run: no rank exits (tearing its connections down) while others work."""
    if ctx is not None and ctx.world_size > 1 and dist.is_initialized():
        dist.barrier()


def leave(ctx: DistContext | None) -> None:
    if ctx is not None and dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(obj: Any, ctx: DistContext | None) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (just ``[obj]`` alone)."""
    if ctx is None or ctx.world_size == 1:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
