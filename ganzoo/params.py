"""Plugin parameters: checked against the factory's signature before anything is built.

A typo in ``--set loss.params.lamda=1`` is an error naming the accepted parameters, never a
silently ignored key (the good part of StudioGAN's config handling).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ParamDoc:
    """One constructor parameter as ``ganzoo info`` shows it."""

    name: str
    type: str  # the annotation as written; the default's type where there is none; "" if neither
    default: Any  # inspect.Parameter.empty: required
    doc: str  # its entry in the class docstring's ``Args:`` section; "" where there is none

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def as_dict(self) -> dict[str, Any]:
        default = None if self.required else self.default
        if isinstance(default, tuple):
            default = list(default)  # as a config file or --set writes it
        if not isinstance(default, str | int | float | bool | list | dict | type(None)):
            default = repr(default)  # tuples, enums, ...: JSON has no such value
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "required": self.required,
            "doc": self.doc,
        }


def describe_params(factory: type) -> list[ParamDoc]:
    """Every parameter ``factory(**params)`` accepts: type, default and docstring entry."""
    docs = {
        **args_section(inspect.getdoc(factory.__init__) or ""),  # type: ignore[misc]
        **args_section(inspect.getdoc(factory) or ""),
    }
    described = []
    for name, p in accepted_params(factory).items():
        if p.annotation is not inspect.Parameter.empty:
            annotation = p.annotation
            kind = (
                annotation
                if isinstance(annotation, str)
                else getattr(annotation, "__name__", str(annotation))
            )
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            kind = type(p.default).__name__
        else:
            kind = ""
        described.append(ParamDoc(name, kind, p.default, docs.get(name, "")))
    return described


ARG_LINE = re.compile(r"^(?P<name>\*{0,2}\w+)(?:\s*\([^)]*\))?\s*:\s*(?P<text>.*)$")


def args_section(docstring: str) -> dict[str, str]:
    """``{name: text}`` from a Google-style ``Args:`` section (continuation lines joined)."""
    docs: dict[str, str] = {}
    lines = docstring.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:"))
    except StopIteration:
        return docs
    header_indent = _indent(lines[start])
    entry_indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= header_indent:  # the next section (Returns:, a paragraph) ends it
            break
        entry_indent = indent if entry_indent is None else entry_indent
        match = ARG_LINE.match(line.strip())
        if indent == entry_indent and match:
            current = match["name"].lstrip("*")
            docs[current] = match["text"].strip()
        elif current is not None:
            docs[current] = f"{docs[current]} {line.strip()}".strip()
    return docs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


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
