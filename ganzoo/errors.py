"""Errors that reach the user as one line, with an exit code (0 ok, 1 error, 2 usage, 130 interrupted)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits with ``exit_code``."""

    exit_code: int = 1


class UsageError(GanzooError):
    """Bad input on the command line or in a config file."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A name (architecture, loss, dataset, config key, parameter) that nothing registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(set(known))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = (
            f"did you mean {_or_list(close)}?" if close else f"known: {', '.join(known) or 'none'}"
        )
        super().__init__(f"unknown {kind} '{name}'; {hint}")
        self.kind, self.name, self.suggestions = kind, name, close


class AmbiguousNameError(UsageError):
    """A bare name registered by more than one plugin; the qualified ``plugin:name`` is required."""

    def __init__(self, kind: str, name: str, candidates: Iterable[str]) -> None:
        self.candidates = sorted(candidates)
        super().__init__(
            f"{kind} '{name}' is registered by several plugins; "
            f"use one of {', '.join(self.candidates)}"
        )


class PluginError(GanzooError):
    """A plugin did something the plugin API does not allow (raised inside the plugin's guard)."""


def _or_list(items: list[str]) -> str:
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
