"""``ganzoo eval RUN_DIR``: FD (FID) / KID / precision-recall / IS through torch-fidelity."""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..metrics.evaluate import EvalRequest, check_request, evaluate
from ..train.loading import load_run_config
from ..train.rundir import RunDir
from .console import console, error_console


def eval_run(
    run_dir: Path = typer.Argument(..., help="A run directory written by `ganzoo run`."),
    metrics: str = typer.Option(
        "fd,kid",
        "--metrics",
        "-m",
        help="Comma list of fd (fid with Inception features), kid, pr, is.",
    ),
    num_samples: int = typer.Option(1000, "--num-samples", "-n", help="Generated images."),
    num_ref: int | None = typer.Option(
        None, "--num-ref", help="Reference images [= --num-samples]."
    ),
    ema: bool = typer.Option(False, "--ema", help="Evaluate the EMA generator."),
    ref: str = typer.Option("test", "--ref", help="Reference split of the run's dataset."),
    extractor: str | None = typer.Option(
        None, "--extractor", help="inception or ganzoo-fmnist [ganzoo-fmnist on fashion-mnist]."
    ),
    inception_weights: Path | None = typer.Option(
        None, "--inception-weights", help="Local FID Inception weights (offline machines)."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint other than last."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    batch_size: int = typer.Option(100, "--batch-size", help="Images per extractor batch."),
    seed: int = typer.Option(0, "--seed", help="Seed of latents and of the reference subset."),
    batchnorm: str = typer.Option(
        "running",
        "--batchnorm",
        help="G's BatchNorm statistics: running (as training left them) or recompute (for the "
        "checkpoint's weights, PreciseBN).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Score a run's generator; the result and its protocol go to RUN_DIR/eval/*.json."""
    request = EvalRequest(
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()),
        num_samples=num_samples,
        num_ref=num_ref,
        ema=ema,
        ref_split=ref,
        extractor=extractor,
        inception_weights=inception_weights,
        checkpoint=checkpoint,
        device=device,
        batch_size=batch_size,
        seed=seed,
        batchnorm=batchnorm,
    )
    result = evaluate_with_progress(RunDir(run_dir), request)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console().print(result_table(run_dir, result))
    console().print(protocol_line(result), highlight=False)


def evaluate_with_progress(run: RunDir, request: EvalRequest) -> dict[str, Any]:
    """:func:`evaluate` between a start and a finish line on stderr (a spinner on a terminal)."""
    say = error_console()
    # checked before the start line, so that bad input is the only line printed
    extractor = check_request(request, load_run_config(run).data.name).name
    num_ref = request.num_ref or request.num_samples
    say.print(
        f"eval {run.root}: generating {request.num_samples} images and extracting {extractor} "
        f"features of them and of {num_ref} {request.ref_split} images ({', '.join(request.metrics)})",
        highlight=False,
    )
    started = time.perf_counter()
    with say.status("scoring", spinner="dots") if say.is_terminal else nullcontext():
        result = evaluate(run, request)
    say.print(
        f"eval {run.root}: step {result['protocol']['step']} scored in "
        f"{time.perf_counter() - started:.1f} s",
        highlight=False,
    )
    return result


# a metric's spread, shown as its ± instead of a row of its own
SPREADS = {"kid": "kid_std", "is": "is_std"}


def result_table(run_dir: Path, result: dict[str, Any]) -> Table:
    """One row per metric, each with the extractor whose features produced it."""
    metrics, extractor = result["metrics"], result["protocol"]["extractor"]
    table = Table(title=f"{run_dir} (step {result['protocol']['step']})", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("features")
    for name, value in metrics.items():
        if name in SPREADS.values():
            continue
        spread = metrics.get(SPREADS.get(name, ""))
        shown = f"{value:.4g}" if spread is None else f"{value:.4g} ± {spread:.2g}"
        table.add_row(name, shown, extractor)
    return table


def protocol_line(result: dict[str, Any]) -> str:
    p = result["protocol"]
    kid = p.get("kid_subsets")
    spread = (
        f"; KID ± is the std over {kid['count']} random subsets of {kid['size']}"
        if kid and kid["count"] > 1
        else ""
    )
    return (
        f"extractor {p['extractor']} (layer {p['feature_layer']}, {p['resize']}), "
        f"{p['num_samples']} samples vs {p['num_ref']} of {p['ref_split']}, "
        f"{'EMA' if p['ema'] else 'raw'} G in {p['generator_mode']} mode{spread}; "
        f"{result['eval_seconds']} s "
        f"-> {result['path']}"
    )


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_run)
