"""The ``ganzoo`` command line: one module per command, errors as one line on stderr.

Exit codes: 0 ok, 1 error, 2 usage (bad input, unknown names), 130 interrupted. Set
``GANZOO_DEBUG=1`` to see the traceback behind an error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from .. import __version__
from ..errors import GanzooError
from ..plugins import get_host
from .console import error_console

DEBUG_ENV = "GANZOO_DEBUG"


class GanzooGroup(TyperGroup):
    """Turns :class:`GanzooError` into ``error: ...`` on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GanzooError as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            error_console().print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=GanzooGroup,
    name="ganzoo",
    help="A plugin-based GAN zoo: train, sample, evaluate and benchmark GAN variants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults as [value]: not markup
    add_completion=False,
    # every command inherits it from the group's context, plugin commands included
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ganzoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """A plugin-based GAN zoo: train, sample, evaluate and benchmark GAN variants."""


def _register_builtin_commands() -> None:
    from . import bench_cmd, eval_cmd, list_cmd, plugins_cmd, run_cmd, sample_cmd

    for module in (list_cmd, run_cmd, sample_cmd, eval_cmd, bench_cmd, plugins_cmd):
        module.register(app)


_register_builtin_commands()
_plugin_commands_added = False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    global _plugin_commands_added
    if not _plugin_commands_added:
        get_host().add_commands(app)
        _plugin_commands_added = True
    app(args=argv if argv is not None else sys.argv[1:], prog_name="ganzoo")
