"""``ganzoo sample RUN_DIR``: images from a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from ..errors import UsageError
from ..train.device import resolve_device
from ..train.images import save_grid, save_individual
from ..train.loading import load_generator
from ..train.rundir import RunDir
from .console import console


def sample(
    run_dir: Path = typer.Argument(..., help="A run directory written by `ganzoo run`."),
    n: int = typer.Option(64, "--n", "-n", help="Number of images."),
    ema: bool = typer.Option(False, "--ema", help="Use the EMA generator."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Grid PNG [RUN_DIR/sample.png]."
    ),
    individual: Path | None = typer.Option(
        None, "--individual", help="Write one PNG per image here."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint other than last."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the latent batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
) -> None:
    """Write an image grid (or individual PNGs) from a checkpoint; G in eval mode."""
    if n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    target = resolve_device(device)
    run = RunDir(run_dir)
    generator, meta = load_generator(run, ema=ema, checkpoint=checkpoint, device=target)
    z = generator.sample_latent(n, generator=torch.Generator().manual_seed(seed)).to(target)
    with torch.no_grad():
        images = generator(z)  # (n, C, H, W) in [-1, 1]
    if individual is not None:
        save_individual(images, individual)
        console().print(f"{n} images from step {meta['step']} in {individual}", highlight=False)
    if individual is None or output is not None:
        path = output or run.root / "sample.png"
        save_grid(images, path)
        console().print(f"{n} images from step {meta['step']} in {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
