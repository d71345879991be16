"""``ganzoo run ARCH --loss LOSS``: train a GAN into a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..config import (
    RunConfig,
    check_resume,
    merge,
    parse_assignments,
    preset_layer,
    read_toml,
    resolve,
)
from ..errors import UsageError
from .console import console, error_console

if TYPE_CHECKING:  # training imports torch: only when a run starts, not for `run --help`
    from ..train.rundir import RunDir
    from ..train.trainer import Trainer


def flags_layer(**flags: Any) -> dict[str, Any]:
    """Explicit command-line flags as a config layer (flags left unset are not in it)."""
    where = {
        "arch": ("model", "name"),
        "loss": ("loss", "name"),
        "dataset": ("data", "name"),
        "data_root": ("data", "root"),
        "image_size": ("data", "image_size"),
        "channels": ("data", "channels"),
        "workers": ("data", "workers"),
        "batch_size": ("train", "batch_size"),
        "steps": ("train", "steps"),
        "epochs": ("train", "epochs"),
        "d_steps": ("train", "d_steps"),
        "lr": ("optim", "lr"),
        "lr_d": ("optim", "lr_d"),
        "optimizer": ("optim", "name"),
        "aug": ("aug", "name"),
        "preset": ("preset", None),
        "seed": ("train", "seed"),
        "device": ("train", "device"),
        "amp": ("train", "amp"),
        "ema": ("train", "ema"),
        "compile": ("train", "compile"),
        "channels_last": ("train", "channels_last"),
        "fast": ("train", "fast"),
        "out": ("out", None),
    }
    layer: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None:
            continue
        if name == "reg":  # --reg NAME, repeatable: each regularizer with its default parameters
            layer["reg"] = {reg: {} for reg in value}
            continue
        section, key = where[name]
        if key is None:
            layer[section] = str(value)
        else:
            layer.setdefault(section, {})[key] = str(value) if isinstance(value, Path) else value
    return layer


def build_config(
    config_file: Path | None, assignments: list[str], flags: dict[str, Any], resume: Path | None
) -> RunConfig:
    """defaults (or the resumed run's config) < config file < --set < explicit flags."""
    from ..train.rundir import RunDir

    base = None
    if resume is not None:
        saved = RunDir(resume).config
        if not saved.exists():
            raise UsageError(
                f"--resume {resume}: no config.toml there; is it a ganzoo run directory?"
            )
        base = merge(RunConfig().to_dict(), read_toml(saved))
        flags = {**flags, "out": resume}
    layers = [read_toml(config_file)] if config_file else []
    sources: list[str | None] = [f"config file {config_file}"] if config_file else []
    layers += [parse_assignments(assignments), flags_layer(**flags)]
    sources += [None, None]  # --set and flags: the key or flag is on the command line
    if resume is None:  # a resumed run's config already holds its preset's values
        layers.insert(0, preset_layer(layers))
        sources.insert(0, None)  # preset_layer names the preset in its own errors
    return resolve(*layers, base=base, sources=sources)


def run(
    arch: str | None = typer.Argument(None, help="Architecture, e.g. dcgan (see `ganzoo list`)."),
    loss: str | None = typer.Option(None, "--loss", "-l", help="Loss, e.g. bce, lsgan, mmd."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Dataset [fashion-mnist]."),
    data_root: Path | None = typer.Option(None, "--data-root", help="Where the dataset lives."),
    image_size: int | None = typer.Option(
        None, "--image-size", help="Image size (default: the dataset's)."
    ),
    channels: int | None = typer.Option(None, "--channels", help="1 (grey) or 3 (RGB)."),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help="Batch size [64]."),
    steps: int | None = typer.Option(None, "--steps", help="Generator steps (wins over --epochs)."),
    epochs: float | None = typer.Option(None, "--epochs", help="Epochs over the data [5]."),
    d_steps: int | None = typer.Option(None, "--d-steps", help="D steps per G step [1]."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate (G, and D) [8e-4]."),
    lr_d: float | None = typer.Option(None, "--lr-d", help="D's learning rate (TTUR) [--lr]."),
    optimizer: str | None = typer.Option(
        None, "--optimizer", help="A torch.optim optimizer: Adam, AdamW, RMSprop, SGD [Adam]."
    ),
    reg: list[str] | None = typer.Option(
        None, "--reg", help="Regularizer, repeatable: r1, gp, clip, ... (see `ganzoo list`)."
    ),
    aug: str | None = typer.Option(
        None, "--aug", help="Augmentation for D's inputs: diffaugment, ada."
    ),
    preset: str | None = typer.Option(
        None, "--preset", help="A paper's settings (`ganzoo list presets`); flags still win."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed [0]."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N [auto]."),
    amp: bool | None = typer.Option(None, "--amp/--no-amp", help="bf16 autocast."),
    ema: bool | None = typer.Option(None, "--ema/--no-ema", help="Keep an EMA of G."),
    compile: bool | None = typer.Option(
        None, "--compile/--no-compile", help="torch.compile G and D."
    ),
    channels_last: bool | None = typer.Option(
        None, "--channels-last/--no-channels-last", help="NHWC memory format."
    ),
    fast: bool | None = typer.Option(
        None,
        "--fast/--no-fast",
        help="The fastest mode measured on this device (bf16 where native: about 1 FD worse "
        "after 5 epochs): sets --amp, --compile, --channels-last (those not given explicitly).",
    ),
    workers: int | None = typer.Option(None, "--workers", help="DataLoader worker processes [0]."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory [runs/...]."),
    config_file: Path | None = typer.Option(None, "--config", "-c", help="A TOML config file."),
    assignments: list[str] = typer.Option(
        [], "--set", "-s", help="KEY=VALUE, e.g. loss.params.a=0."
    ),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the run in RUN_DIR."),
    nproc_per_node: int | None = typer.Option(
        None,
        "--nproc-per-node",
        help="DDP workers on this machine (torch.distributed elastic launch).",
    ),
    master_port: int | None = typer.Option(
        None, "--master-port", help="Rendezvous port [a free one]."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the resolved config, every plugin parameter and the step count; train nothing.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run's summary as JSON on stdout (messages stay on stderr)."
    ),
) -> None:
    """Train ARCH with --loss on a dataset; writes a run directory (see docs/training.md)."""
    flags = dict(
        arch=arch, loss=loss, dataset=dataset, data_root=data_root, image_size=image_size,
        channels=channels, batch_size=batch_size, steps=steps, epochs=epochs, d_steps=d_steps,
        lr=lr, lr_d=lr_d, optimizer=optimizer, reg=reg or None, aug=aug, preset=preset, seed=seed, device=device, amp=amp, ema=ema, compile=compile,
        channels_last=channels_last, fast=fast, workers=workers, out=out,
    )  # fmt: skip
    if arch is None and resume is None and config_file is None:
        raise UsageError("missing ARCH: e.g. `ganzoo run dcgan --loss lsgan` (see `ganzoo list`)")
    from ..train.distributed import gather_objects, init_from_env, launched_by_torchrun
    from ..train.launch import check_nproc, launch, train_worker
    from ..train.rundir import RunDir
    from ..train.trainer import Interrupted

    check_launch_flags(nproc_per_node, master_port)
    config = build_config(config_file, assignments, flags, resume)
    if resume is not None:
        check_resume(resume, read_toml(RunDir(resume).config), config)
    if dry_run:
        typer.echo(config.to_toml())
        typer.echo(dry_run_report(config, nproc_per_node or 1))
        return
    ctx = init_from_env(config.train.device) if launched_by_torchrun() else None
    run_dir = RunDir(Path(config.out)) if config.out else RunDir.default_for(config)
    run_dir = gather_objects(run_dir, ctx)[0]  # rank 0's name on every rank (timestamps differ)
    if resume is None and run_dir.last_checkpoint.exists():
        raise UsageError(
            f"{run_dir.root} already holds a run; continue it with --resume {run_dir.root} or pick another --out"
        )
    config.out = str(run_dir.root)
    started = time.perf_counter()
    if ctx is None and nproc_per_node is not None and nproc_per_node > 1:
        check_nproc(nproc_per_node, config.train.device)
        error_console().print(
            f"launching {nproc_per_node} DDP workers: {config.model.name} / {config.loss.name} on "
            f"{config.data.name}, batch {config.train.batch_size} per worker -> {run_dir.root}",
            highlight=False,
        )
        launch(config.to_toml(), str(run_dir.root), resume is not None, nproc_per_node, master_port)
        summary = json.loads(run_dir.summary.read_text())
    else:
        try:
            summary = train_worker(config, run_dir, resume is not None, ctx, announce=announce)
        except Interrupted as stop:  # Ctrl-C: a saved stop the user asked for, not an error
            error_console().print(str(stop), highlight=False, soft_wrap=True)
            raise typer.Exit(stop.exit_code) from None
        if ctx is not None and not ctx.is_main:
            return
    report = finished_report(summary, run_dir, time.perf_counter() - started)
    if as_json:  # scripts: the summary and where everything is, nothing else on stdout
        error_console().print("\n".join(report), highlight=False, soft_wrap=True)
        typer.echo(json.dumps({"run": str(run_dir.root), **summary}, indent=2))
        return
    console().print("\n".join(report), highlight=False, soft_wrap=True)


def finished_report(summary: dict[str, Any], run_dir: RunDir, wall_seconds: float) -> list[str]:
    """The end of a run: how long, the final losses, where its outputs are, what to run next."""
    from ..train.progress import clock_text

    final = summary.get("final") or {}
    losses = "  ".join(
        f"{name[0]} {final[name]:.4f}" for name in ("d_loss", "g_loss") if name in final
    )
    curve = run_dir.loss_curve
    # the done line ends with the checkpoint's path, as scripts read it
    return [
        f"done: {summary['steps']} steps in {clock_text(wall_seconds)} (training "
        f"{clock_text(summary['train_seconds'])}, {summary['img_per_s']:.0f} img/s)"
        + (f", final losses {losses}" if losses else "")
        + f", checkpoint {run_dir.last_checkpoint}",
        f"  samples:     {run_dir.sample_grid(summary['steps'])}",
        f"  loss curve:  {curve}"
        if curve.exists()
        else "  loss curve:  not drawn (matplotlib is not installed)",
        f"  TensorBoard: tensorboard --logdir {run_dir.tensorboard}",
        f"next: ganzoo eval {run_dir.root}",
    ]


def dry_run_report(config: RunConfig, world_size: int) -> str:
    """TOML comments after the config: every plugin parameter's value, the images, the steps."""
    from ..train.device import fast_summary, resolve_device
    from ..train.plan import plan_run, steps_reason

    plan = plan_run(config, world_size)
    per_worker = f" per worker x {world_size} workers" if world_size > 1 else ""
    lines = [
        "--dry-run: what this run would do (the config above is what it would write)",
        f"images: {plan.channels}x{plan.size}x{plan.size} from {config.data.name} "
        f"({plan.images} images{f', {len(plan.classes)} classes' if plan.classes else ''}: "
        f"{plan.batches_per_epoch} batches of {config.train.batch_size}{per_worker} an epoch)",
        f"steps: {plan.steps} ({steps_reason(config, plan)})",
        f"optimizer: {config.optim.name}, lr G {config.optim.lr:g}, "
        f"D {config.optim.lr_d or config.optim.lr:g}, schedule {config.optim.schedule}",
    ]
    if config.train.fast:
        lines.append(fast_summary(config.train, resolve_device(config.train.device)))
    for component in plan.components:
        entry = component.entry
        lines.append(
            f"{component.table}: {entry.name} (plugin {entry.plugin}, "
            f"{entry.distribution or 'in-process'} {entry.version or ''})".rstrip()
        )
        for name, value in component.values.items():
            note = ""
            if name not in component.defaults:
                note = "  (required)"
            elif name in component.set_keys:
                note = f"  (set; default {toml_literal(component.defaults[name])})"
            lines.append(f"  {name} = {toml_literal(value)}{note}")
        if not component.values:
            lines.append("  (no parameters)")
    return "\n".join(f"# {line}" for line in lines)


def toml_literal(value: Any) -> str:
    """How a config file or --set writes ``value`` (``none`` for an unset None)."""
    if value is None:
        return "none"
    try:
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    except TypeError:
        return repr(value)


def check_launch_flags(nproc_per_node: int | None, master_port: int | None) -> None:
    """The DDP launch flags are not config keys; they get the same one-line range errors."""
    if nproc_per_node is not None and nproc_per_node < 1:
        raise UsageError(f"--nproc-per-node must be >= 1, got {nproc_per_node}")
    if master_port is not None and not 1 <= master_port <= 65535:
        raise UsageError(f"--master-port must be in [1, 65535], got {master_port}")


def announce(trainer: Trainer) -> None:
    """The start banner: what trains, on what, for how long, where to."""
    from ..plugins import get_host
    from ..train.device import fast_summary

    config, spec, ctx = trainer.config, trainer.components.spec, trainer.dist
    extras = [f"reg {', '.join(config.reg)}"] if config.reg else []
    extras += [f"aug {config.aug.name}"] if config.aug.name else []
    extras += [f"preset {config.preset}"] if config.preset else []
    error_console().print(
        f"training {config.model.name} / {config.loss.name} on {config.data.name} "
        f"({spec.channels}x{spec.size}x{spec.size}){''.join(f', {e}' for e in extras)} for "
        f"{trainer.total_steps} steps on {trainer.device}"
        f"{f' x {ctx.world_size} workers' if ctx else ''} -> {trainer.run_dir.root}",
        highlight=False,
    )
    if config.train.fast:
        error_console().print(fast_summary(config.train, trainer.device), highlight=False)
    data_line(trainer)
    if trainer.step > 0:
        error_console().print(
            f"resuming from step {trainer.step} of {trainer.total_steps} "
            f"({trainer.total_steps - trainer.step} to go)",
            highlight=False,
        )
    presets = get_host().presets
    if config.preset is None and config.loss.name in presets.names():
        error_console().print(
            f"note: --preset {config.loss.name} trains with its paper's settings "
            f"({presets.get(config.loss.name).factory.source})",
            highlight=False,
        )


def data_line(trainer: Trainer) -> None:
    """Where the data came from (and a note when --data-root was passed over for another copy)."""
    source, root = trainer.data_source, trainer.config.data.root
    classes = f", {len(trainer.classes)} classes" if trainer.classes else ", unlabelled"
    if source is None:
        return
    error_console().print(
        f"data: {len(trainer.dataset)} images from {source}{classes}",  # type: ignore[arg-type]
        highlight=False,
    )
    for note in getattr(trainer.dataset, "notes", []):  # e.g. where a decoded-image cache lives
        error_console().print(f"data: {note}", highlight=False)
    if root and not str(Path(source).resolve()).startswith(str(Path(root).expanduser().resolve())):
        error_console().print(
            f"note: --data-root {root} holds no {trainer.config.data.name} data; "
            f"it was read from {source} instead",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("run")(run)
