"""``ganzoo bench``: train a matrix of variants under one budget and tabulate their scores."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import typer

from ..bench.checks import check_matrix
from ..bench.progress import MatrixClock, duration
from ..bench.report import FIGURE, rich_table, run_row, write_outputs
from ..bench.runner import BenchDir, describe_run, final_request, run_cell, score_run
from ..bench.spec import BenchSpec
from ..config import from_dict, read_toml
from ..errors import UnknownNameError, UsageError
from ..metrics.evaluate import check_request
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
        None, "--metrics", "-m", help="fd (fid with Inception features), kid, pr, is [fd,kid,pr]."
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
    batchnorm: str | None = typer.Option(
        None,
        "--batchnorm",
        help="Score G with BatchNorm statistics running (as trained) or recompute [running].",
    ),
    recipes: str | None = typer.Option(
        None, "--recipes", "-r", help="Comma list of the config's [recipes] to train [all]."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", "-c", help="A bench TOML (see benchmarks/)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Bench directory [bench/<dataset>-<time>]."
    ),
    from_runs: bool = typer.Option(
        False, "--from", help="Tabulate the RUN_DIRS given instead of training a matrix."
    ),
    run_dirs: list[Path] | None = typer.Argument(
        None, help="With --from: run directories to tabulate."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the results as JSON on stdout (messages stay on stderr)."
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
        "curve_points": curve_points, "batchnorm": batchnorm,
    }  # fmt: skip
    spec = load_spec(config_file, flags)
    if recipes:
        spec.recipes = pick_recipes(spec.recipes, _names(recipes))
    say = error_console().print
    if from_runs:
        if not run_dirs:
            raise UsageError(
                "--from needs run directories, e.g. `ganzoo bench --from runs/a runs/b`"
            )
        runs = [RunDir(p) for p in run_dirs]
        described = [describe_run(r) for r in runs]
        for dataset in dict.fromkeys(d["dataset"] for d in described):
            check_request(final_request(spec), dataset)
        root = out or Path("bench") / f"from-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        if run_dirs:
            raise UsageError(
                f"{run_dirs[0]}: run directories are tabulated with --from, "
                "e.g. `ganzoo bench --from runs/a runs/b`"
            )
        if not spec.archs or not spec.losses or not spec.seeds:
            raise UsageError("bench needs at least one --arch, one --loss and one seed")
        root = out or Path("bench") / f"{spec.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
        check_matrix(spec, root)
        bench_dir = BenchDir(root)
        bench_dir.claim(spec)
        train_matrix(spec, bench_dir, say)
        runs = [bench_dir.run_dir(c) for c in spec.cells()]
        described = [describe_run(r) for r in runs]
    rows = []
    for i, (run_dir, run) in enumerate(zip(runs, described, strict=True)):
        label, started = f"[{i + 1}/{len(runs)}]", time.perf_counter()
        say(f"{label} scoring {run_dir.root}", highlight=False)
        rows.append(run_row(run, score_run(spec, run_dir)))
        say(f"{label} scored in {duration(time.perf_counter() - started)}", highlight=False)
    table, written = write_outputs(root, rows)
    if as_json:
        typer.echo(json.dumps({"dir": str(root), "variants": table, "runs": rows}, indent=2))
    else:
        console().print(rich_table(table, rows))
        console().print(f"{', '.join(written)} in {root}", highlight=False)
    if FIGURE not in written:
        say(f"note: {FIGURE} skipped: matplotlib is not installed (pip install matplotlib)")


def load_spec(config_file: Path | None, flags: dict[str, object]) -> BenchSpec:
    """The bench's settings: :data:`DEFAULTS` < the config file's keys < flags that are not None."""
    layer = read_toml(config_file) if config_file else {}
    given = {k: v for k, v in flags.items() if v is not None}
    return from_dict(BenchSpec, {**DEFAULTS, **layer, **given}, "")


def pick_recipes(recipes: dict[str, list[str]], names: list[str]) -> dict[str, list[str]]:
    """The named subset of the config's recipes (lanes of one study train different ones)."""
    if not recipes:
        raise UsageError("--recipes picks from a config's [recipes] table, and there is none")
    for name in names:
        if name not in recipes:
            raise UnknownNameError("recipe", name, list(recipes))
    return {name: recipes[name] for name in names}


def train_matrix(spec: BenchSpec, bench_dir: BenchDir, say: Callable[..., None]) -> None:
    """Every cell in order, each announced as cell i/N, with the matrix's ETA once one has trained."""
    cells = spec.cells()
    clock = MatrixClock(len(cells))
    for i, cell in enumerate(cells):
        label = clock.label(i)
        clock.start()
        if not run_cell(
            spec, bench_dir, cell, lambda text, label=label: say(f"{label} {text}", highlight=False)
        ):
            continue
        seconds = clock.trained()
        left = [c for c in cells[i + 1 :] if not bench_dir.run_dir(c).summary.exists()]
        eta = clock.eta(len(left))
        say(
            f"{label} {cell.slug}: trained in {duration(seconds)}"
            + (f"; {len(left)} to train, done in about {eta}" if eta else ""),
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
