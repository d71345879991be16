"""Run configuration: defaults < config file (TOML) < ``--set key=value`` < explicit flags.

Every key is checked: an unknown key is an error suggesting the closest known one, a value of the
wrong type names the key and the expected type. Plugin parameters (``model.params``,
``loss.params``, ``data.params``) are checked later against the plugin's own signature.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
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
    clusters: int = 0  # > 0: label the images by K balanced k-means clusters (conditional models)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    steps: int | None = None  # generator steps; wins over epochs when both are set
    epochs: float | None = None  # None with steps None: 5 epochs
    batch_size: int = 64
    d_steps: int = 1  # discriminator steps per generator step
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = False  # bf16 autocast (fp16 + grad scaling where bf16 is missing)
    amp_dtype: str = "auto"  # auto | bfloat16 | float16 (float16 scales the losses)
    compile: bool = False  # torch.compile G and D (eager fallback with a warning)
    # torch.compile's mode: default | reduce-overhead (CUDA graphs) | max-autotune | ...
    compile_mode: str = "default"
    channels_last: bool = False  # NHWC memory format for models and batches
    # --fast: resolve() sets amp/compile/channels_last (those no layer sets) for the device
    fast: bool = False
    sync_bn: bool = False  # SyncBatchNorm across DDP workers (CUDA only)
    ema: bool = False  # keep an exponential moving average of G
    ema_decay: float = 0.999
    # the EMA generator's BatchNorm statistics: "recompute" them for its weights, or "copy" G's
    ema_batchnorm: str = "recompute"
    deterministic: bool = False  # torch.use_deterministic_algorithms


@dataclass
class OptimConfig:
    """Both networks' optimizers: any ``torch.optim`` class by name (DCGAN's Adam by default)."""

    name: str = "Adam"  # a torch.optim class: Adam, AdamW, RMSprop, SGD, ...
    # G's learning rate (and D's unless lr_d is set): 4x DCGAN's 2e-4, which measured better at
    # a 5-epoch budget (benchmarks/README.md section 12); --preset dcgan keeps the paper's
    lr: float = 8e-4
    lr_d: float | None = None  # D's learning rate (TTUR, Heusel et al. 2017); None: lr
    betas: list[float] = field(
        default_factory=lambda: [0.5, 0.999]
    )  # where the optimizer has betas
    params: dict[str, Any] = field(default_factory=dict)  # other arguments: eps, weight_decay, ...
    schedule: str = "constant"  # constant | linear | cosine: the lr over the run
    warmup_steps: int = 0  # linear warm-up from 0 over this many steps


@dataclass
class AugConfig:
    name: str | None = None  # an augmentation (`ganzoo list augmentations`); None: none
    params: dict[str, Any] = field(default_factory=dict)


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
    optim: OptimConfig = field(default_factory=OptimConfig)
    # regularizers by name, each with its parameters: {"r1": {"gamma": 1.0}}; order is kept
    reg: dict[str, dict[str, Any]] = field(default_factory=dict)
    aug: AugConfig = field(default_factory=AugConfig)
    log: LogConfig = field(default_factory=LogConfig)
    preset: str | None = None  # the preset applied under everything else (provenance)
    recipe: str | None = None  # a name for these settings in bench tables, e.g. "ttur-ema"
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


def resolve(
    *layers: Mapping[str, Any],
    base: Mapping[str, Any] | None = None,
    sources: Sequence[str | None] | None = None,
) -> RunConfig:
    """Merge ``layers`` (lowest precedence first) over ``base`` (the defaults) and validate.

    Every layer is checked on its own first (types and ranges), so a bad value is reported even
    where a later layer overrides it; ``sources`` name the layers in those errors
    (``"config file run.toml"``; ``None``: the key is its own name, as on the command line).
    """
    merged: dict[str, Any] = migrate_legacy(base or RunConfig().to_dict())
    for index, layer in enumerate(layers):
        layer = migrate_legacy(layer)
        source = sources[index] if sources is not None else None
        try:
            check_ranges(from_dict(RunConfig, merge(RunConfig().to_dict(), layer), ""))
        except UsageError as exc:
            if source is None:
                raise
            raise UsageError(f"{source}: {exc}") from None
        merged = merge(merged, layer)
    config = from_dict(RunConfig, merged, "")
    check_ranges(config)
    if config.train.fast and not migrate_legacy(base or {}).get("train", {}).get("fast"):
        apply_fast(config, layers)
    return config


def apply_fast(config: RunConfig, layers: Sequence[Mapping[str, Any]]) -> None:
    """``train.fast``: set each of amp/compile/channels_last that no layer sets to the device's
    fastest choice (:func:`ganzoo.train.device.fast_settings`), so explicit settings win.

    Runs once, when a layer turns fast on over a base without it: a resumed run's saved config
    already holds what was resolved when it started, and keeps it (even on another machine).
    """
    from .train.device import FAST_KEYS, fast_settings, resolve_device  # torch: only for --fast

    explicit = {key for layer in layers for key in (layer.get("train") or {})}
    chosen = fast_settings(resolve_device(config.train.device))
    for key in FAST_KEYS:
        if key not in explicit:
            setattr(config.train, key, chosen[key])


def preset_layer(layers: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The config fragment of the preset the layers name (the last one naming one wins), or {}."""
    name = next((layer["preset"] for layer in reversed(layers) if layer.get("preset")), None)
    if name is None:
        return {}
    from .errors import PluginError
    from .plugins import get_host

    entry = get_host().presets.get(name)
    fragment = migrate_legacy(entry.factory.config)
    try:
        check_ranges(from_dict(RunConfig, merge(RunConfig().to_dict(), fragment), ""))
    except UsageError as exc:
        raise PluginError(
            f"preset '{entry.qualified_name}' (plugin {entry.plugin}): {exc}"
        ) from None
    return {**fragment, "preset": entry.name}


