"""Weight clipping: the original WGAN's Lipschitz constraint (Arjovsky et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.interfaces import Regularizer

from . import _checks


class WeightClip(Regularizer):
    """Clamp every D parameter to ``[-clip_value, clip_value]`` after each D optimizer step.

    Arjovsky et al. 2017, "Wasserstein GAN" (arXiv:1701.07875), Algorithm 1, line 7::

        w <- clip(w, -c, c)     for every parameter w of the critic, c = 0.01

    Only parameters are clamped; buffers (BatchNorm's running statistics) are left alone. There is
    no penalty term. The paper pairs it with the Wasserstein loss (``--loss wgan-gp --set
    loss.params.lambda_gp=0``), RMSprop at ``lr = 5e-5`` and 5 critic steps per generator step.

    Args:
        clip_value: ``c``, 0.01 as in the paper.
    """

    def __init__(self, clip_value: float = 0.01) -> None:
        _checks.positive("clip", "clip_value", clip_value)
        self.clip_value = clip_value

    @torch.no_grad()
    def after_step(self, module: nn.Module) -> None:
        for param in module.parameters():
            param.clamp_(-self.clip_value, self.clip_value)
