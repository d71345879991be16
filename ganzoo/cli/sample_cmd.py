"""``ganzoo sample RUN_DIR``: images from a run's checkpoint: a batch, a slerp path or walks."""

from __future__ import annotations

from pathlib import Path

import torch
import typer
from torch import Tensor

from ..errors import UsageError
from ..interfaces import Generator
from ..labels import class_index
from ..train.device import resolve_device
from ..train.images import SampleGrid, save_individual
from ..train.latents import interpolation, prior_draw, random_walk, seed_keyframes
from ..train.loading import load_generator
from ..train.rundir import RunDir
from .console import console

DEFAULT_N = 64
DEFAULT_WALKS = 8
GRID_NAME = "sample.png"


def sample(
    run_dir: Path = typer.Argument(..., help="A run directory written by `ganzoo run`."),
    n: int | None = typer.Option(
        None,
        "--n",
        "-n",
        help=f"Number of images [{DEFAULT_N}]; with --walk, number of walks [{DEFAULT_WALKS}].",
    ),
    ema: bool = typer.Option(False, "--ema", help="Use the EMA generator."),
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="<path>",
        help=f"Grid image (.png, .jpg, ...) or a folder for {GRID_NAME} [RUN_DIR/{GRID_NAME}].",
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
    interpolate: int | None = typer.Option(
        None,
        "--interpolate",
        metavar="<steps>",
        help="Slerp from the latent of each seed of --seeds to the next, in <steps> images a row.",
    ),
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        metavar="<a,b,...>",
        help="The seeds --interpolate passes through [--seed and the next].",
    ),
    walk: int | None = typer.Option(
        None,
        "--walk",
        metavar="<steps>",
        help="-n random walks of <steps> images, one a row, from the latents of --seed.",
    ),
    truncation: float | None = typer.Option(
        None,
        "--truncation",
        metavar="<psi>",
        help="Resample latent components outside [-psi, psi] (N(0, I) priors only).",
    ),
    nrow: int | None = typer.Option(
        None,
        "--nrow",
        help="Images per grid row [about square; <steps> with --interpolate/--walk].",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    batchnorm: str = typer.Option(
        "running",
        "--batchnorm",
        help="G's BatchNorm statistics: running (as training left them) or recompute (for the "
        "checkpoint's weights, PreciseBN).",
    ),
) -> None:
    """Write an image grid (or individual PNGs) from a checkpoint; G in eval mode.

    Grey (1-channel) images are saved as grey PNGs.
    """
    check_counts(n=n, interpolate=interpolate, walk=walk, nrow=nrow, seeds=seeds)
    grid_path = grid_output(output, RunDir(run_dir).root)
    target = resolve_device(device)
    run = RunDir(run_dir)
    generator, meta = load_generator(
        run, ema=ema, checkpoint=checkpoint, device=target, batchnorm=batchnorm
    )
    draw = prior_draw(generator, truncation)
    classes = run.read_classes() if generator.num_classes > 0 else []
    label = class_index(class_, classes) if class_ is not None else None
    if interpolate is not None:
        keys = seed_keyframes(parse_seeds(seeds) if seeds else [seed, seed + 1], draw)
        grid = labelled(generator, interpolation(keys, interpolate), label, interpolate)
    elif walk is not None:
        z = random_walk(draw(n or DEFAULT_WALKS, seed), walk, draw=draw, seed=seed + 1)
        grid = labelled(generator, z, label, walk)
    elif label is not None:  # conditional, one class: n images of it
        grid = labelled(generator, draw(n or DEFAULT_N, seed), label, 0)
    else:  # unconditional: n images; conditional: a row per class
        rng = torch.Generator().manual_seed(seed)
        grid = SampleGrid.fixed(generator, n or DEFAULT_N, rng, latents=lambda k: draw(k, seed))
    grid = SampleGrid(grid.z.to(target), None if grid.y is None else grid.y.to(target), grid.nrow)
    with torch.no_grad():
        images = grid.generate(generator)  # (N, C, H, W) in [-1, 1]
    count = len(images)
    if individual is not None:
        save_individual(images, individual)
        console().print(f"{count} images from step {meta['step']} in {individual}", highlight=False)
    if individual is None or output is not None:
        rows_are_classes = grid.y is not None and label is None and nrow in (None, grid.nrow)
        if nrow is not None:
            grid.nrow = nrow
        grid.save(images, grid_path, classes if rows_are_classes else ())
        console().print(f"{count} images from step {meta['step']} in {grid_path}", highlight=False)


def labelled(generator: Generator, z: Tensor, label: int | None, nrow: int) -> SampleGrid:
    """The grid of latents ``z``, all of class ``label`` for a conditional generator."""
    if generator.num_classes <= 0:
        return SampleGrid(z, None, nrow)
    if label is None:
        raise UsageError(
            "a conditional run draws --interpolate and --walk in one class: add --class NAME"
        )
    return SampleGrid(z, torch.full((len(z),), label), nrow)


def check_counts(
    *,
    n: int | None,
    interpolate: int | None,
    walk: int | None,
    nrow: int | None,
    seeds: str | None,
) -> None:
    """One line for every count out of range or option that does not apply, before any work."""
    if n is not None and n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    for name, value in (("--interpolate", interpolate), ("--walk", walk)):
        if value is not None and value < 2:
            raise UsageError(f"{name} must be >= 2 (images from start to end), got {value}")
    if nrow is not None and nrow < 1:
        raise UsageError(f"--nrow must be >= 1, got {nrow}")
    if interpolate is not None and walk is not None:
        raise UsageError("--interpolate and --walk exclude each other; pick one")
    if interpolate is not None and n is not None:
        raise UsageError("--interpolate takes its latents from --seeds, not --n; drop --n")
    if seeds is not None and interpolate is None:
        raise UsageError("--seeds chooses the path of --interpolate; add --interpolate STEPS")


def parse_seeds(text: str) -> list[int]:
    """``"3,7,12"`` -> ``[3, 7, 12]``; at least two, or a one-line error."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--seeds takes whole numbers separated by commas, got {text!r}") from None
    if len(seeds) < 2:
        raise UsageError(f"--seeds needs at least two seeds to interpolate between, got {text!r}")
    return seeds


def grid_output(output: str | None, run_root: Path) -> Path:
    """Where the grid goes: ``-o`` as an image file, or ``sample.png`` in the folder it names.

    A folder is an existing directory, a path ending in ``/``, or a name without an extension.
    """
    if output is None:
        return run_root / GRID_NAME
    path = Path(output)
    if output.endswith(("/", "\\")) or path.is_dir() or not path.suffix:
        return path / GRID_NAME
    from PIL import Image

    Image.init()
    if path.suffix.lower() not in Image.registered_extensions():
        raise UsageError(
            f"-o {output}: '{path.suffix}' is not an image format; give a file ending in .png "
            f"(or .jpg, .webp, ...) or a folder for {GRID_NAME}"
        )
    return path


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