# keys that moved into [optim]; config files and run directories written before still load
LEGACY_OPTIM_KEYS = {"lr": "lr", "lr_d": "lr_d"}


def migrate_legacy(tree: Mapping[str, Any]) -> dict[str, Any]:
    """``train.lr/lr_d/beta1/beta2`` (before the [optim] table) -> ``optim.lr/lr_d/betas``."""
    train = tree.get("train")
    if not isinstance(train, Mapping) or not {"lr", "lr_d", "beta1", "beta2"} & set(train):
        return dict(tree)
    train = dict(train)
    optim = dict(tree.get("optim") or {})
    for old, new in LEGACY_OPTIM_KEYS.items():
        if old in train:
            optim[new] = train.pop(old)
    if "beta1" in train or "beta2" in train:
        betas = list(optim.get("betas") or OptimConfig().betas)
        betas[0] = train.pop("beta1", betas[0])
        betas[1] = train.pop("beta2", betas[1])
        optim["betas"] = betas
    return {**tree, "train": train, "optim": optim}


SCHEDULES = ("constant", "linear", "cosine")
AMP_DTYPES = ("auto", "bfloat16", "float16")
#: the EMA generator's BatchNorm statistics (see ganzoo.train.ema)
BATCHNORM_MODES = ("recompute", "copy")
#: torch.compile's modes; reduce-overhead replays CUDA graphs (for small, launch-bound steps)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class Range:
    """The numbers a config key allows: ``low``/``high`` bounds, ``high`` excluded when ``open``.

    ``None`` (the key's "unset") is always allowed where the key's type allows it.
    """

    low: float
    high: float | None = None
    low_open: bool = False  # low itself excluded: "> 0" rather than ">= 0"
    high_open: bool = True

    def allows(self, value: float) -> bool:
        if not math.isfinite(value):  # TOML has inf and nan; no key means either
            return False
        above = value > self.low if self.low_open else value >= self.low
        if self.high is None:
            return above
        return above and (value < self.high if self.high_open else value <= self.high)

    def __str__(self) -> str:
        low = _number_text(self.low)
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {low}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{low}, {_number_text(self.high)}{right}"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


