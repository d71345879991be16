"""Everything a run carries from one step to the next, in one object, saved and restored one way.

:class:`TrainingState` composes the models, the EMA, optimizers, schedulers, grad scalers, the
state of the loss, regularizers and augmentation, the step counters, the data position and
every RNG. Checkpoints (:meth:`TrainingState.save` / :meth:`TrainingState.restore`) and the
in-memory snapshot that undoes a step torch.compile broke (:meth:`snapshot` /
:meth:`load_snapshot`) go through the same two functions, :meth:`tensors_and_meta` and
:meth:`load`, so they cannot drift apart.

Layout of the tensors (safetensors) and metadata (JSON) a checkpoint holds:
``g.``/``d.``/``ema.`` module states, ``opt_g.``/``opt_d.`` optimizer tensors, ``rng.`` (rank 0)
and ``rng_rankR.`` RNG states, ``comp.KEY.`` / ``comp_rankR.KEY.`` component tensors (``KEY`` is
``loss``, ``reg.NAME`` or ``aug``); schedulers, scalers and non-tensor component values in meta.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import UsageError
from ..interfaces import Stateful
from . import checkpoint as ckpt
from .distributed import DistContext, gather_objects
from .ema import EMA


@dataclass
class TrainingState:
    """The composed state of a run (see the module docstring)."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    ema: EMA | None
    optimizers: dict[str, torch.optim.Optimizer]  # "G", "D"
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    scalers: dict[str, torch.amp.GradScaler]
    components: dict[str, Stateful]  # "loss", "reg.NAME", "aug"
    step: int = 0
    images_seen: int = 0
    train_seconds: float = 0.0
    position: tuple[int, int] = (0, 0)  # (epoch, batch) of the next real batch
    world_size: int = 1
    extra_meta: dict[str, Any] = field(default_factory=dict)  # config, versions (saved, not loaded)

    # ---- one rank's state -------------------------------------------------------------------
    def rank_state(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """What differs between DDP ranks: every RNG and the components' state."""
        tensors, meta = ckpt.rng_state()
        tensors = ckpt.with_prefix("rng", tensors)
        components: dict[str, Any] = {}
        for key, component in self.components.items():
            comp_tensors, comp_meta = split_state(component.state_dict())
            tensors.update(ckpt.with_prefix(f"comp.{key}", comp_tensors))
            components[key] = comp_meta
        return tensors, {"rng": meta, "components": components}

    def load_rank_state(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        ckpt.load_rng_state(ckpt.strip_prefix("rng", tensors), meta["rng"])
        saved = meta.get("components", {})
        for key, component in self.components.items():
            comp_tensors = ckpt.strip_prefix(f"comp.{key}", tensors)
            component.load_state_dict({**saved.get(key, {}), **comp_tensors})

    # ---- the whole state --------------------------------------------------------------------
    def tensors_and_meta(
        self, ranks: list[tuple[dict[str, Tensor], dict[str, Any]]]
    ) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Everything, given every rank's :meth:`rank_state` (``ranks[0]`` is this one alone)."""
        tensors = {
            **ckpt.with_prefix("g", ckpt.module_state(self.generator)),
            **ckpt.with_prefix("d", ckpt.module_state(self.discriminator)),
        }
        if self.ema is not None:
            tensors.update(ckpt.with_prefix("ema", ckpt.module_state(self.ema.model)))
        meta: dict[str, Any] = {
            "step": self.step,
            "images_seen": self.images_seen,
            "train_seconds": self.train_seconds,
            "position": list(self.position),
            "world_size": len(ranks),
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
        }
        for net, optimizer in self.optimizers.items():
            opt_tensors, meta[f"opt_{net.lower()}"] = ckpt.optimizer_state(optimizer)
            tensors.update(ckpt.with_prefix(f"opt_{net.lower()}", opt_tensors))
        for rank, (rank_tensors, _) in enumerate(ranks):
            # rank 0 under the plain names; rank R's "rng." / "comp." as "rng_rankR." / "comp_rankR."
            for key, value in rank_tensors.items():
                head, rest = key.split(".", 1)
                tensors[f"{head}_rank{rank}.{rest}" if rank else key] = value
        meta["rng"] = ranks[0][1]["rng"]
        meta["components"] = ranks[0][1]["components"]
        meta["rank_meta"] = [m for _, m in ranks]
        return tensors, meta

    def load(self, tensors: dict[str, Tensor], meta: dict[str, Any], rank: int = 0) -> None:
        """Restore from :meth:`tensors_and_meta`'s output, as rank ``rank``."""
        self.generator.load_state_dict(ckpt.strip_prefix("g", tensors))
        self.discriminator.load_state_dict(ckpt.strip_prefix("d", tensors))
        if self.ema is not None:
            ema_state = ckpt.strip_prefix("ema", tensors) or ckpt.strip_prefix("g", tensors)
            self.ema.model.load_state_dict(ema_state)
        for net, optimizer in self.optimizers.items():
            key = f"opt_{net.lower()}"
            ckpt.load_optimizer_state(optimizer, ckpt.strip_prefix(key, tensors), meta[key])
        for key, scheduler in self.schedulers.items():
            if key in meta.get("schedulers", {}):
                scheduler.load_state_dict(meta["schedulers"][key])
        for key, scaler in self.scalers.items():
            if meta.get("scalers", {}).get(key):
                scaler.load_state_dict(meta["scalers"][key])
        if rank == 0:
            rank_tensors = {
                k: v for k, v in tensors.items() if k.split(".", 1)[0] in ("rng", "comp")
            }
        else:
            rank_tensors = {
                k.replace(f"_rank{rank}.", ".", 1): v
                for k, v in tensors.items()
                if k.split(".", 1)[0] in (f"rng_rank{rank}", f"comp_rank{rank}")
            }
        rank_metas = meta.get("rank_meta") or [
            {"rng": m} for m in meta.get("rng_ranks", [meta["rng"]])
        ]  # checkpoints written before components had state
        self.load_rank_state(rank_tensors, rank_metas[rank])
        self.step, self.images_seen = meta["step"], meta["images_seen"]
        self.train_seconds = meta["train_seconds"]
        self.position = tuple(meta["position"])  # type: ignore[assignment]

    # ---- on disk ----------------------------------------------------------------------------
    def save(self, path: Path, dist: DistContext | None) -> None:
        """Every rank contributes its RNG and component state; rank 0 writes, atomically."""
        ranks = gather_objects(self.rank_state(), dist)
        if dist is not None and not dist.is_main:
            return
        tensors, meta = self.tensors_and_meta(ranks)
        ckpt.atomic_save(tensors, path, {**meta, **self.extra_meta})

    def restore(self, path: Path, dist: DistContext | None, run_root: Path) -> dict[str, Any]:
        tensors, meta = ckpt.read_checkpoint(path)
        world = dist.world_size if dist else 1
        if meta.get("world_size", 1) != world:
            raise UsageError(
                f"cannot resume {run_root}: it was trained by {meta.get('world_size', 1)} "
                f"worker(s), now {world}; resume with the same --nproc-per-node"
            )
        self.load(tensors, meta, dist.rank if dist else 0)
        return meta

    # ---- in memory --------------------------------------------------------------------------
    def snapshot(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """A deep copy of this rank's whole state (undoing a step that failed half-way)."""
        return copy.deepcopy(self.tensors_and_meta([self.rank_state()]))

    def load_snapshot(self, snapshot: tuple[dict[str, Tensor], dict[str, Any]]) -> None:
        self.load(*snapshot)


def split_state(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """A component's ``state_dict`` as (tensors, JSON values)."""
    tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)}
    return tensors, {k: v for k, v in state.items() if not isinstance(v, Tensor)}
