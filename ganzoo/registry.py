"""A strict registry of named factories, one per plugin kind (architectures, losses, datasets).

Names are validated, factories must subclass the kind's base class, every entry remembers the
plugin that registered it, and a clash is never resolved silently: both entries stay, reachable as
``plugin:name``, and the bare name becomes an error listing the candidates.
"""

from __future__ import annotations

import fnmatch
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import AmbiguousNameError, PluginError, UnknownNameError

T = TypeVar("T")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory and where it came from."""

    name: str
    factory: type[T]  # the class (an instance for instance kinds: presets)
    plugin: str
    description: str = ""
    distribution: str | None = None
    version: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "qualified_name": self.qualified_name,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "description": self.description,
        }


@dataclass
class Registry(Generic[T]):
    """Entries of one kind, looked up by bare or ``plugin:name`` names."""

    kind: str
    base: type[T]
    #: entries are instances of ``base`` (presets), not subclasses (architectures, losses, ...)
    instances: bool = False
    _entries: dict[str, Entry[T]] = field(default_factory=dict)  # keyed by qualified name

    def validate(self, name: str, factory: object) -> None:
        """Raise :class:`PluginError` unless ``name`` and ``factory`` may be registered."""
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise PluginError(
                f"invalid {self.kind} name {name!r}: use lowercase letters, digits, '-' and '_' "
                f"(pattern {NAME_RE.pattern})"
            )
        if self.instances:
            if not isinstance(factory, self.base):
                raise PluginError(
                    f"{self.kind} '{name}': {factory!r} is not a ganzoo.{self.base.__name__}"
                )
            return
        if not (inspect.isclass(factory) and issubclass(factory, self.base)):
            raise PluginError(
                f"{self.kind} '{name}': {factory!r} is not a subclass of ganzoo.{self.base.__name__}"
            )
        if inspect.isabstract(factory):
            missing = ", ".join(sorted(getattr(factory, "__abstractmethods__", ())))
            raise PluginError(f"{self.kind} '{name}': {factory.__name__} leaves {missing} abstract")

    def add(self, entry: Entry[T]) -> None:
        self.validate(entry.name, entry.factory)
        if entry.qualified_name in self._entries:
            raise PluginError(f"{self.kind} '{entry.qualified_name}' is registered twice")
        self._entries[entry.qualified_name] = entry

    def get(self, name: str) -> Entry[T]:
        """Look up ``name`` or ``plugin:name``; unknown or ambiguous names raise a usage error."""
        if name in self._entries:
            return self._entries[name]
        matches = [e for e in self._entries.values() if e.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(self.kind, name, [e.qualified_name for e in matches])
        # suggest what the user typed the kind of: bare names for a bare name, else qualified
        known = self.names() if ":" in name else sorted({e.name for e in self})
        raise UnknownNameError(self.kind, name, known)

    def names(self) -> list[str]:
        """Every name a user may type: bare names and qualified names."""
        return sorted({e.name for e in self} | set(self._entries))

    def entries(self, pattern: str | None = None) -> list[Entry[T]]:
        """Entries sorted by name, filtered by a shell-style ``pattern`` (``"dc*"``) if given."""
        found = [
            e
            for e in self
            if pattern is None
            or fnmatch.fnmatchcase(e.name, pattern)
            or fnmatch.fnmatchcase(e.qualified_name, pattern)
        ]
        return sorted(found, key=lambda e: (e.name, e.plugin))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
