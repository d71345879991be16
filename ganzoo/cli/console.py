"""Rich consoles: data on stdout, messages on stderr.

On a terminal rich fits output to the window. Anywhere else (a pipe, a log file, a CI capture)
nothing is wrapped or truncated, whatever ``$COLUMNS`` says: a path split over two lines or a
number cut to ``514…`` breaks every script that reads it.
"""

from __future__ import annotations

from rich.console import Console

# Wide enough that no line of ours is ever wrapped and no table cell ever truncated.
UNLIMITED_WIDTH = 1 << 20


def console() -> Console:
    """The console for results (stdout)."""
    return _console(stderr=False)


def error_console() -> Console:
    """The console for messages, progress and errors (stderr)."""
    return _console(stderr=True)


def _console(stderr: bool) -> Console:
    out = Console(stderr=stderr)
    if not out.is_terminal:
        out.width = UNLIMITED_WIDTH
        out.soft_wrap = True
    return out
