"""Data-parallel training on ``torch.distributed``: DDP for G and D, launched by torchrun's
elastic launcher (``ganzoo run --nproc-per-node N``) or by ``torchrun -m ganzoo run ...``.

Every rank draws its own latents (seed + rank) and reads its own slice of each global batch
(see :class:`~ganzoo.train.batches.EpochBatchSampler`); gradients are averaged by DDP, so N workers
with batch B take the same step as one worker with batch N*B (BatchNorm statistics aside, which
are per worker unless ``train.sync_bn`` converts them to SyncBatchNorm on CUDA).
Rank 0 alone writes logs, samples, checkpoints and the summary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel as DDP

from ..errors import GanzooError, UsageError
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

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.discriminator.forward_features(x)


class DistributedDiscriminator(Discriminator):
    """A Discriminator whose calls go through DDP (gradient averaging across ranks)."""

    def __init__(self, discriminator: Discriminator, ctx: DistContext) -> None:
        super().__init__()
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        self.ddp = DDP(_Features(discriminator), device_ids=ids)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.ddp(x)


class DistributedGenerator(Generator):
    def __init__(self, generator: Generator, ctx: DistContext) -> None:
        super().__init__()
        self.latent_dim = generator.latent_dim
        self.inner = generator
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        self.ddp = DDP(generator, device_ids=ids)

    def forward(self, z: Tensor) -> Tensor:
        return self.ddp(z)

    def sample_latent(self, n: int, **kwargs: Any) -> Tensor:
        return self.inner.sample_latent(n, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(
                f"port {port} is in use; pick another --master-port or leave it out"
            ) from None


def check_nproc(nproc: int, device_name: str) -> None:
    if nproc < 1:
        raise UsageError(f"--nproc-per-node must be >= 1, got {nproc}")
    wants_cuda = device_name.startswith("cuda") or (
        device_name == "auto" and torch.cuda.is_available()
    )
    if wants_cuda and nproc > torch.cuda.device_count():
        raise UsageError(
            f"--nproc-per-node {nproc} but only {torch.cuda.device_count()} GPU(s); "
            "start at most one process per GPU, or use --device cpu (gloo)"
        )


def launch(
    config_toml: str, run_dir: str, resume: bool, nproc: int, master_port: int | None
) -> None:
    """Start ``nproc`` local workers with torch.distributed's elastic launcher (what torchrun uses)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if master_port is not None:
        check_port(master_port)
    port = master_port or free_port()
    # as torchrun does: split the cores between workers rather than oversubscribing them
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    launch_config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{port}",
        run_id=f"ganzoo-{port}",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    try:
        elastic_launch(launch_config, worker_main)(config_toml, run_dir, resume)
    except ChildFailedError as exc:
        reported = read_failure_reports(run_dir)
        if reported:  # what the workers wrote themselves, with precise times
            rank, message, exitcode = reported
        else:  # killed before writing: what the launcher saw
            rank, message, exitcode = root_cause(exc.failures)
        last = os.path.join(run_dir, "checkpoints", "last.safetensors")
        kept = (
            f"the last good checkpoint is {last}"
            if os.path.exists(last)
            else "no checkpoint was written"
        )
        raise GanzooError(
            f"worker rank {rank} failed (exit {exitcode}): {message}; the other workers were "
            f"stopped; {kept}"
        ) from None


# what a worker reports when a *peer* died under it: fallout, not the cause
PEER_FALLOUT = (
    "gloo",
    "NCCL",
    "Connection closed",
    "Connection reset",
    "ProcessGroup",
    "DistBackendError",
)


def failure_dir(run_dir: str) -> Path:
    return Path(run_dir) / ".failures"


def write_failure_report(run_dir: str, rank: int, exc: BaseException) -> None:
    """A worker's own account of its exception, timed to the microsecond, before it exits: the
    launcher may only notice the peer whose collective broke next, and kill this one."""
    lines = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {lines[-1] if lines else ''}"
    folder = failure_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{rank}.json").write_text(json.dumps({"time": time.time(), "message": message}))


def read_failure_reports(run_dir: str) -> tuple[int, str, int] | None:
    folder = failure_dir(run_dir)
    reports = {}
    for path in folder.glob("rank*.json"):
        reports[int(path.stem[4:])] = json.loads(path.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    if not reports:
        return None
    causes = [r for r, rep in reports.items() if not any(s in rep["message"] for s in PEER_FALLOUT)]
    rank = min(causes or reports, key=lambda r: (reports[r]["time"], r))
    return rank, reports[rank]["message"], 1


def failure_message(failure: Any) -> str:
    message = failure.message
    if isinstance(message, dict):  # the error file @record wrote
        message = message.get("message", "")
    lines = str(message or "").strip().splitlines()
    return lines[-1] if lines else "see its log"


def root_cause(failures: dict[int, Any]) -> tuple[int, str, int]:
    """The failure that started it: not a peer's communication fallout, earliest, lowest rank."""
    messages = {rank: failure_message(f) for rank, f in failures.items()}
    causes = [r for r, m in messages.items() if not any(s in m for s in PEER_FALLOUT)]
    rank = min(causes or failures, key=lambda r: (failures[r].timestamp, r))
    return rank, messages[rank], failures[rank].exitcode


@record
def worker_main(config_toml: str, run_dir: str, resume: bool) -> None:
    """One worker: join the group, train, leave. Runs in a process the launcher spawned."""
    from ..config import RunConfig, merge, resolve, tomllib
    from .rundir import RunDir
    from .trainer import Trainer

    config = resolve(base=merge(RunConfig().to_dict(), tomllib.loads(config_toml)))
    ctx = init_from_env(config.train.device)
    try:
        Trainer(config, RunDir(Path(run_dir)), resume=resume, dist=ctx).fit()
        finish(ctx)
    except BaseException as exc:
        write_failure_report(run_dir, ctx.rank, exc)
        raise
    finally:
        leave(ctx)


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
