"""``ganzoo sample RUN_DIR``: images from a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from ..errors import UsageError
from ..labels import class_index
from ..train.device import resolve_device
from ..train.images import SampleGrid, save_individual
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
    class_: str | None = typer.Option(
        None,
        "--class",
        "-c",
        help="Conditional runs: only this class, by index or name (e.g. 3 or sneaker) "
        "[default: one labelled row per class].",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
) -> None:
    """Write an image grid (or individual PNGs) from a checkpoint; G in eval mode."""
    if n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    target = resolve_device(device)
    run = RunDir(run_dir)
    generator, meta = load_generator(run, ema=ema, checkpoint=checkpoint, device=target)
    rng = torch.Generator().manual_seed(seed)
    classes = run.read_classes() if generator.num_classes > 0 else []
    if class_ is not None:
        label = class_index(class_, classes)
        z = generator.sample_latent(n, generator=rng)
        grid = SampleGrid(z.to(target), torch.full((n,), label, device=target), 0)
    else:  # unconditional: n images; conditional: a row per class
        grid = SampleGrid.fixed(generator, n, rng, target)
    with torch.no_grad():
        images = grid.generate(generator)  # (n, C, H, W) in [-1, 1]
    n = images.shape[0]
    if individual is not None:
        save_individual(images, individual)
        console().print(f"{n} images from step {meta['step']} in {individual}", highlight=False)
    if individual is None or output is not None:
        path = output or run.root / "sample.png"
        grid.save(images, path, classes if class_ is None else ())
        console().print(f"{n} images from step {meta['step']} in {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
