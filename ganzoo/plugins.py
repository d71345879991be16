"""Plugin discovery: entry points in the ``ganzoo`` group, each loaded inside its own guard.

pluggy's ``load_setuptools_entrypoints`` lets one broken plugin take the whole CLI down, so every
entry point is loaded, validated and run here one at a time: a plugin that fails to import, raises
in a hook or registers something invalid is recorded as failed (with the reason) and skipped,
together with everything it registered; every other plugin keeps working.

Set ``GANZOO_DISABLE_PLUGINS=all`` (or a comma-separated list of plugin or distribution names) to
skip external plugins; the built-ins shipped with ganzoo always load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import Entry, Registry

if TYPE_CHECKING:
    from .interfaces import Architecture, Augmentation, Dataset, Loss, Preset, Regularizer

DISABLE_ENV = "GANZOO_DISABLE_PLUGINS"
BUILTIN_DISTRIBUTION = "ganzoo"


@dataclass(frozen=True)
class Kind:
    """One kind of plugin entry: its registry's name, base class and registration hook."""

    name: str  # plural, as `ganzoo list KIND` takes it
    singular: str
    base_name: str  # the ganzoo.interfaces class entries derive from (or are instances of)
    instances: bool = False  # presets are registered as instances

    @property
    def hook(self) -> str:
        return f"register_{self.name}"

    @property
    def base(self) -> type:
        # imported here: the interfaces need torch, and the kinds' names (`ganzoo --help`) do not
        from . import interfaces

        return getattr(interfaces, self.base_name)


# Every kind of entry a plugin can register. A new kind is one row here plus its hookspec.
KINDS: tuple[Kind, ...] = (
    Kind("architectures", "architecture", "Architecture"),
    Kind("losses", "loss", "Loss"),
    Kind("regularizers", "regularizer", "Regularizer"),
    Kind("augmentations", "augmentation", "Augmentation"),
    Kind("datasets", "dataset", "Dataset"),
    Kind("presets", "preset", "Preset", instances=True),
)
REGISTER_HOOKS = tuple(kind.hook for kind in KINDS)


