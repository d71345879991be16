"""Plugin parameters: checked against the factory's signature before anything is built.

A typo in ``--set loss.params.lamda=1`` is an error naming the accepted parameters, never a
silently ignored key (the good part of StudioGAN's config handling).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import UnknownNameError, UsageError
from .registry import Entry

T = TypeVar("T")


def accepted_params(factory: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters ``factory(**params)`` accepts, by name."""
    signature = inspect.signature(factory)
    return {
        name: p
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def default_params(factory: type) -> dict[str, Any]:
    """The factory's parameters with their defaults (those without a default are left out)."""
    return {
        name: p.default
        for name, p in accepted_params(factory).items()
        if p.default is not inspect.Parameter.empty
    }


def check_params(
    entry: Entry[Any], params: Mapping[str, Any], section: str, table: str | None = None
) -> dict[str, Any]:
    """Return ``params`` coerced to the defaults' types; unknown names or bad types are errors.

    ``table`` is where the parameters live in the config (default ``SECTION.params``).
    """
    table = table or f"{section}.params"
    accepted = accepted_params(entry.factory)
    checked: dict[str, Any] = {}
    for name, value in params.items():
        if name not in accepted:
            raise UnknownNameError(f"parameter of {entry.name} ({table})", name, accepted)
        checked[name] = _coerce(value, accepted[name].default, f"{table}.{name}")
    missing = [
        n for n, p in accepted.items() if p.default is inspect.Parameter.empty and n not in checked
    ]
    if missing:
        raise UsageError(f"{entry.name} needs {table}.{missing[0]}; set it with --set")
    return checked


def instantiate(
    entry: Entry[T], params: Mapping[str, Any], section: str, table: str | None = None
) -> T:
    """Build ``entry``'s factory with checked ``params``."""
    return entry.factory(**check_params(entry, params, section, table))


def _coerce(value: Any, default: Any, key: str) -> Any:
    if default is inspect.Parameter.empty or default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise UsageError(f"{key} must be true or false, got {value!r}")
    if isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(default, float)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return float(value)
    if isinstance(default, tuple | list) and isinstance(value, tuple | list):
        return type(default)(value)
    if isinstance(value, type(default)):
        return value
    name = type(default).__name__
    article = "an" if name[0] in "aeiou" else "a"
    raise UsageError(f"{key} must be {article} {name}, got {value!r}")
