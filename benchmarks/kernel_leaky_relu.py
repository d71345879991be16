"""Micro-benchmark of ``ganzoo::fused_leaky_relu`` (per-channel affine + LeakyReLU), forward+backward.

    python benchmarks/kernel_leaky_relu.py [--shape 64,128,32,32] [--dtype float32] [--device cpu]

Compares, in one process: the eager composite (``x * scale + shift`` then ``F.leaky_relu``), the
fused op called eagerly, and both under ``torch.compile``. The op is memory-bound, so each is
reported as achieved bandwidth over the minimum bytes a fused implementation must move, against
the machine's copy bandwidth measured in the same run (``dst.copy_(src)`` of the same size):

- forward: read x, write y                          -> 2 tensors
- backward: read grad and y (for the sign), write grad_x; the per-channel sums for scale/shift
  read grad_z and x once more                       -> 5 tensors
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch

from ganzoo.ops import fused_leaky_relu, reference_leaky_relu


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs, after 3 warm-up runs."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # 33.5 MB a float32 tensor: well past the caches, so copy and op both stream from memory
    parser.add_argument("--shape", default="64,128,32,32")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    shape = tuple(int(s) for s in args.shape.split(","))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen).to(device, dtype).requires_grad_()
    scale = torch.randn(shape[1], generator=gen).to(device).requires_grad_()
    shift = torch.randn(shape[1], generator=gen).to(device).requires_grad_()
    grad = torch.randn(shape, generator=gen).to(device, dtype)
    tensor_bytes = x.numel() * x.element_size()
    machine = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or platform.machine())
    )
    print(
        f"machine: {machine}, {os.cpu_count()} cores, torch {torch.__version__}; shape {shape} {args.dtype}"
    )

    # real data in both buffers: an untouched ``empty`` tensor reads the kernel's zero page, which
    # sits in cache and would report an impossible bandwidth
    src, dst = torch.randn_like(x.detach()), torch.zeros_like(x.detach())
    copy_s = timed(lambda: dst.copy_(src), device, args.repeats)
    copy_bw = 2 * tensor_bytes / copy_s
    print(f"copy bandwidth: {copy_bw / 1e9:.1f} GB/s ({2 * tensor_bytes / 1e6:.1f} MB per copy)")

    def fwd_bwd(fn: Callable[..., torch.Tensor]) -> Callable[[], object]:
        def step() -> object:
            y = fn(x, scale, shift, 0.2)
            return torch.autograd.grad(y, (x, scale, shift), grad)

        return step

    candidates = {
        "eager composite": reference_leaky_relu,
        "fused op (eager)": fused_leaky_relu,
        "eager composite, compiled": torch.compile(reference_leaky_relu),
        "fused op, compiled": torch.compile(fused_leaky_relu),
    }
    moved = 7 * tensor_bytes  # forward 2 + backward 5 tensors (see the module docstring)
    print("| implementation | fwd+bwd ms | GB/s | % of copy bandwidth |")
    print("|---|---|---|---|")
    for name, fn in candidates.items():
        seconds = timed(fwd_bwd(fn), device, args.repeats)
        bandwidth = moved / seconds
        print(
            f"| {name} | {seconds * 1e3:.3f} | {bandwidth / 1e9:.1f} | {100 * bandwidth / copy_bw:.0f}% |"
        )


if __name__ == "__main__":
    main()
