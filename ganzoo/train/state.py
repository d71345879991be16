"""The trainer's state on disk and in memory: checkpoints (save, restore, prune) and the
in-memory snapshot that undoes a step when torch.compile fails half-way through it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import __version__
from ..errors import UsageError
from . import checkpoint as ckpt
from .distributed import gather_objects
from .rundir import provenance

if TYPE_CHECKING:
    from .trainer import Trainer


class TrainerState:
    """Mixed into :class:`~ganzoo.train.trainer.Trainer`: what a checkpoint holds and how."""

    def save_checkpoint(self: Trainer, path: Path | None = None) -> None:
        """Write G, D, EMA, optimizers, RNG of every rank, position; rank 0 writes, atomically."""
        tensors = {
            **ckpt.with_prefix("g", ckpt.module_state(self.g)),
            **ckpt.with_prefix("d", ckpt.module_state(self.d)),
        }
        if self.ema is not None:
            tensors.update(ckpt.with_prefix("ema", ckpt.module_state(self.ema.model)))
        opt_g, opt_g_meta = ckpt.optimizer_state(self.opt_g)
        opt_d, opt_d_meta = ckpt.optimizer_state(self.opt_d)
        rng_by_rank = gather_objects(ckpt.rng_state(), self.dist)  # every rank draws its own
        if not self.is_main:
            return
        rng, rng_meta = rng_by_rank[0]
        tensors.update(ckpt.with_prefix("opt_g", opt_g))
        tensors.update(ckpt.with_prefix("opt_d", opt_d))
        tensors.update(ckpt.with_prefix("rng", rng))
        for rank, (other, _) in enumerate(rng_by_rank[1:], start=1):
            tensors.update(ckpt.with_prefix(f"rng_rank{rank}", other))
        meta = {
            "step": self.step,
            "images_seen": self.images_seen,
            "train_seconds": self.train_seconds,
            "position": list(self.position),
            "config": self.config.to_dict(),
            "ganzoo": __version__,
            "torch": torch.__version__,
            "plugins": provenance(self.components.entries),
            "opt_g": opt_g_meta,
            "opt_d": opt_d_meta,
            "rng": rng_meta,
            "rng_ranks": [meta for _, meta in rng_by_rank],
            "world_size": len(rng_by_rank),
        }
        ckpt.atomic_save(tensors, path or self.run_dir.last_checkpoint, meta)

    def _restore(self: Trainer) -> None:
        tensors, meta = ckpt.read_checkpoint(self.run_dir.last_checkpoint)
        self.g.load_state_dict(ckpt.strip_prefix("g", tensors))
        self.d.load_state_dict(ckpt.strip_prefix("d", tensors))
        if self.ema is not None:
            ema_state = ckpt.strip_prefix("ema", tensors) or ckpt.strip_prefix("g", tensors)
            self.ema.model.load_state_dict(ema_state)
        ckpt.load_optimizer_state(self.opt_g, ckpt.strip_prefix("opt_g", tensors), meta["opt_g"])
        ckpt.load_optimizer_state(self.opt_d, ckpt.strip_prefix("opt_d", tensors), meta["opt_d"])
        world = self.dist.world_size if self.dist else 1
        if meta.get("world_size", 1) != world:
            raise UsageError(
                f"cannot resume {self.run_dir.root}: it was trained by {meta.get('world_size', 1)} "
                f"worker(s), now {world}; resume with the same --nproc-per-node"
            )
        rank = self.dist.rank if self.dist else 0
        prefix = "rng" if rank == 0 else f"rng_rank{rank}"
        rng_meta = meta["rng"] if rank == 0 else meta["rng_ranks"][rank]
        ckpt.load_rng_state(ckpt.strip_prefix(prefix, tensors), rng_meta)
        self.step, self.images_seen = meta["step"], meta["images_seen"]
        self.train_seconds = meta["train_seconds"]
        self.position = tuple(meta["position"])  # type: ignore[assignment]
        self.run_dir.truncate_metrics(self.step)

    def _prune_checkpoints(self: Trainer) -> None:
        keep = self.config.log.keep_checkpoints
        steps = sorted(self.run_dir.checkpoints.glob("step_*.safetensors"))
        for old in steps[: max(0, len(steps) - keep)]:
            old.unlink(missing_ok=True)

    def _snapshot(self: Trainer) -> dict[str, Any]:
        """Everything one step changes, to undo a step that failed half-way."""
        return copy.deepcopy(
            {
                "g": self.g.state_dict(),
                "d": self.d.state_dict(),
                "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(),
                "rng": torch.get_rng_state(),
                "position": self.position,
                "images_seen": self.images_seen,
            }
        )

    def _load_snapshot(self: Trainer, snapshot: dict[str, Any]) -> None:
        self.g.load_state_dict(snapshot["g"])
        self.d.load_state_dict(snapshot["d"])
        self.opt_g.load_state_dict(snapshot["opt_g"])
        self.opt_d.load_state_dict(snapshot["opt_d"])
        torch.set_rng_state(snapshot["rng"])
        self.position, self.images_seen = snapshot["position"], snapshot["images_seen"]

    # ---- the step -------------------------------------------------------------------------
