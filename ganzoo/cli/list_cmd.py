"""``ganzoo list [KIND] [PATTERN] [--json]``: what the plugins registered."""

from __future__ import annotations

import difflib
import json

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UnknownNameError, UsageError
from ..plugins import KINDS, get_host
from ..registry import Entry, Registry
from .console import console, error_console


def registries() -> dict[str, Registry]:
    return dict(get_host().registries)


def entry_row(entry: Entry, params: bool = False) -> dict[str, object]:
    """An entry as ``list`` shows it; with ``params``, its parameters (not for presets)."""
    from ..interfaces import Preset  # torch: not for `ganzoo list --help`
    from ..params import describe_params

    row = entry.as_dict()
    if isinstance(entry.factory, Preset):  # where a preset's settings come from, and what they are
        row["source"] = entry.factory.source
        row["measured"] = entry.factory.measured
        row["config"] = dict(entry.factory.config)
    elif params:
        row["params"] = [p.as_dict() for p in describe_params(entry.factory)]
    return row


def params_cell(row: dict[str, object]) -> str:
    """``name: type = default`` per line (``required`` where there is no default)."""
    lines = []
    for p in row.get("params") or []:  # type: ignore[union-attr]
        default = "required" if p["required"] else json.dumps(p["default"])
        lines.append(
            f"{p['name']}: {p['type']} = {default}" if p["type"] else f"{p['name']} = {default}"
        )
    return "\n".join(lines)


def list_entries(
    kind: str | None = typer.Argument(
        None,
        help=f"{', '.join(k.name for k in KINDS)} (default: all)",
        show_default=False,
    ),
    pattern: str | None = typer.Argument(None, help="shell-style filter, e.g. 'dc*'"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    params: bool = typer.Option(
        False, "--params", help="Also each entry's parameters with their defaults (`ganzoo info`)."
    ),
) -> None:
    """List registered architectures, losses, regularizers, augmentations, datasets, presets."""
    all_registries = registries()
    if kind is not None and kind not in all_registries:
        if pattern is None:  # `ganzoo list 'dc*'`: the one argument is a pattern
            kind, pattern = None, kind
        else:
            raise UnknownNameError("kind", kind, all_registries)
    selected = {k: r for k, r in all_registries.items() if kind in (None, k)}
    found = {k: [entry_row(e, params) for e in r.entries(pattern)] for k, r in selected.items()}
    if kind is None and pattern is not None and not any(found.values()):
        raise nothing_matches(pattern, list(all_registries))
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if kind is not None and not found[kind]:
        error_console().print(f"no {kind} match {pattern!r}", highlight=False, soft_wrap=True)
        return
    out = console()
    for name, rows in found.items():
        table = Table(title=name, title_justify="left")
        columns = ["name", "plugin", "version", "description"]
        columns += ["source", "measured"] if name == "presets" else []
        columns += ["params"] if params and name != "presets" else []
        for column in columns:
            table.add_column(column)
        for row in rows:
            cells = {**row, "params": params_cell(row)}
            table.add_row(*(escape(str(cells.get(c) or "")) for c in columns))
        out.print(table)


def nothing_matches(pattern: str, kinds: list[str]) -> UsageError:
    """A lone argument that is neither a kind nor a pattern matching anything: likely a typo."""
    close = difflib.get_close_matches(pattern, kinds, n=1, cutoff=0.6)
    hint = f"did you mean the kind '{close[0]}'?" if close else f"kinds: {', '.join(kinds)}"
    return UsageError(
        f"nothing matches '{pattern}'; {hint} (one argument that is not a kind is a pattern, "
        "e.g. 'dc*')"
    )


def register(app: typer.Typer) -> None:
    app.command("list")(list_entries)
