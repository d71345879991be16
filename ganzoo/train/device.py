"""Device and mixed-precision choices."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

import torch

from ..errors import UsageError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; an unavailable device is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device '{name}' requested but CUDA is not available; use --device cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UsageError(f"device '{name}' does not exist: {torch.cuda.device_count()} GPU(s)")
    return device


def amp_dtype(device: torch.device, requested: str = "auto") -> torch.dtype:
    """``auto``: bf16 where the device has it (every CPU, Ampere+ GPUs), else fp16.

    ``float16`` forces the fp16 path with loss scaling, on any device: it is what GPUs without
    bf16 (T4, V100) run, and the CPU can run it too, so tests cover it without such a GPU.
    """
    if requested == "float16":
        return torch.float16
    if requested == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); without it oneDNN emulates
    bf16, and bf16 autocast ran ~10x slower than fp32 (DCGAN 28x28, a 2-core AVX2 EPYC)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return True


def slow_amp_warning(device: torch.device, dtype: torch.dtype | None) -> str | None:
    """A one-line warning when autocast to ``dtype`` will be slower than fp32 here, else None."""
    if device.type == "cpu" and dtype == torch.bfloat16 and not cpu_has_native_bf16():
        return (
            "this CPU has no native bf16 (AVX-512 BF16 or AMX), so --amp emulates it and runs "
            "several times slower than fp32 here; drop --amp on this machine"
        )
    return None


def autocast(
    device: torch.device, dtype: torch.dtype | bool | None
) -> AbstractContextManager[object]:
    """Autocast to ``dtype`` (``True``: the device's :func:`amp_dtype`); off for None/False."""
    if dtype is None or dtype is False:
        return contextlib.nullcontext()
    if dtype is True:
        dtype = amp_dtype(device)
    return torch.autocast(device_type=device.type, dtype=dtype)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocator peak on GPU, max RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
