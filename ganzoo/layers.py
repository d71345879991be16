"""Layers that ganzoo routes through one place so a faster kernel can replace them everywhere.

Every LeakyReLU in the built-in models goes through :func:`leaky_relu` here (directly, through
:class:`LeakyReLU`, or after a BatchNorm through :class:`BatchNormLeakyReLU`). With ``fused=True``
it is the custom op ``ganzoo::fused_leaky_relu`` wherever that is the faster path: on CUDA, where
it runs as one Triton kernel. On the CPU the native ops win, in eager mode (PyTorch's BatchNorm
kernel) and under ``torch.compile`` (Inductor fuses plain BatchNorm + LeakyReLU with their
neighbours, including the backward's per-channel sums, which the op's boundary would keep apart:
the op's compiled forward+backward took 64 ms vs 23 ms for the compiled composite on a
64x128x32x32 tensor, and DCGAN 64x64 compile+bf16 ran at the same ratio to the hand loop either
way), so the CPU keeps them (``FUSED_ON_CPU`` forces the op, for tests and benchmarks).
``fused=False`` always uses the plain PyTorch ops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ops import fused_leaky_relu

FUSED_ON_CPU = False


def use_fused(x: Tensor, fused: bool) -> bool:
    """Whether the fused op is the faster path for ``x`` here (see the module docstring)."""
    return fused and (x.device.type != "cpu" or FUSED_ON_CPU)


def leaky_relu(
    x: Tensor,
    negative_slope: float = 0.2,
    *,
    scale: Tensor | None = None,
    shift: Tensor | None = None,
    fused: bool = True,
    inplace: bool = False,
) -> Tensor:
    """``leaky_relu(x * scale[c] + shift[c])``; the single LeakyReLU entry point of ganzoo.

    ``inplace`` lets the plain path overwrite ``x`` (saves an allocation per layer; only for
    inputs nobody else reads, such as a conv's fresh output). The fused op is never in place.
    """
    if use_fused(x, fused):
        return fused_leaky_relu(x, scale, shift, negative_slope)
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    if scale is not None:
        x, inplace = x * scale.view(shape), True  # a fresh tensor now
    if shift is not None:
        x, inplace = x + shift.view(shape), True
    return F.leaky_relu(x, negative_slope, inplace=inplace)


class LeakyReLU(nn.Module):
    """LeakyReLU through :func:`leaky_relu`; ``negative_slope`` 0.2 as in DCGAN."""

    def __init__(
        self, negative_slope: float = 0.2, fused: bool = True, inplace: bool = False
    ) -> None:
        super().__init__()
        self.negative_slope, self.fused, self.inplace = negative_slope, fused, inplace

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope, fused=self.fused, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}, fused={self.fused}"


class BatchNormLeakyReLU(nn.Module):
    """``BatchNorm2d`` then LeakyReLU; fused, BN's normalisation and affine become one per-channel
    ``scale``/``shift`` applied inside the LeakyReLU kernel.

    Keeps a real ``nn.BatchNorm2d`` as ``self.bn`` so state dicts are identical fused or not. The
    batch statistics come from ``var_mean`` (autograd carries BN's full backward through them);
    running statistics are updated as ``nn.BatchNorm2d`` does (unbiased variance, momentum).
    """

    def __init__(self, channels: int, negative_slope: float = 0.2, fused: bool = True) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.negative_slope, self.fused = negative_slope, fused

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W)
        if not use_fused(x, self.fused) or isinstance(self.bn, nn.SyncBatchNorm):
            return F.leaky_relu(self.bn(x), self.negative_slope, inplace=True)  # BN's fresh output
        bn = self.bn
        if self.training:
            var, mean = torch_var_mean(x)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                bn.num_batches_tracked.add_(1)
                bn.running_mean.lerp_(mean.detach().to(bn.running_mean.dtype), bn.momentum)
                unbiased = var.detach() * (n / max(1, n - 1))
                bn.running_var.lerp_(unbiased.to(bn.running_var.dtype), bn.momentum)
        else:
            var, mean = bn.running_var, bn.running_mean
        scale = bn.weight * (var + bn.eps).rsqrt()  # (C,)
        shift = bn.bias - mean * scale
        return leaky_relu(x, self.negative_slope, scale=scale, shift=shift, fused=True)


def torch_var_mean(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel biased variance and mean of ``(B, C, H, W)``, in float32 (bf16-safe)."""
    return torch.var_mean(x.float(), dim=(0, 2, 3), correction=0)
