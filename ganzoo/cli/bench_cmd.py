"""``ganzoo bench``: train a matrix of variants under one budget and tabulate their scores."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..bench.report import rich_table, run_row, write_outputs
from ..bench.runner import BenchDir, describe_run, run_cell, score_run
from ..bench.spec import BenchSpec
from ..errors import UsageError
from ..train.rundir import RunDir
from .console import console, error_console


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def bench(
    arch: str = typer.Option("dcgan", "--arch", "-a", help="Comma list of architectures."),
    loss: str = typer.Option("bce,lsgan,mmd", "--loss", "-l", help="Comma list of losses."),
    dataset: str = typer.Option("fashion-mnist", "--dataset", "-d", help="Dataset of every cell."),
    steps: int = typer.Option(2000, "--steps", help="Generator steps per cell."),
    seeds: str = typer.Option("0", "--seeds", help="Comma list of seeds, e.g. 0,1,2."),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    image_size: int | None = typer.Option(None, "--image-size"),
    assignments: list[str] = typer.Option([], "--set", "-s", help="KEY=VALUE for every cell."),
    device: str = typer.Option("auto", "--device"),
    metrics: str = typer.Option("fid,kid,pr", "--metrics", "-m", help="fid, kid, pr, is."),
    num_samples: int = typer.Option(1000, "--num-samples", "-n", help="Samples per evaluation."),
    extractor: str | None = typer.Option(
        None, "--extractor", help="Feature extractor of the metrics."
    ),
    inception_samples: int = typer.Option(
        0, "--inception-samples", help="Add Inception FID on N samples."
    ),
    inception_weights: Path | None = typer.Option(None, "--inception-weights"),
    curve_points: int = typer.Option(
        4, "--curve-points", help="Checkpoints scored per cell for curves."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Bench directory [bench/<dataset>-<time>]."
    ),
    from_runs: list[Path] = typer.Option(
        [], "--from", help="Tabulate existing run directories instead."
    ),
) -> None:
    """Train every arch x loss x seed cell under one budget, score each the same way, tabulate."""
    spec = BenchSpec(
        archs=_names(arch), losses=_names(loss), dataset=dataset, steps=steps,
        seeds=[int(s) for s in _names(seeds)], batch_size=batch_size, image_size=image_size,
        assignments=list(assignments), device=device, metrics=_names(metrics), num_samples=num_samples,
        extractor=extractor, inception_samples=inception_samples,
        inception_weights=str(inception_weights) if inception_weights else None, curve_points=curve_points,
    )  # fmt: skip
    say = error_console().print
    if from_runs:
        run_dirs = [RunDir(p) for p in from_runs]
        root = out or Path("bench") / f"from-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        if not spec.archs or not spec.losses or not spec.seeds:
            raise UsageError("bench needs at least one --arch, one --loss and one seed")
        root = out or Path("bench") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
        bench_dir = BenchDir(root)
        bench_dir.claim(spec)
        for cell in spec.cells():
            run_cell(spec, bench_dir, cell, say)
        run_dirs = [bench_dir.run_dir(c) for c in spec.cells()]
    rows = []
    for run_dir in run_dirs:
        described = describe_run(run_dir)
        say(f"scoring {run_dir.root}")
        rows.append(run_row(described, score_run(spec, run_dir)))
    table = write_outputs(root, rows)
    console().print(rich_table(table))
    console().print(
        f"results.md, results.csv, results.json and figure.png in {root}", highlight=False
    )


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
