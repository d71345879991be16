"""Layers that ganzoo routes through one place so a faster kernel can replace them everywhere.

Every LeakyReLU in the built-in models goes through :class:`LeakyReLU` here: the fused kernel of
the performance work swaps its implementation without touching any model.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LeakyReLU(nn.Module):
    """LeakyReLU with ganzoo's single entry point; ``negative_slope`` 0.2 as in DCGAN."""

    def __init__(self, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"
