"""Device and mixed-precision choices."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import torch

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import TrainConfig

# the explicit settings `train.fast` resolves, in the order the start banner names them
FAST_KEYS = ("amp", "compile", "channels_last")


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


def fast_settings(device: torch.device) -> dict[str, bool]:
    """What ``--fast`` turns on for ``device``: the fastest mode measured, at a stated quality cost.

    - CUDA: amp (``amp_dtype`` auto: bf16 where the GPU has it, else fp16 with loss scaling),
      compile and channels-last, the usual GPU recipe.
    - CPU with native bf16 (AVX-512 BF16 or AMX): the same; amp + compile + channels-last ran
      1.8-2.0x the hand-written fp32 loop at 64x64 (benchmarks/README.md sections 1 and 1d). At
      the quality study's full budget bf16 cost about 1 FD (16.1 ± 0.6 against fp32's
      15.1 ± 0.6, section 3): the price of the speed, stated in docs/training.md.
    - CPU without native bf16 (AVX2): compile only, in fp32. oneDNN emulates bf16 there and amp
      ran ~10x slower than fp32 (section 1b); channels-last was only measured helping under
      compile + bf16 (section 1), so it stays off.
    """
    if device.type == "cuda" or cpu_has_native_bf16():
        return {"amp": True, "compile": True, "channels_last": True}
    return {"amp": False, "compile": True, "channels_last": False}


def fast_reason(device: torch.device) -> str:
    """The fact about ``device`` that :func:`fast_settings` decided on, in a few words."""
    if device.type == "cuda":
        return f"this GPU has {'' if torch.cuda.is_bf16_supported() else 'no '}bf16"
    return f"this CPU has {'' if cpu_has_native_bf16() else 'no '}native bf16"


def fast_summary(train: TrainConfig, device: torch.device) -> str:
    """The start banner's line for a ``train.fast`` run: what is on, why, and what was set
    explicitly against --fast's choice, e.g. ``fast: compile (fp32: this CPU has no native bf16)``.
    """
    chosen = fast_settings(device)
    names = {
        "amp": f"amp {str(amp_dtype(device, train.amp_dtype)).removeprefix('torch.')}",
        "compile": "compile",
        "channels_last": "channels-last",
    }
    on = [names[key] for key in FAST_KEYS if getattr(train, key)]
    reason = fast_reason(device)
    if on and not chosen["amp"] and not train.amp:
        reason = f"fp32: {reason}"
    kept = [
        f"{names[key].split()[0]} {'on' if getattr(train, key) else 'off'} as set"
        for key in FAST_KEYS
        if getattr(train, key) != chosen[key]
    ]
    return f"fast: {', '.join(on) or 'fp32 eager'} ({'; '.join([reason, *kept])})"


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
