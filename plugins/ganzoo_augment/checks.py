"""Range checks for augmentation parameters: one line naming the parameter and what it accepts."""

from __future__ import annotations

from ganzoo import UsageError


def check_range(
    name: str,
    value: float,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`ganzoo.UsageError` unless ``low <= value <= high`` (open ends if asked)."""
    above = value > low if low_open else value >= low
    below = high is None or (value < high if high_open else value <= high)
    if above and below:
        return
    left = "(" if low_open else "["
    if high is None:
        allowed = f"> {low:g}" if low_open else f">= {low:g}"
    else:
        allowed = f"in {left}{low:g}, {high:g}{')' if high_open else ']'}"
    raise UsageError(f"aug.params.{name} must be {allowed}, got {value!r}")
