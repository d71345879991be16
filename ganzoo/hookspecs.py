"""The hooks a ganzoo plugin may implement.

A plugin is any module or object with functions decorated by :data:`ganzoo.hookimpl`, exposed through
an entry point in the ``ganzoo`` group::

    [project.entry-points.ganzoo]
    my_losses = "my_package.plugin"

pluggy lets an implementation accept a subset of the arguments, so new arguments can be added here
later without breaking existing plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def register_architectures(register: Any) -> None:
    """Register architectures: ``register("name", ArchitectureSubclass, description="...")``."""


@hookspec
def register_losses(register: Any) -> None:
    """Register losses: ``register("name", LossSubclass, description="...")``."""


@hookspec
def register_datasets(register: Any) -> None:
    """Register datasets: ``register("name", DatasetSubclass, description="...")``."""


@hookspec
def register_regularizers(register: Any) -> None:
    """Register regularizers: ``register("name", RegularizerSubclass, description="...")``."""


@hookspec
def register_augmentations(register: Any) -> None:
    """Register augmentations: ``register("name", AugmentationSubclass, description="...")``."""


@hookspec
def register_presets(register: Any) -> None:
    """Register presets: ``register("name", Preset(config={...}, source="Paper et al. 2020"))``."""


@hookspec
def register_commands(app: Any) -> None:
    """Add sub-commands to the ``ganzoo`` typer application: ``@app.command() def foo(): ...``."""
