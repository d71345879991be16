"""``ganzoo::fused_leaky_relu``: a per-channel affine (a bias, or BatchNorm's scale and shift)
fused with LeakyReLU and an optional gain, forward and backward, as one custom op.

``y = gain * leaky_relu(x * scale[c] + shift[c], negative_slope)`` for ``x`` of shape
``(N, C, ...)``; ``scale`` and ``shift`` are ``(C,)`` or absent.

- CUDA: Triton kernels (``triton_kernels.py``) registered through ``torch.library.triton_op`` and
  ``wrap_triton``, so ``torch.compile`` traces into them instead of treating the op as a black box.
- CPU (and any device without Triton): the same op body in plain PyTorch ops, which
  ``torch.compile`` also traces (no graph break) and Inductor fuses with its neighbours.
- The autograd formula is registered on the op (``register_autograd``); the elementwise part of
  the backward is a second op with its own Triton kernel, the per-channel reductions for
  ``scale``/``shift`` are ``sum``s that the compiler is free to fuse.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

try:
    import triton  # noqa: F401

    from . import triton_kernels

    HAS_TRITON = True
except ImportError:  # CPU-only installs: the PyTorch body serves every device
    HAS_TRITON = False


def _op(name: str):  # type: ignore[no-untyped-def]
    """``triton_op`` where Triton exists (compile traces the body), else a plain ``custom_op``."""
    if HAS_TRITON:
        return torch.library.triton_op(f"ganzoo::{name}", mutates_args=())
    return torch.library.custom_op(f"ganzoo::{name}", mutates_args=())


def _channel_shape(x: Tensor) -> list[int]:
    return [1, x.shape[1]] + [1] * (x.ndim - 2)  # broadcast (C,) over (N, C, ...)


def _layout(x: Tensor) -> tuple[Tensor, bool]:
    """A dense view the kernels can index: NCHW-contiguous or channels-last."""
    if x.is_contiguous():
        return x, False
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return x, True
    return x.contiguous(), False


def _use_triton(x: Tensor) -> bool:
    """Triton on CUDA; also on the CPU under ``TRITON_INTERPRET=1``, which is how tests run it."""
    return HAS_TRITON and (x.device.type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1")


def _launch_args(x: Tensor) -> tuple[int, int, int]:
    n = x.numel()
    channels = x.shape[1] if x.ndim > 1 else 1
    hw = n // max(1, x.shape[0] * channels)
    return n, channels, hw


@_op("fused_leaky_relu")
def _fused_leaky_relu(
    x: Tensor, scale: Tensor | None, shift: Tensor | None, negative_slope: float, gain: float
) -> Tensor:
    if _use_triton(x):
        x, channels_last = _layout(x)
        y = torch.empty_like(x)
        n, channels, hw = _launch_args(x)
        grid = ((n + triton_kernels.BLOCK - 1) // triton_kernels.BLOCK,)
        torch.library.wrap_triton(triton_kernels.fused_leaky_relu_fwd_kernel)[grid](
            x, scale if scale is not None else x, shift if shift is not None else x, y,
            n, channels, hw, negative_slope, gain,
            HAS_SCALE=scale is not None, HAS_SHIFT=shift is not None,
            CHANNELS_LAST=channels_last, BLOCK=triton_kernels.BLOCK,
        )  # fmt: skip
        return y
    z = x
    if scale is not None:
        z = z * scale.to(x.dtype).view(_channel_shape(x))
    if shift is not None:
        z = z + shift.to(x.dtype).view(_channel_shape(x))
    y = F.leaky_relu(z, negative_slope)
    return y * gain if gain != 1.0 else y


@_op("fused_leaky_relu_backward")
def _fused_leaky_relu_backward(
    grad: Tensor, y: Tensor, scale: Tensor | None, negative_slope: float, gain: float
) -> tuple[Tensor, Tensor]:
    """``(grad_x, grad_z)`` where ``z`` is the pre-activation ``x * scale + shift``."""
    if _use_triton(grad):
        y, channels_last = _layout(y)
        grad = (
            grad.contiguous(memory_format=torch.channels_last)
            if channels_last
            else grad.contiguous()
        )
        grad_x, grad_z = torch.empty_like(y), torch.empty_like(y)
        n, channels, hw = _launch_args(y)
        grid = ((n + triton_kernels.BLOCK - 1) // triton_kernels.BLOCK,)
        torch.library.wrap_triton(triton_kernels.fused_leaky_relu_bwd_kernel)[grid](
            grad, y, scale if scale is not None else y, grad_x, grad_z,
            n, channels, hw, negative_slope, gain,
            HAS_SCALE=scale is not None, CHANNELS_LAST=channels_last, BLOCK=triton_kernels.BLOCK,
        )  # fmt: skip
        return grad_x, grad_z
    grad_z = grad * torch.where(y > 0, gain, gain * negative_slope).to(grad.dtype)
    grad_x = (
        grad_z * scale.to(grad.dtype).view(_channel_shape(grad)) if scale is not None else grad_z
    )
    return grad_x, grad_z.clone() if grad_x is grad_z else grad_z  # outputs may not alias


@_fused_leaky_relu.register_fake
def _(x, scale, shift, negative_slope, gain):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


@_fused_leaky_relu_backward.register_fake
def _(grad, y, scale, negative_slope, gain):  # type: ignore[no-untyped-def]
    return torch.empty_like(y), torch.empty_like(y)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
    x, scale, shift, negative_slope, gain = inputs
    need_x = scale is not None and ctx.needs_input_grad[1]
    ctx.save_for_backward(output, scale, x if need_x else None)
    ctx.negative_slope, ctx.gain, ctx.has_shift = negative_slope, gain, shift is not None


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    y, scale, x = ctx.saved_tensors
    if torch.is_grad_enabled():  # create_graph (gradient penalties): differentiable plain ops
        slope = torch.where(y > 0, ctx.gain, ctx.gain * ctx.negative_slope).to(grad.dtype)
        grad_z = grad * slope
        grad_x = (
            grad_z * scale.to(grad.dtype).view(_channel_shape(grad))
            if scale is not None
            else grad_z
        )
    else:
        grad_x, grad_z = torch.ops.ganzoo.fused_leaky_relu_backward(
            grad, y, scale, ctx.negative_slope, ctx.gain
        )
    dims = [0, *range(2, grad.ndim)]  # every dim but the channel one
    grad_scale = (grad_z * x).sum(dims) if x is not None else None
    grad_shift = grad_z.sum(dims) if ctx.has_shift and ctx.needs_input_grad[2] else None
    if grad_scale is not None:
        grad_scale = grad_scale.to(scale.dtype)
    if grad_shift is not None and scale is not None:
        grad_shift = grad_shift.to(scale.dtype)
    return grad_x if ctx.needs_input_grad[0] else None, grad_scale, grad_shift, None, None


_fused_leaky_relu.register_autograd(_backward, setup_context=_setup_context)


def fused_leaky_relu(
    x: Tensor,
    scale: Tensor | None = None,
    shift: Tensor | None = None,
    negative_slope: float = 0.2,
    gain: float = 1.0,
) -> Tensor:
    """``gain * leaky_relu(x * scale[c] + shift[c], negative_slope)`` as one fused op.

    Args:
        x: ``(N, C, ...)``, float32/bfloat16/float16 (any layout; channels-last stays so).
        scale: ``(C,)`` per-channel multiplier, or None.
        shift: ``(C,)`` per-channel offset (a bias, or BatchNorm's shift), or None.
        negative_slope: slope for negative inputs, >= 0.
        gain: output multiplier, > 0.
    """
    if negative_slope < 0 or gain <= 0:
        raise ValueError("fused_leaky_relu needs negative_slope >= 0 and gain > 0")
    return torch.ops.ganzoo.fused_leaky_relu(x, scale, shift, float(negative_slope), float(gain))


def reference_leaky_relu(
    x: Tensor,
    scale: Tensor | None = None,
    shift: Tensor | None = None,
    negative_slope: float = 0.2,
    gain: float = 1.0,
) -> Tensor:
    """The eager composite the fused op must match (tests and benchmarks)."""
    shape = _channel_shape(x)
    z = x * scale.view(shape) if scale is not None else x
    z = z + shift.view(shape) if shift is not None else z
    return F.leaky_relu(z, negative_slope) * gain
