"""TensorBoard scalars, when the ``tensorboard`` package is installed (the ``tensorboard`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TensorBoardLog:
    """Writes each metrics row as scalars under ``RUN/tensorboard``; a no-op without tensorboard."""

    def __init__(self, folder: Path | None) -> None:
        if folder is None:  # not the main process
            self.writer = None
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # optional: metrics.jsonl has the same numbers
            self.writer = None
        else:
            self.writer = SummaryWriter(log_dir=str(folder))

    def write(self, row: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key in ("d_loss", "g_loss", "img_per_s"):
            self.writer.add_scalar(key, row[key], row["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