AT_LEAST_0, AT_LEAST_1, POSITIVE = Range(0), Range(1), Range(0, low_open=True)
# Every number in RunConfig has a range here (a test checks that none is missing).
RANGES: dict[str, Range] = {
    "data.image_size": AT_LEAST_1,
    "data.channels": AT_LEAST_1,
    "data.workers": AT_LEAST_0,
    "data.clusters": AT_LEAST_0,
    "train.steps": AT_LEAST_1,
    "train.epochs": POSITIVE,
    "train.batch_size": AT_LEAST_1,
    "train.d_steps": AT_LEAST_1,
    "train.seed": Range(0, 2**32),  # what numpy and every DDP rank's seed + rank accept
    "train.ema_decay": Range(0, 1),
    "optim.lr": POSITIVE,
    "optim.lr_d": POSITIVE,
    "optim.warmup_steps": AT_LEAST_0,
    "log.every": AT_LEAST_1,
    "log.sample_every": AT_LEAST_1,
    "log.checkpoint_every": AT_LEAST_1,
    "log.samples": AT_LEAST_1,
    "log.keep_checkpoints": AT_LEAST_0,
}
BETAS = Range(0, 1)


def check_ranges(config: RunConfig) -> None:
    """Numbers and choices outside their range are one-line usage errors naming the key."""
    values = flatten(config.to_dict())
    for key, allowed in RANGES.items():
        value = values.get(key)
        if value is not None and not allowed.allows(value):
            raise UsageError(f"{key} must be {allowed}, got {value!r}")
    betas = config.optim.betas
    if len(betas) != 2 or not all(_is_number(b) and BETAS.allows(b) for b in betas):
        raise UsageError(f"optim.betas must be two numbers {BETAS}, got {betas!r}")
    optim, train = config.optim, config.train
    for key, value, choices in (
        ("optim.schedule", optim.schedule, SCHEDULES),
        ("train.amp_dtype", train.amp_dtype, AMP_DTYPES),
        ("train.compile_mode", train.compile_mode, COMPILE_MODES),
        ("train.ema_batchnorm", train.ema_batchnorm, BATCHNORM_MODES),
    ):
        if value not in choices:
            raise UnknownNameError(key, value, choices)
    for name, params in config.reg.items():
        if not isinstance(params, Mapping):
            raise UsageError(
                f"reg.{name} must be a table of parameters (e.g. [reg.{name}]), got {params!r}"
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
# train.fast is a request: what it resolved to (train.amp, ...) is compared on its own.
RESUMABLE_CHANGES = (
    "train.steps",
    "train.epochs",
    "train.device",
    "train.fast",
    "data.root",
    "data.workers",
    "data.download",
    "log.",
    "out",
)


def changed(tree: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``tree`` that differs from ``defaults``, table by table: a
    :class:`RunConfig` as a layer that sets only what was changed (so a preset below it and
    ``train.fast`` still see its default-valued keys as unset)."""
    layer: dict[str, Any] = {}
    for key, value in tree.items():
        default = defaults.get(key)
        if isinstance(value, Mapping) and isinstance(default, Mapping):
            if inner := changed(value, default):
                layer[key] = inner
        elif key not in defaults or value != default:
            layer[key] = value
    return layer


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (plugin ``params`` tables flattened too)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):  # an empty table contributes no keys
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resume(run_root: object, saved_tree: Mapping[str, Any], requested: RunConfig) -> None:
    """Refuse to resume ``run_root`` (saved config ``saved_tree``) as a different experiment."""
    saved = resolve(base=merge(RunConfig().to_dict(), saved_tree))
    conflicts = resume_conflicts(saved, requested)
    if conflicts:
        raise UsageError(
            f"cannot resume {run_root}: it was trained with other settings: {'; '.join(conflicts)}"
        )


def resume_conflicts(saved: RunConfig, requested: RunConfig) -> list[str]:
    """Differences that make ``requested`` a different experiment from ``saved``."""
    old, new = flatten(saved.to_dict()), flatten(requested.to_dict())
    old["reg"], new["reg"] = list(saved.reg), list(requested.reg)  # a regularizer without params
    conflicts = []
    for key in sorted(set(old) | set(new)):
        if key.startswith(RESUMABLE_CHANGES) or old.get(key) == new.get(key):
            continue
        conflicts.append(f"{key} (run: {old.get(key)!r}, now: {new.get(key)!r})")
    return conflicts
