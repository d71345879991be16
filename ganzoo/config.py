"""Run configuration: defaults < config file (TOML) < ``--set key=value`` < explicit flags.

Every key is checked: an unknown key is an error suggesting the closest known one, a value of the
wrong type names the key and the expected type. Plugin parameters (``model.params``,
``loss.params``, ``data.params``) are checked later against the plugin's own signature.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .errors import UnknownNameError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class ModelConfig:
    name: str = "dcgan"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    name: str = "bce"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    name: str = "fashion-mnist"
    root: str | None = None  # --data-root; None: the dataset's own resolution order
    image_size: int | None = None  # None: the dataset's default size
    channels: int | None = None  # None: the dataset's own channels
    workers: int = 0  # DataLoader worker processes
    download: bool = True
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    steps: int | None = None  # generator steps; wins over epochs when both are set
    epochs: float | None = None  # None with steps None: 5 epochs
    batch_size: int = 64
    d_steps: int = 1  # discriminator steps per generator step
    lr: float = 2e-4  # Adam, as in DCGAN
    lr_d: float | None = None  # None: same as lr
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = False  # bf16 autocast (fp16 + grad scaling where bf16 is missing)
    compile: bool = False  # torch.compile G and D (eager fallback with a warning)
    channels_last: bool = False  # NHWC memory format for models and batches
    sync_bn: bool = False  # SyncBatchNorm across DDP workers (CUDA only)
    ema: bool = False  # keep an exponential moving average of G
    ema_decay: float = 0.999
    deterministic: bool = False  # torch.use_deterministic_algorithms


@dataclass
class LogConfig:
    every: int = 50  # steps between metrics lines
    sample_every: int = 500  # steps between sample grids
    checkpoint_every: int = 1000  # steps between checkpoints
    samples: int = 64  # images in each sample grid
    keep_checkpoints: int = 3  # step checkpoints kept besides last.safetensors


@dataclass
class RunConfig:
    """Everything that defines a training run; written to ``config.toml`` in the run directory."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    out: str | None = None  # run directory; None: runs/<model>-<loss>-<dataset>-<time>

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(_drop_none(self.to_dict()))


def parse_value(text: str) -> Any:
    """A ``--set`` value as a TOML literal (``1``, ``0.5``, ``true``, ``[1, 2]``), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}``."""
    tree: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE (e.g. loss.params.a=0), got '{item}'")
        node = tree
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UsageError(f"--set {key}: '{part}' is a value, not a section")
        node[leaf] = parse_value(value.strip())
    return tree


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge; ``override`` wins. ``params`` tables merge key by key too."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve(*layers: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> RunConfig:
    """Merge ``layers`` (lowest precedence first) over ``base`` (the defaults) and validate."""
    merged: dict[str, Any] = dict(base or RunConfig().to_dict())
    for layer in layers:
        merged = merge(merged, layer)
    return from_dict(RunConfig, merged, "")


def from_dict(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types are usage errors."""
    if not isinstance(data, Mapping):
        raise UsageError(f"{prefix or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in hints:
            raise UnknownNameError("config key", path, [f"{prefix}{n}" for n in names])
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = from_dict(hint, value, f"{path}.")
        else:
            values[key] = _check(value, hint, path)
    return cls(**values)


def _check(value: Any, hint: Any, path: str) -> Any:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    for typ in allowed:
        origin = typing.get_origin(typ) or typ
        if origin is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin in (str, bool, dict, list) and isinstance(value, origin):
            return value
    expected = " or ".join(
        "none" if t is type(None) else getattr(typing.get_origin(t) or t, "__name__", str(t))
        for t in allowed
    )
    raise UsageError(f"config key {path} must be {expected}, got {value!r}")


def _drop_none(tree: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: _drop_none(v) if isinstance(v, Mapping) else v for k, v in tree.items() if v is not None
    }


# Keys a resumed run may change: how long to train, where the data lives, how to log, the device.
RESUMABLE_CHANGES = (
    "train.steps",
    "train.epochs",
    "train.device",
    "data.root",
    "data.workers",
    "data.download",
    "log.",
    "out",
)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (plugin ``params`` tables flattened too)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):  # an empty table contributes no keys
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resume_conflicts(saved: RunConfig, requested: RunConfig) -> list[str]:
    """Differences that make ``requested`` a different experiment from ``saved``."""
    old, new = flatten(saved.to_dict()), flatten(requested.to_dict())
    conflicts = []
    for key in sorted(set(old) | set(new)):
        if key.startswith(RESUMABLE_CHANGES) or old.get(key) == new.get(key):
            continue
        conflicts.append(f"{key} (run: {old.get(key)!r}, now: {new.get(key)!r})")
    return conflicts
