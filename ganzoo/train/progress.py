"""Progress: a rich bar with losses, img/s and ETA on a terminal; plain lines otherwise.

Both show the same things: the step, the mean losses and img/s of the last logging interval,
the time elapsed since this process started training and the estimated time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TrainingProgress:
    def __init__(
        self,
        total: int,
        start: int,
        interactive: bool | None = None,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.start, self.quiet = total, start, quiet  # quiet: DDP ranks other than 0
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: Any = None
        self.clock = clock
        self.started = clock()

    def __enter__(self) -> TrainingProgress:
        self.started = self.clock()
        if self.interactive and not self.quiet:
            self._bar = Progress(
                TextColumn("[bold]step"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "train", total=self.total, completed=self.start, stats=""
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, step: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step)

    def report(self, row: dict[str, Any]) -> None:
        stats = f"d {row['d_loss']:.4f}  g {row['g_loss']:.4f}  {row['img_per_s']:.0f} img/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=row["step"], stats=stats)
        elif not self.quiet:
            self.console.print(
                f"step {row['step']}/{self.total}  {stats}  {self.timing(row['step'])}",
                highlight=False,
                soft_wrap=True,
            )

    def timing(self, step: int) -> str:
        """``elapsed H:MM:SS  eta H:MM:SS``: the steps left at this session's rate so far."""
        elapsed = self.clock() - self.started
        done = step - self.start
        eta = elapsed / done * (self.total - step) if done > 0 else None
        return f"elapsed {clock_text(elapsed)}  eta {clock_text(eta) if eta is not None else '?'}"

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)


def clock_text(seconds: float) -> str:
    """``H:MM:SS``, as rich's progress columns show time."""
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
