"""Rich consoles: data on stdout, messages on stderr."""

from __future__ import annotations

from rich.console import Console


def console() -> Console:
    return Console()


def error_console() -> Console:
    return Console(stderr=True)
