"""``ganzoo bench``: train a matrix of variants under one budget and tabulate their scores."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..bench.report import rich_table, run_row, write_outputs
from ..bench.runner import BenchDir, describe_run, run_cell, score_run
from ..bench.spec import BenchSpec
from ..config import from_dict, read_toml
from ..errors import UsageError
from ..train.rundir import RunDir
from .console import console, error_console

DEFAULTS = {"archs": ["dcgan"], "losses": ["bce", "lsgan", "mmd"]}


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def bench(
    arch: str | None = typer.Option(
        None, "--arch", "-a", help="Comma list of architectures [dcgan]."
    ),
    loss: str | None = typer.Option(None, "--loss", "-l", help="Comma list of losses."),
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="Dataset of every cell [fashion-mnist]."
    ),
    steps: int | None = typer.Option(None, "--steps", help="Generator steps per cell [2000]."),
    seeds: str | None = typer.Option(None, "--seeds", help="Comma list of seeds, e.g. 0,1,2 [0]."),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help="[64]"),
    image_size: int | None = typer.Option(None, "--image-size"),
    assignments: list[str] = typer.Option([], "--set", "-s", help="KEY=VALUE for every cell."),
    device: str | None = typer.Option(None, "--device", help="[auto]"),
    metrics: str | None = typer.Option(
        None, "--metrics", "-m", help="fid, kid, pr, is [fid,kid,pr]."
    ),
    num_samples: int | None = typer.Option(
        None, "--num-samples", "-n", help="Samples per evaluation [1000]."
    ),
    extractor: str | None = typer.Option(
        None, "--extractor", help="Feature extractor of the metrics."
    ),
    inception_samples: int | None = typer.Option(
        None, "--inception-samples", help="Add Inception FID on N samples."
    ),
    inception_weights: Path | None = typer.Option(None, "--inception-weights"),
    curve_points: int | None = typer.Option(
        None, "--curve-points", help="Checkpoints scored per cell [4]."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", "-c", help="A bench TOML (see benchmarks/)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Bench directory [bench/<dataset>-<time>]."
    ),
    from_runs: list[Path] = typer.Option(
        [], "--from", help="Tabulate existing run directories instead."
    ),
) -> None:
    """Train every arch x loss x seed cell under one budget, score each the same way, tabulate.

    Settings: defaults < --config FILE.toml (keys as in BenchSpec) < flags.
    """
    flags = {
        "archs": _names(arch) if arch else None,
        "losses": _names(loss) if loss else None,
        "dataset": dataset, "steps": steps,
        "seeds": [int(s) for s in _names(seeds)] if seeds else None,
        "batch_size": batch_size, "image_size": image_size,
        "assignments": list(assignments) or None, "device": device,
        "metrics": _names(metrics) if metrics else None, "num_samples": num_samples,
        "extractor": extractor, "inception_samples": inception_samples,
        "inception_weights": str(inception_weights) if inception_weights else None,
        "curve_points": curve_points,
    }  # fmt: skip
    layer = read_toml(config_file) if config_file else {}
    spec = from_dict(
        BenchSpec,
        {**DEFAULTS, **layer, **{k: v for k, v in flags.items() if v is not None}},
        "",
    )
    say = error_console().print
    if from_runs:
        run_dirs = [RunDir(p) for p in from_runs]
        root = out or Path("bench") / f"from-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        if not spec.archs or not spec.losses or not spec.seeds:
            raise UsageError("bench needs at least one --arch, one --loss and one seed")
        root = out or Path("bench") / f"{spec.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
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
