"""Progress: a rich bar with losses, img/s and ETA on a terminal; plain lines otherwise."""

from __future__ import annotations

import sys
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
        self, total: int, start: int, interactive: bool | None = None, quiet: bool = False
    ) -> None:
        self.total, self.start, self.quiet = total, start, quiet  # quiet: DDP ranks other than 0
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> TrainingProgress:
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
            self.console.print(f"step {row['step']}/{self.total}  {stats}", highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)
