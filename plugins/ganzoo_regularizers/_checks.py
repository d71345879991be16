"""Parameter checks shared by the built-in regularizers: one-line :class:`ganzoo.UsageError`s."""

from __future__ import annotations

import math

from ganzoo import UsageError


def at_least(reg: str, param: str, value: float, minimum: float) -> None:
    """``value`` must be a finite number ``>= minimum`` (NaN and inf are refused too)."""
    if not (math.isfinite(value) and value >= minimum):
        raise UsageError(f"{reg} {param} must be >= {minimum:g}, got {value:g}")


def positive(reg: str, param: str, value: float) -> None:
    """``value`` must be a finite number ``> 0``."""
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{reg} {param} must be > 0, got {value:g}")


def in_range(reg: str, param: str, value: float, low: float, high: float) -> None:
    """``low <= value < high``."""
    if not (low <= value < high):
        raise UsageError(f"{reg} {param} must be in [{low:g}, {high:g}), got {value:g}")


def interval(reg: str, value: int) -> None:
    """Lazy regularisation interval: an integer ``>= 1`` (1: every step)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{reg} interval must be an integer >= 1, got {value!r}")
