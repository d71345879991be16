"""ADA, adaptive discriminator augmentation: Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", arXiv:2006.06676 (reference: NVlabs/stylegan2-ada-pytorch,
``training/training_loop.py``, the ``ada_target`` / ``ada_interval`` / ``ada_kimg`` update).

The overfitting heuristic ``r_t = E[sign(D(x_real))]`` is the share of real images D calls real
minus the share it calls fake. Every ``interval`` D updates, ``p`` moves towards keeping ``r_t``
at ``target``::

    p <- clamp(p + sign(r_t - target) * N / (speed_kimg * 1000), 0, 1)

where ``N`` is the number of real images the ``interval`` updates observed (``batch * interval``
on one process; summed over the workers under DDP), so ``p`` can go from 0 to 1 in
``speed_kimg`` thousand images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from ganzoo.interfaces import Augmentation

from . import pipeline
from .checks import check_range


class ADA(Augmentation):
    """ADA (Karras et al. 2020): flips, quarter turns, shifts, scaling, color and cutout with an adaptive p.

    Parameters (``--set aug.params.NAME=VALUE``):

    - ``target``: the value of ``r_t`` the heuristic keeps, in ``[0, 1]``; 0.6 as in the paper.
    - ``interval``: D updates between two adjustments of ``p`` (>= 1); 4 as in the paper.
    - ``speed_kimg``: thousands of real images over which ``p`` can go from 0 to 1 (> 0). The
      paper uses 500 for runs of tens of millions of images; ganzoo's budgets are about 300k
      images, so the default is 100, fast enough for ``p`` to matter within a run.
    - ``p_init``: ``p`` at the start of training, in ``[0, 1]``.
    - ``fixed_p``: a constant ``p`` in ``[0, 1]`` that disables the adaptation; negative (the
      default, -1) means adaptive.

    ``p`` and the accumulators are checkpointed, and ``ada_p`` / ``ada_rt`` are logged.
    Adjusting ``p`` reads one device scalar (a sync) every ``interval`` D updates; nothing else
    waits for the device.
    """

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed_kimg: float = 100.0,
        p_init: float = 0.0,
        fixed_p: float = -1.0,
    ) -> None:
        check_range("target", target, 0.0, 1.0)
        check_range("interval", interval, 1)
        check_range("speed_kimg", speed_kimg, 0.0, low_open=True)
        check_range("p_init", p_init, 0.0, 1.0)
        if fixed_p >= 0:
            check_range("fixed_p", fixed_p, 0.0, 1.0)
        self.target, self.interval, self.speed_kimg = target, interval, speed_kimg
        self.fixed_p = fixed_p
        self.p: float = p_init if self.adaptive else fixed_p
        self.rt: float = 0.0  # the last r_t (0 until the first adjustment)
        self._sign_sum: Tensor | None = None  # 0-d, on D's device: sum of sign(logits)
        self._count = 0  # real images observed since the last adjustment
        self._observed = 0  # observe() calls since the last adjustment

    @property
    def adaptive(self) -> bool:
        return self.fixed_p < 0

    def augment(self, images: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W)
        if self.p <= 0:  # p is a Python float: deciding this costs no device sync
            return images
        return pipeline.augment(images, self.p)

    def observe(self, real_logits: Tensor) -> None:
        signs = real_logits.detach().sign().sum(dtype=torch.float32)  # 0-d, stays on the device
        if self._sign_sum is None:
            self._sign_sum = signs
        else:
            self._sign_sum = self._sign_sum.to(signs.device) + signs
        self._count += real_logits.numel()
        self._observed += 1
        if self._observed >= self.interval:
            self._adjust()

    def _adjust(self) -> None:
        assert self._sign_sum is not None
        totals = torch.stack([self._sign_sum, self._sign_sum.new_tensor(float(self._count))])
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(totals)  # every worker's images: the same p everywhere
        sign_sum, count = totals.tolist()  # the one sync, every `interval` D updates
        self.rt = sign_sum / count
        if self.adaptive:
            direction = (self.rt > self.target) - (self.rt < self.target)  # sign(r_t - target)
            step = direction * count / (self.speed_kimg * 1000)
            self.p = min(max(self.p + step, 0.0), 1.0)
        self._sign_sum, self._count, self._observed = None, 0, 0

    def state_dict(self) -> dict[str, Any]:
        sign_sum = 0.0 if self._sign_sum is None else float(self._sign_sum)  # exact: an integer
        return {
            "p": self.p,
            "rt": self.rt,
            "sign_sum": sign_sum,
            "count": self._count,
            "observed": self._observed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self.adaptive:
            self.p = float(state.get("p", self.p))
        self.rt = float(state.get("rt", 0.0))
        self._count = int(state.get("count", 0))
        self._observed = int(state.get("observed", 0))
        self._sign_sum = torch.tensor(float(state.get("sign_sum", 0.0))) if self._observed else None

    def log_values(self) -> dict[str, float]:
        return {"ada_p": self.p, "ada_rt": self.rt}
