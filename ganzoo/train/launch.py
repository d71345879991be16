"""Starting training: one shared worker function for a plain run, torchrun and our launcher.

``ganzoo run --nproc-per-node N`` starts N workers with torch.distributed's elastic launcher (what
torchrun uses); each runs :func:`train_worker`, exactly what a plain ``ganzoo run`` or a
``torchrun -m ganzoo run`` process runs. A failing worker writes its own report, so the user
hears about the root cause, not a peer's communication fallout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.distributed.elastic.multiprocessing.errors import record

from ..config import RunConfig, merge, resolve, tomllib
from ..errors import GanzooError, UsageError
from .distributed import DistContext, finish, init_from_env, leave
from .rundir import RunDir
from .trainer import Trainer


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


def train_worker(
    config: RunConfig,
    run_dir: RunDir,
    resume: bool,
    ctx: DistContext | None,
    announce: Callable[[Trainer], None] | None = None,
    report_failures: bool = False,
) -> dict[str, Any]:
    """Train on this process: alone, under torchrun, or as a worker our launcher spawned.

    Returns the run's summary on rank 0 (``{}`` on the others). ``announce`` is called with the
    built trainer before training starts (the CLI's start banner).
    """
    try:
        trainer = Trainer(config, run_dir, resume=resume, dist=ctx)
        if announce is not None and trainer.is_main:
            announce(trainer)
        summary = trainer.fit()
        finish(ctx)  # every rank waits for rank 0's last writes, then leaves the group
        return summary
    except BaseException as exc:
        if report_failures and ctx is not None:
            write_failure_report(str(run_dir.root), ctx.rank, exc)
        raise
    finally:
        leave(ctx)


@record
def worker_main(config_toml: str, run_dir: str, resume: bool) -> None:
    """One worker the launcher spawned: join the group, train, leave."""
    config = resolve(base=merge(RunConfig().to_dict(), tomllib.loads(config_toml)))
    ctx = init_from_env(config.train.device)
    train_worker(config, RunDir(Path(run_dir)), resume, ctx, report_failures=True)
