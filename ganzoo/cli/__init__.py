"""The ``ganzoo`` command line: one module per command, errors as one line on stderr.

Exit codes: 0 ok, 1 error, 2 usage (bad input, unknown names), 130 interrupted. Set
``GANZOO_DEBUG=1`` to see the traceback behind an error.

Commands are loaded when they are used: ``ganzoo --version`` and ``ganzoo --help`` import no
torch (importing it takes seconds), a command's module is imported when it runs or shows its own
help, and plugins are loaded for their commands only when one could add any.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click
import typer
import typer.main
from rich.markup import escape
from typer.core import TyperGroup

from .. import __version__
from ..errors import GanzooError
from .console import error_console

DEBUG_ENV = "GANZOO_DEBUG"

# The built-in commands in `ganzoo --help` order: name -> (module in this package, function).
# Each module's register(app) adds its command; a new command is one row here.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_cmd", "list_entries"),
    "info": ("info_cmd", "info"),
    "run": ("run_cmd", "run"),
    "sample": ("sample_cmd", "sample"),
    "eval": ("eval_cmd", "eval_run"),
    "bench": ("bench_cmd", "bench"),
    "export": ("export_cmd", "export"),
    "plugins": ("plugins_cmd", "plugins"),
}


class GanzooGroup(TyperGroup):
    """Loads commands on demand; turns :class:`GanzooError` into ``error: ...`` and its exit code."""

    _summaries_only = False  # while listing commands in `ganzoo --help`

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

    def list_commands(self, ctx: Any) -> list[str]:
        add_plugin_commands(only_if_cheap_or_needed=True)
        self._add_registered()
        return [
            *BUILTIN_COMMANDS,
            *(name for name in self.commands if name not in BUILTIN_COMMANDS),
        ]

    def get_command(self, ctx: Any, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS and name not in self.commands and self._summaries_only:
            summary = summary_command(name)
            if summary is not None:
                return summary
        if name in BUILTIN_COMMANDS:
            load_builtin_command(name)
        elif name not in self.commands:  # perhaps a plugin's
            add_plugin_commands(only_if_cheap_or_needed=False)
        self._add_registered()
        return self.commands.get(name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self._summaries_only = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._summaries_only = False

    def _add_registered(self) -> None:
        """Commands registered on ``app`` since this group was built (loaded or plugins')."""
        for info in app.registered_commands:
            command = typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
            if command.name and command.name not in self.commands:
                self.commands[command.name] = command


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


_loaded_builtins: set[str] = set()
_plugin_commands_added = False


def load_builtin_command(name: str) -> None:
    """Import built-in command ``name``'s module and register it on ``app`` (once)."""
    if name in _loaded_builtins:
        return
    module = importlib.import_module(f".{BUILTIN_COMMANDS[name][0]}", __name__)
    module.register(app)
    _loaded_builtins.add(name)


def summary_command(name: str) -> click.Command | None:
    """A stand-in with command ``name``'s help, read from its source: no import, no torch.

    ``None`` where the function is not found there (renamed): the real command is loaded instead.
    """
    module, function = BUILTIN_COMMANDS[name]
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return click.Command(name, help=ast.get_docstring(node))
    return None


def add_plugin_commands(*, only_if_cheap_or_needed: bool) -> None:
    """Let plugins add their commands, once.

    Knowing whether a plugin adds commands means importing it (and, usually, torch); listing
    commands does it only where the plugins are loaded already or a plugin besides the built-ins
    is installed (``GANZOO_DISABLE_PLUGINS=all`` skips them).
    """
    global _plugin_commands_added
    from ..plugins import external_plugins_enabled, get_host, host_loaded

    if _plugin_commands_added:
        return
    if only_if_cheap_or_needed and not (host_loaded() or external_plugins_enabled()):
        return
    _plugin_commands_added = True
    get_host().add_commands(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="ganzoo")
