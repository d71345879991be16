"""Triton kernels of ``ganzoo::fused_leaky_relu`` (elementwise: memory-bound by design).

Each program handles ``BLOCK`` consecutive elements of a dense tensor; the channel of an element
is ``(i // HW) % C`` in NCHW layout and ``i % C`` in channels-last (NHWC) layout. Arithmetic is in
float32 whatever the storage dtype. Run them on the CPU with ``TRITON_INTERPRET=1`` (tests do).
"""

from __future__ import annotations

import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def _channel(offsets, C, HW, CHANNELS_LAST: tl.constexpr):
    if CHANNELS_LAST:
        return offsets % C
    return (offsets // HW) % C


@triton.jit
def fused_leaky_relu_fwd_kernel(
    x_ptr, scale_ptr, shift_ptr, y_ptr, n, C, HW, slope, gain,
    HAS_SCALE: tl.constexpr, HAS_SHIFT: tl.constexpr, CHANNELS_LAST: tl.constexpr,
    BLOCK: tl.constexpr,
):  # fmt: skip
    """``y = gain * leaky_relu(x * scale[c] + shift[c], slope)``."""
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    z = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    c = _channel(offsets, C, HW, CHANNELS_LAST)
    if HAS_SCALE:
        z = z * tl.load(scale_ptr + c, mask=mask).to(tl.float32)
    if HAS_SHIFT:
        z = z + tl.load(shift_ptr + c, mask=mask).to(tl.float32)
    y = tl.where(z > 0, z, z * slope) * gain
    tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def fused_leaky_relu_bwd_kernel(
    grad_ptr, y_ptr, scale_ptr, grad_x_ptr, grad_z_ptr, n, C, HW, slope, gain,
    HAS_SCALE: tl.constexpr, CHANNELS_LAST: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    """``grad_z = grad * gain * (y > 0 ? 1 : slope)``; ``grad_x = grad_z * scale[c]``.

    The sign of the pre-activation is read from the output (gain > 0, slope >= 0), so the
    forward input need not be kept for this part.
    """
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    grad = tl.load(grad_ptr + offsets, mask=mask).to(tl.float32)
    y = tl.load(y_ptr + offsets, mask=mask).to(tl.float32)
    grad_z = grad * tl.where(y > 0, gain, gain * slope)
    tl.store(grad_z_ptr + offsets, grad_z.to(grad_z_ptr.dtype.element_ty), mask=mask)
    if HAS_SCALE:
        c = _channel(offsets, C, HW, CHANNELS_LAST)
        grad_z = grad_z * tl.load(scale_ptr + c, mask=mask).to(tl.float32)
    tl.store(grad_x_ptr + offsets, grad_z.to(grad_x_ptr.dtype.element_ty), mask=mask)
