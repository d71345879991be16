"""Where a bench is: cell i/N, and when the matrix should be done, from the cells trained so far."""

from __future__ import annotations

import time


def duration(seconds: float) -> str:
    """``4.2s``, ``42s``, ``3m05s``, ``2h07m``: short enough for a progress line."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class MatrixClock:
    """Times the cells a bench trains in this invocation; cells trained earlier cost nothing."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.trained_seconds: list[float] = []
        self._started = 0.0

    def label(self, index: int) -> str:
        """``[i/N]`` for the 0-based ``index``."""
        return f"[{index + 1}/{self.total}]"

    def start(self) -> None:
        self._started = time.perf_counter()

    def trained(self) -> float:
        """Record the cell just trained; its seconds."""
        seconds = time.perf_counter() - self._started
        self.trained_seconds.append(seconds)
        return seconds

    def eta(self, cells_left: int) -> str | None:
        """The time ``cells_left`` more cells should take, once one cell has been timed."""
        if not self.trained_seconds or cells_left <= 0:
            return None
        mean = sum(self.trained_seconds) / len(self.trained_seconds)
        return duration(mean * cells_left)
