"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019).

The decay warms up as ``min(decay, (1 + t) / (10 + t))`` so the average does not drag the early,
fast-moving weights along for thousands of steps (a fixed 0.999 from step 0 made DCGAN samples
worse in our measurements).

BatchNorm running statistics belong to the weights that produced them. ``batchnorm="copy"``
takes G's statistics as they are; they describe G's activations, not the averaged network's, so
a BatchNorm generator sampled in eval mode sees mismatched statistics. ``"recompute"`` (the
default) re-estimates them for the averaged weights before every checkpoint: the EMA generator
runs :data:`RECOMPUTE_BATCHES` batches of fresh latents in train mode and keeps the cumulative
mean and variance (BatchNorm's ``momentum=None``), as Yazici et al. 2019 (Sec. 4) and
``torch.optim.swa_utils.update_bn`` do for averaged weights (:mod:`ganzoo.train.batchnorm`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..config import BATCHNORM_MODES
from .batchnorm import RECOMPUTE_BATCHES, batchnorm_layers, recompute_batchnorm, recompute_seed

__all__ = ["EMA", "RECOMPUTE_BATCHES"]


class EMA:
    def __init__(self, model: nn.Module, decay: float, batchnorm: str = "recompute") -> None:
        if batchnorm not in BATCHNORM_MODES:
            raise ValueError(f"batchnorm must be one of {BATCHNORM_MODES}, got {batchnorm!r}")
        self.decay = decay
        self.batchnorm = batchnorm
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        # buffers update() copies from G: all of them, or all but BatchNorm's when they are
        # recomputed (a copy would be overwritten at the next refresh anyway)
        recomputed = {
            id(b)
            for m in batchnorm_layers(self.model)
            if batchnorm == "recompute"
            for b in m.buffers(recurse=False)
        }
        self._copied = [i for i, b in enumerate(self.model.buffers()) if id(b) not in recomputed]
        self._stale = True  # weights moved since the last refresh_batchnorm

    def current_decay(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = self.current_decay(step)
        ema_params = list(self.model.parameters())
        params = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        ema_buffers, buffers = list(self.model.buffers()), list(model.buffers())
        for i in self._copied:
            ema_buffers[i].copy_(buffers[i])
        self._stale = True

    def refresh_batchnorm(self, batch_size: int, step: int) -> None:
        """Re-estimate the EMA generator's BatchNorm statistics (``"recompute"`` only).

        The latents (and labels) come from a generator seeded by ``step``, so a resumed run
        refreshes exactly as a straight one; training's RNG streams are left alone. A second
        call before the next :meth:`update` does nothing (a checkpoint step saves twice).
        """
        if self.batchnorm != "recompute" or not self._stale:
            return
        self._stale = False
        recompute_batchnorm(self.model, batch_size, recompute_seed(step))
