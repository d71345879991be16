"""``ganzoo eval RUN_DIR``: FID / KID / precision-recall / IS through torch-fidelity."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..metrics.evaluate import EvalRequest, evaluate
from ..train.rundir import RunDir
from .console import console


def eval_run(
    run_dir: Path = typer.Argument(..., help="A run directory written by `ganzoo run`."),
    metrics: str = typer.Option(
        "fid,kid", "--metrics", "-m", help="Comma list of fid, kid, pr, is."
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
    )
    result = evaluate(RunDir(run_dir), request)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"{run_dir} (step {result['protocol']['step']})", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result["metrics"].items():
        table.add_row(name, f"{value:.4g}")
    protocol = result["protocol"]
    console().print(table)
    console().print(
        f"extractor {protocol['extractor']} (layer {protocol['feature_layer']}, {protocol['resize']}), "
        f"{protocol['num_samples']} samples vs {protocol['num_ref']} of {protocol['ref_split']}, "
        f"{'EMA' if protocol['ema'] else 'raw'} G in eval mode; {result['eval_seconds']} s -> {result['path']}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_run)
