"""``ganzoo::fused_leaky_relu`` against the eager composite: values, gradients, layouts, dtypes,
gradcheck, torch.compile without graph breaks, and the Triton kernels under ``TRITON_INTERPRET=1``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from ganzoo.ops import HAS_TRITON, fused_leaky_relu, reference_leaky_relu

TOLERANCE = {torch.float32: 1e-5, torch.bfloat16: 2e-2, torch.float16: 2e-3}
SHAPES = [(2, 3), (4, 3, 5, 5), (2, 8, 7, 7), (1, 1, 1, 1)]


def inputs(shape, dtype=torch.float32, affine=(True, True), seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen).to(dtype).requires_grad_()
    c = shape[1]
    scale = torch.randn(c, generator=gen).requires_grad_() if affine[0] else None
    shift = torch.randn(c, generator=gen).requires_grad_() if affine[1] else None
    return x, scale, shift


def compare(x, scale, shift, slope=0.2, gain=1.0, tol=1e-5):
    y = fused_leaky_relu(x, scale, shift, slope, gain)
    ref_args = [
        t.detach().float().requires_grad_() if t is not None else None for t in (x, scale, shift)
    ]
    ref = reference_leaky_relu(*ref_args, slope, gain)
    torch.testing.assert_close(y.float(), ref, atol=tol, rtol=tol)
    grad = torch.randn_like(ref)
    wanted = [t for t in (x, scale, shift) if t is not None]
    got = torch.autograd.grad(y, wanted, grad.to(y.dtype))
    expected = torch.autograd.grad(ref, [t for t in ref_args if t is not None], grad)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a.float(), b, atol=tol * 10, rtol=tol * 10)
    return y


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [(True, True), (False, True), (True, False), (False, False)])
def test_matches_the_eager_composite(shape, affine):
    compare(*inputs(shape, affine=affine), slope=0.2, gain=1.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_dtypes(dtype):
    y = compare(*inputs((4, 3, 5, 5), dtype), tol=TOLERANCE[dtype])
    assert y.dtype == dtype


def test_channels_last_stays_channels_last():
    x, scale, shift = inputs((2, 8, 6, 6))
    x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
    y = compare(x, scale, shift)
    assert y.is_contiguous(memory_format=torch.channels_last)


def test_strided_input():
    x, scale, shift = inputs((4, 6, 8, 8))
    compare(
        x[:, ::2, 1:, ::2],
        scale[::2].detach().requires_grad_(),
        shift[::2].detach().requires_grad_(),
    )


def test_gain_and_slope():
    compare(*inputs((3, 4, 5, 5)), slope=0.01, gain=1.4142)
    compare(*inputs((3, 4, 5, 5)), slope=0.0, gain=2.0)


def test_gradcheck_in_float64():
    x, scale, shift = (t.detach().double().requires_grad_() for t in inputs((2, 3, 4, 4)))
    assert torch.autograd.gradcheck(
        lambda a, s, b: fused_leaky_relu(a, s, b, 0.2, 1.3), (x, scale, shift)
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="negative_slope"):
        fused_leaky_relu(torch.zeros(1, 1), negative_slope=-1)


def test_torch_compile_traces_it_without_graph_breaks():
    def block(x, scale, shift):
        return fused_leaky_relu(x * 2, scale, shift) + 1  # neighbours the compiler may fuse

    x, scale, shift = inputs((2, 3, 4, 4))
    explanation = torch._dynamo.explain(block)(x, scale, shift)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
    compiled = torch.compile(block, fullgraph=True)
    y = compiled(x, scale, shift)
    torch.testing.assert_close(y, block(x, scale, shift))
    y.sum().backward()
    assert x.grad is not None and scale.grad is not None


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
def test_triton_kernels_under_the_interpreter():
    """The CUDA kernels themselves, run by Triton's interpreter on CPU tensors."""
    script = textwrap.dedent(
        """
        import torch
        import ganzoo.ops.leaky_relu as op
        from tests.test_fused_leaky_relu import compare, inputs
        assert op._use_triton(torch.zeros(1))
        compare(*inputs((4, 3, 5, 5)), slope=0.2, gain=1.4)
        compare(*inputs((2, 5)))
        compare(*inputs((3, 4, 6, 6), affine=(False, True)))
        x, s, b = inputs((2, 8, 6, 6))
        x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
        assert compare(x, s, b).is_contiguous(memory_format=torch.channels_last)
        compare(*inputs((4, 3, 5, 5), torch.bfloat16), tol=2e-2)
        print("interpreted kernels ok")
        """
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "interpreted kernels ok" in result.stdout


def test_double_backward_for_gradient_penalties():
    x, scale, shift = (t.detach().double().requires_grad_() for t in inputs((2, 3, 4, 4)))
    assert torch.autograd.gradgradcheck(
        lambda a, s, b: fused_leaky_relu(a, s, b, 0.2, 1.3), (x, scale, shift)
    )
