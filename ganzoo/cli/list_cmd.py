"""``ganzoo list [KIND] [PATTERN] [--json]``: what the plugins registered."""

from __future__ import annotations

import json
from enum import Enum

import typer
from rich.table import Table

from ..errors import UnknownNameError
from ..plugins import get_host
from ..registry import Registry
from .console import console


class Kind(str, Enum):
    architectures = "architectures"
    losses = "losses"
    datasets = "datasets"


def registries() -> dict[str, Registry]:
    host = get_host()
    return {"architectures": host.architectures, "losses": host.losses, "datasets": host.datasets}


def list_entries(
    kind: str | None = typer.Argument(
        None, help="architectures, losses or datasets (default: all)", show_default=False
    ),
    pattern: str | None = typer.Argument(None, help="shell-style filter, e.g. 'dc*'"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """List registered architectures, losses and datasets."""
    all_registries = registries()
    if kind is not None and kind not in all_registries:
        if pattern is None:  # `ganzoo list 'dc*'`: the one argument is a pattern
            kind, pattern = None, kind
        else:
            raise UnknownNameError("kind", kind, all_registries)
    selected = {k: r for k, r in all_registries.items() if kind in (None, k)}
    found = {k: [e.as_dict() for e in r.entries(pattern)] for k, r in selected.items()}
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    out = console()
    for name, rows in found.items():
        table = Table(title=name, title_justify="left")
        for column in ("name", "plugin", "version", "description"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["name"], row["plugin"], row["version"] or "", row["description"])
        out.print(table)


def register(app: typer.Typer) -> None:
    app.command("list")(list_entries)
