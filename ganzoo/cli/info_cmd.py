"""``ganzoo info NAME [--json]``: one plugin entry in full, with every parameter it takes."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UnknownNameError, UsageError
from ..registry import Entry
from .console import console

# where each kind's parameters go in the config
PARAMS_TABLE = {
    "architectures": "model.params",
    "losses": "loss.params",
    "regularizers": "reg.{name}",
    "augmentations": "aug.params",
    "datasets": "data.params",
}


def entry_info(kind: str, entry: Entry) -> dict[str, Any]:
    """What ``ganzoo info`` shows of ``entry``: list's row, its parameters and where they go."""
    from ..params import describe_params
    from .list_cmd import entry_row

    info: dict[str, Any] = {"kind": kind, **entry_row(entry)}
    if kind in PARAMS_TABLE:
        info["config_table"] = PARAMS_TABLE[kind].format(name=entry.name)
        info["params"] = [p.as_dict() for p in describe_params(entry.factory)]
    return info


def matching_entries(name: str) -> list[tuple[str, Entry]]:
    """Every entry called ``name`` (bare or ``plugin:name``), of any kind."""
    from ..plugins import get_host

    registries = get_host().registries
    found = [
        (kind, entry)
        for kind, registry in registries.items()
        for entry in registry
        if name in (entry.name, entry.qualified_name)
    ]
    if not found:
        known = {n for registry in registries.values() for e in registry for n in (e.name,)}
        raise UnknownNameError("name", name, known)
    return found


def info(
    name: str = typer.Argument(..., help="A registered name, bare or plugin:name, e.g. r1."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Show one architecture, loss, regularizer, augmentation, dataset or preset in full."""
    if not name.strip():
        raise UsageError("ganzoo info needs a NAME, e.g. `ganzoo info r1` (see `ganzoo list`)")
    infos = [entry_info(kind, entry) for kind, entry in matching_entries(name)]
    if as_json:
        typer.echo(json.dumps(infos, indent=2))
        return
    out = console()
    for item in infos:
        out.print(
            f"[bold]{escape(item['qualified_name'])}[/] ({item['kind']}; "
            f"{escape(item['distribution'] or 'in-process')} {escape(item['version'] or '')})"
            f"\n  {escape(item['description'])}",
            highlight=False,
        )
        if "source" in item:
            out.print(f"  source: {escape(item['source'])}", highlight=False)
            out.print(f"  config: {escape(json.dumps(item['config']))}", highlight=False)
        if "params" not in item:
            continue
        if not item["params"]:
            out.print("  no parameters", highlight=False)
            continue
        table = Table(
            title=f"parameters (--set {item['config_table']}.NAME=VALUE)", title_justify="left"
        )
        for column in ("name", "type", "default", "doc"):
            table.add_column(column, overflow="fold")
        for p in item["params"]:
            default = "required" if p["required"] else json.dumps(p["default"])
            table.add_row(p["name"], escape(p["type"]), escape(default), escape(p["doc"]))
        out.print(table)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