@dataclass
class PluginStatus:
    """What ``ganzoo plugins`` reports for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed | disabled
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PluginHost:
    """The pluggy manager plus one registry per :data:`KINDS` row."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("ganzoo")
        self.pm.add_hookspecs(hookspecs)
        self.registries: dict[str, Registry[Any]] = {
            kind.name: Registry(kind.singular, kind.base, kind.instances) for kind in KINDS
        }
        self.plugins: list[PluginStatus] = []

    @property
    def architectures(self) -> Registry[Architecture]:
        return self.registries["architectures"]

    @property
    def losses(self) -> Registry[Loss]:
        return self.registries["losses"]

    @property
    def regularizers(self) -> Registry[Regularizer]:
        return self.registries["regularizers"]

    @property
    def augmentations(self) -> Registry[Augmentation]:
        return self.registries["augmentations"]

    @property
    def datasets(self) -> Registry[Dataset]:
        return self.registries["datasets"]

    @property
    def presets(self) -> Registry[Preset]:
        return self.registries["presets"]

    def registry_for(self, hook: str) -> Registry[Any]:
        return self.registries[hook.removeprefix("register_")]

    def load_entry_points(self) -> None:
        """Load every ``ganzoo`` entry point, each guarded; honours ``GANZOO_DISABLE_PLUGINS``."""
        disabled = _disabled_names()
        seen: dict[str, str | None] = {}  # entry-point name -> distribution
        for ep in sorted(metadata.entry_points(group="ganzoo"), key=_builtin_first):
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            builtin = dist == BUILTIN_DISTRIBUTION
            status = PluginStatus(ep.name, dist, version, builtin)
            if ep.name in seen:
                if seen[ep.name] != dist:  # (the same distribution twice on sys.path is harmless)
                    self.plugins.append(
                        self._fail(
                            status,
                            f"plugin name '{ep.name}' is already taken by distribution "
                            f"{seen[ep.name]}; rename the entry point",
                        )
                    )
                continue
            seen[ep.name] = dist
            if _is_disabled(ep.name, dist, disabled):
                status.status, status.reason = "disabled", f"disabled by {DISABLE_ENV}"
                self.plugins.append(status)
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take ganzoo down
                self.plugins.append(
                    self._fail(status, f"import failed: {type(exc).__name__}: {exc}")
                )
                continue
            self._add(plugin, status)

    def add_plugin(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> PluginStatus:
        """Register an in-process plugin (tests, notebooks) exactly as an entry point would be."""
        return self._add(plugin, PluginStatus(name, distribution, version, builtin=False))

    def remove_plugin(self, name: str) -> None:
        """Unregister plugin ``name`` and everything it registered."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        for hook in REGISTER_HOOKS:
            registry = self.registry_for(hook)
            for entry in [e for e in registry if e.plugin == name]:
                del registry._entries[entry.qualified_name]
        self.plugins = [p for p in self.plugins if p.name != name]

    def add_commands(self, app: Any) -> None:
        """Let every loaded plugin add sub-commands to ``app``; a failing plugin is marked failed."""
        for status in self.plugins:
            plugin = self.pm.get_plugin(status.name)
            if plugin is None or "register_commands" not in status.hooks:
                continue
            try:
                self._caller("register_commands", plugin)(app=app)
            except Exception as exc:
                status.status, status.reason = "failed", f"register_commands: {exc}"

    def _add(self, plugin: object, status: PluginStatus) -> PluginStatus:
        self.plugins.append(status)
        try:
            self.pm.register(plugin, name=status.name)
        except Exception as exc:  # pluggy rejects hookimpls that do not match a hookspec
            return self._fail(status, f"invalid plugin: {exc}")
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(c.name for c in callers if not c.has_spec())
        if unknown:
            self.pm.unregister(plugin)
            known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("register_")))
            return self._fail(status, f"invalid plugin: unknown hook {unknown[0]} (hooks: {known})")
        status.hooks = sorted(c.name for c in callers)
        if not status.hooks:
            self.pm.unregister(plugin)
            return self._fail(status, "implements no ganzoo hook (missing @ganzoo.hookimpl?)")
        staged: list[tuple[Registry[Any], Entry[Any]]] = []
        try:
            for hook in REGISTER_HOOKS:
                if hook in status.hooks:
                    register = self._register_fn(self.registry_for(hook), status, staged)
                    self._caller(hook, plugin)(register=register)
            self._check_clashes_within(staged)
        except Exception as exc:
            self.pm.unregister(plugin)
            return self._fail(status, f"{type(exc).__name__}: {exc}")
        for registry, entry in staged:  # all or nothing: a failing plugin registers nothing
            registry.add(entry)
        return status

    def _caller(self, hook: str, plugin: object) -> Callable[..., Any]:
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    @staticmethod
    def _register_fn(
        registry: Registry[Any],
        status: PluginStatus,
        staged: list[tuple[Registry[Any], Entry[Any]]],
    ) -> Callable[..., None]:
        def register(name: str, factory: type, *, description: str | None = None) -> None:
            registry.validate(name, factory)
            text = factory.description if registry.instances else factory.__doc__
            doc = (text or "").strip().splitlines()
            entry = Entry(
                name=name,
                factory=factory,
                plugin=status.name,
                description=description if description is not None else (doc[0] if doc else ""),
                distribution=status.distribution,
                version=status.version,
            )
            staged.append((registry, entry))

        return register

    @staticmethod
    def _check_clashes_within(staged: list[tuple[Registry[Any], Entry[Any]]]) -> None:
        seen: set[tuple[str, str]] = set()
        for registry, entry in staged:
            key = (registry.kind, entry.name)
            if key in seen:
                raise PluginError(f"{registry.kind} '{entry.name}' registered twice")
            seen.add(key)

    @staticmethod
    def _fail(status: PluginStatus, reason: str) -> PluginStatus:
        status.status, status.reason = "failed", reason
        return status


def external_plugins_enabled() -> bool:
    """Whether any plugin besides the built-ins would load (found without importing one)."""
    disabled = _disabled_names()
    dists = (
        (ep.name, ep.dist.name if ep.dist else None) for ep in metadata.entry_points(group="ganzoo")
    )
    return any(
        dist != BUILTIN_DISTRIBUTION and not _is_disabled(name, dist, disabled)
        for name, dist in dists
    )


def _is_disabled(name: str, dist: str | None, disabled: set[str]) -> bool:
    """Built-ins always load; others unless ``GANZOO_DISABLE_PLUGINS`` names them (or all)."""
    return dist != BUILTIN_DISTRIBUTION and bool({"all", "1", name, dist} & disabled)


def _disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _builtin_first(ep: metadata.EntryPoint) -> tuple[bool, str]:
    dist = ep.dist.name if ep.dist else ""
    return (dist != BUILTIN_DISTRIBUTION, ep.name)


@cache
def get_host() -> PluginHost:
    """The process-wide plugin host, loaded from entry points on first use."""
    host = PluginHost()
    host.load_entry_points()
    return host


def host_loaded() -> bool:
    """Whether :func:`get_host` has loaded the plugins already (asking it costs nothing then)."""
    return get_host.cache_info().currsize > 0


def reset_host() -> None:
    """Forget the loaded plugins (tests; after installing a plugin in-process)."""
    get_host.cache_clear()
