"""``--compile``: torch.compile on G and D in place, with a way back to eager.

``nn.Module.compile`` compiles the module's ``__call__`` and leaves its state dict untouched (no
``_orig_mod.`` prefix), so checkpoints of compiled and eager runs are interchangeable. A
discriminator's ``forward_features`` (called directly by feature losses such as MMD) is compiled too.
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator

# G and D share Dynamo's cache entries (nn.Module._call_impl is one code object) and each runs in
# a few variants (train/eval, autocast on/off, D with and without weight gradients): leave room
RECOMPILE_LIMIT = 32


def compile_models(generator: nn.Module, discriminator: nn.Module, mode: str = "default") -> None:
    """Compile G and D (and D's ``forward_features``) in place with torch.compile's ``mode``
    (``reduce-overhead`` records CUDA graphs; on a CPU it compiles as ``default`` does)."""
    torch._dynamo.config.recompile_limit = max(
        torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT
    )
    generator.compile(mode=mode)
    discriminator.compile(mode=mode)
    if isinstance(discriminator, Discriminator):
        discriminator.forward_features = torch.compile(discriminator.forward_features, mode=mode)  # type: ignore[method-assign]


class EagerDiscriminator(Discriminator):
    """``discriminator`` called without torch.compile (its class's own ``forward_features``).

    Gradient penalties need a double backward, which compiled graphs lack; the step runner sends
    their inputs here. The module is held in a list so it is not registered twice.
    """

    def __init__(self, discriminator: Discriminator) -> None:
        super().__init__()
        self._module = [discriminator]
        self.num_classes = discriminator.num_classes

    def forward_features(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        module = self._module[0]
        args = (x,) if y is None else (x, y)
        return type(module).forward_features(module, *args)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor | None:
        return self._module[0].class_logits(features)


def copy_of_call(discriminator: Discriminator) -> Discriminator:
    """An uncompiled view of ``discriminator`` sharing its weights (see EagerDiscriminator)."""
    return EagerDiscriminator(discriminator)


def uncompile_models(generator: nn.Module, discriminator: nn.Module) -> None:
    for module in (generator, discriminator):
        module._compiled_call_impl = None  # what nn.Module.compile sets
    discriminator.__dict__.pop("forward_features", None)


def is_compile_error(exc: BaseException) -> bool:
    """Errors raised by Dynamo/Inductor (not by the user's model or loss itself)."""
    module = type(exc).__module__
    return (
        module.startswith(("torch._dynamo", "torch._inductor"))
        or "BackendCompilerFailed" in type(exc).__name__
    )
