"""LeCam regularisation: Tseng et al. 2021, "Regularizing Generative Adversarial Networks under
Limited Data" (CVPR 2021, arXiv:2104.03310); official code github.com/google/lecam-gan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Discriminator, Regularizer

from . import _checks


class LeCam(Regularizer):
    """Anchor D's logits to moving averages of its own past predictions.

    Tseng et al. 2021, "Regularizing Generative Adversarial Networks under Limited Data"
    (arXiv:2104.03310), eq. 3, in the form of the official PyTorch code
    (``biggan_cifar/losses.py: lecam_reg`` in github.com/google/lecam-gan)::

        R_LC = weight * ( E_x[ relu(D(x) - alpha_F)^2 ] + E_z[ relu(alpha_R - D(G(z)))^2 ] )
        alpha_R <- decay * alpha_R + (1 - decay) * E_x[D(x)]       (detached)
        alpha_F <- decay * alpha_F + (1 - decay) * E_z[D(G(z))]

    As in both official versions the averages are updated from the current batch first, then
    used. They start at the first batch's means (what the TensorFlow version's zero-debiased
    average is after one update), and while ``step < ema_start`` they just follow the current
    batch (decay 0) and the term is multiplied by 0, as the official BigGAN code's ``start_itr``.
    ``D(x)`` and ``D(G(z))`` are the logits the loss already computed (no extra forward). Under
    DDP every rank keeps its own averages.

    Args:
        weight: lambda, 0.3 as the official BigGAN CIFAR scripts (``--LC 0.3``), whose logits are
            on the scale of ganzoo's DCGAN; the StyleGAN2 scripts use far smaller weights
            (1e-6 to 3e-7) for that model's large logits.
        decay: of the moving averages; 0.99 as the paper and the TensorFlow code (the BigGAN
            PyTorch code uses 0.9).
        ema_start: generator steps before the term switches on (BigGAN code: 1000); 0 starts at
            once, which suits short runs.
    """

    def __init__(self, weight: float = 0.3, decay: float = 0.99, ema_start: int = 0) -> None:
        _checks.at_least("lecam", "weight", weight, 0)
        _checks.in_range("lecam", "decay", decay, 0, 1)
        _checks.at_least("lecam", "ema_start", ema_start, 0)
        self.weight, self.decay, self.ema_start = weight, decay, ema_start
        self.ema_real = torch.zeros(())  # alpha_R, a 0-dim float32 tensor (no host syncs)
        self.ema_fake = torch.zeros(())  # alpha_F
        self.updates = 0  # how many batches the averages have seen

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        real_logits = discriminator(real).float()  # (B,), memoised: the loss's forward
        fake_logits = discriminator(fake).float()  # (B,)
        self.update(real_logits.detach().mean(), fake_logits.detach().mean())
        reg = (
            F.relu(real_logits - self.ema_fake).square().mean()
            + F.relu(self.ema_real - fake_logits).square().mean()
        )
        return (self.weight if self.step >= self.ema_start else 0.0) * reg

    def update(self, real_mean: Tensor, fake_mean: Tensor) -> None:
        """One moving-average step from the batch means (0-dim tensors)."""
        decay = self.decay if self.updates > 0 and self.step >= self.ema_start else 0.0
        ema_real = self.ema_real.to(real_mean.device)
        ema_fake = self.ema_fake.to(fake_mean.device)
        self.ema_real = decay * ema_real + (1 - decay) * real_mean
        self.ema_fake = decay * ema_fake + (1 - decay) * fake_mean
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "ema_real": self.ema_real.detach().float().cpu().clone(),
            "ema_fake": self.ema_fake.detach().float().cpu().clone(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.ema_real = torch.as_tensor(state.get("ema_real", 0.0), dtype=torch.float32).clone()
        self.ema_fake = torch.as_tensor(state.get("ema_fake", 0.0), dtype=torch.float32).clone()
        self.updates = int(state.get("updates", 0))

    def log_values(self) -> dict[str, float]:
        if not self.updates:
            return {}
        return {"lecam_ema_real": float(self.ema_real), "lecam_ema_fake": float(self.ema_fake)}
