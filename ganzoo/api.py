"""The Python API for notebooks and scripts: train a run, load its generator, no subprocess.

    >>> import ganzoo
    >>> run = ganzoo.train({"model": {"name": "dcgan"}, "train": {"steps": 100}},
    ...                    assignments=["reg.r1.gamma=1"], preset="dcgan")
    >>> generator = ganzoo.load_generator(run)
    >>> images = generator(generator.sample_latent(16))   # (16, C, H, W) in [-1, 1]

The config goes through exactly what ``ganzoo run`` uses: the same layers (preset < config <
assignments), the same checks and the same worker function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import RunConfig
    from .interfaces import Generator


def train(
    config: RunConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    assignments: Sequence[str] = (),
    preset: str | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
) -> Path:
    """Train and return the run directory.

    Args:
        config: a :class:`~ganzoo.config.RunConfig` (fields left at their defaults count as
            unset, so a preset and ``train.fast`` still fill them), a config tree
            (``{"train": {"steps": 100}}``, as a TOML file would hold it), the path of a TOML
            file, or None (the defaults).
        assignments: ``KEY=VALUE`` strings as ``--set`` takes them (``"reg.r1.gamma=1"``).
        preset: a registered preset applied below everything else (``ganzoo list presets``).
        out: the run directory (default ``runs/<model>-<loss>-<dataset>-<time>``).
        resume: continue the run in this directory (its saved config is the base).
    """
    from .config import (
        RunConfig,
        changed,
        check_resume,
        merge,
        parse_assignments,
        preset_layer,
        read_toml,
        resolve,
    )
    from .errors import UsageError
    from .train.launch import train_worker
    from .train.rundir import RunDir

    if isinstance(config, RunConfig):  # its default values count as unset, as in a config tree
        tree: Mapping[str, Any] = changed(config.to_dict(), RunConfig().to_dict())
    elif isinstance(config, str | Path):
        tree = read_toml(Path(config))
    else:
        tree = config or {}
    layers: list[Mapping[str, Any]] = [tree, parse_assignments(assignments)]
    if preset is not None:
        layers.append({"preset": preset})
    base = None
    if resume is not None:
        run_dir = RunDir(Path(resume))
        if not run_dir.config.exists():
            raise UsageError(
                f"resume={resume}: no config.toml there; is it a ganzoo run directory?"
            )
        base = merge(RunConfig().to_dict(), read_toml(run_dir.config))
        out = resume
    else:
        layers.insert(0, preset_layer(layers))
    if out is not None:
        layers.append({"out": str(out)})
    resolved = resolve(*layers, base=base)
    if resume is not None:
        check_resume(resume, read_toml(RunDir(Path(resume)).config), resolved)
    run_dir = RunDir(Path(resolved.out)) if resolved.out else RunDir.default_for(resolved)
    if resume is None and run_dir.last_checkpoint.exists():
        raise UsageError(f"{run_dir.root} already holds a run; pass resume= or another out=")
    resolved.out = str(run_dir.root)
    train_worker(resolved, run_dir, resume is not None, None)
    return run_dir.root


def load_generator(
    run: str | Path,
    *,
    ema: bool = False,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
) -> Generator:
    """A generator in eval mode on ``device``: a run directory's (its EMA with ``ema=True``), or
    one ``ganzoo export`` wrote (``generator.safetensors`` or the folder holding it)."""
    from .errors import UsageError
    from .export import is_exported, read_exported
    from .train.loading import load_generator as load
    from .train.rundir import RunDir

    path = Path(run)
    if is_exported(path):
        if checkpoint is not None or ema:
            raise UsageError(
                f"{path} is an exported generator: it is one set of weights, so ema= and "
                "checkpoint= do not apply (export the one you want with ganzoo export [--ema])"
            )
        return read_exported(path, device)
    generator, _ = load(
        RunDir(path),
        ema=ema,
        checkpoint=Path(checkpoint) if checkpoint else None,
        device=device,
    )
    return generator
