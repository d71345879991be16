"""``ganzoo export RUN_DIR``: the generator as files usable without ganzoo, with a model card."""

from __future__ import annotations

from pathlib import Path

import typer

from ..export import export_run
from .console import console


def export(
    run_dir: Path = typer.Argument(..., help="A run directory written by `ganzoo run`."),
    ema: bool = typer.Option(False, "--ema", help="Export the EMA generator."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for the files [RUN_DIR/export; export-ema with --ema]."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint other than last."
    ),
) -> None:
    """Write the generator as TorchScript, torch.export, ONNX and safetensors, with a model card.

    The folder gets generator.pt, generator.pt2, generator.onnx (with the onnx package),
    generator.safetensors (for ganzoo.load_generator), README.md and its sample.png.
    """
    result = export_run(run_dir, output, ema=ema, checkpoint=checkpoint)
    which = "EMA" if result.ema else "raw"
    console().print(
        f"{which} generator of step {result.step} -> {result.folder}: {', '.join(result.written)}",
        highlight=False,
        soft_wrap=True,
    )
    for note in result.skipped:
        console().print(f"skipped {note}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
