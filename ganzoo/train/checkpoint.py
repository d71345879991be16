"""Checkpoints in safetensors, written atomically (temp file + fsync + rename).

A checkpoint holds tensors under prefixes (``g.``, ``d.``, ``ema.``, ``opt_g.``, ``opt_d.``,
``rng.``) and JSON metadata (step, config, plugin versions, optimizer hyper-parameters, Python's
RNG state). A kill -9 at any moment leaves the previous file intact: the new one only replaces it
by ``os.replace`` once it is complete on disk.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor

from ..errors import GanzooError

META_KEY = "ganzoo"


def atomic_save(tensors: dict[str, Tensor], path: Path, meta: dict[str, Any]) -> None:
    """Write ``tensors`` and ``meta`` to ``path`` so that ``path`` is always complete or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        save_file(tensors, tmp, metadata={META_KEY: json.dumps(meta)})
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Load ``(tensors, meta)``; a missing, truncated or foreign file is a one-line error."""
    if not path.is_file():
        raise GanzooError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw_meta = (f.metadata() or {}).get(META_KEY)
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanzooError(
            f"checkpoint {path} is corrupt or truncated ({exc}); resume from an older file in "
            f"{path.parent} or start a new run"
        ) from None
    if raw_meta is None:
        raise GanzooError(f"{path} is a safetensors file but not a ganzoo checkpoint")
    return tensors, json.loads(raw_meta)


def with_prefix(prefix: str, state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def strip_prefix(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def module_state(module: torch.nn.Module) -> dict[str, Tensor]:
    """A state dict without ``torch.compile``'s ``_orig_mod.`` prefix, so checkpoints are portable."""
    return {k.replace("_orig_mod.", ""): v for k, v in module.state_dict().items()}


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimizer's state into tensors and JSON (param groups, non-tensor values)."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, Tensor):
                tensors[f"{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *meta["scalars"].items()]:
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_state() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Every RNG the training loop draws from: torch (CPU and CUDA), Python, NumPy."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda{i}"] = s
    np_state = np.random.get_state()
    tensors["numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    meta = {"python": _jsonable(random.getstate()), "numpy": [np_state[0], *np_state[2:]]}
    return tensors, meta


def load_rng_state(tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, *rest = meta["numpy"]
    np.random.set_state((version, tensors["numpy"].numpy().astype(np.uint32), *rest))
    random.setstate(_tupled(meta["python"]))


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
