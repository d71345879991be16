"""``ganzoo plugins [--json]``: every plugin found, with its status."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from ..plugins import get_host
from .console import console

STATUS_STYLE = {"ok": "green", "failed": "bold red", "disabled": "yellow"}


def plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON for machines.")) -> None:
    """List plugins: name, distribution, version, hooks and whether they loaded."""
    statuses = get_host().plugins
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    table = Table()
    for column in ("plugin", "distribution", "version", "hooks", "status"):
        table.add_column(column)
    for s in statuses:
        style = STATUS_STYLE.get(s.status, "")
        status = escape(s.status + (f": {s.reason}" if s.reason else ""))
        table.add_row(
            s.name, s.distribution or "", s.version or "", ", ".join(s.hooks), f"[{style}]{status}"
        )
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins)
