"""TensorBoard logs under ``RUN/tensorboard``, when the ``tensorboard`` package is installed (the
``tensorboard`` extra): every metrics column, the sample grids, the config as text and as
hyperparameters, and the numbers of ``ganzoo eval``. Without tensorboard every call is a no-op:
``metrics.jsonl``, ``samples/`` and ``eval/`` hold the same information.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor
    from torch.utils.tensorboard import SummaryWriter

    from ..config import RunConfig

#: the scalars the HParams dashboard shows next to each run's hyperparameters
HPARAM_METRICS = ("d_loss", "g_loss")


def summary_writer_class() -> type[SummaryWriter] | None:
    """torch's ``SummaryWriter``, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # optional: the run directory has the same numbers and images
        return None
    return SummaryWriter


class TensorBoardLog:
    """The training side: metrics rows, sample grids and the config; a no-op without tensorboard
    or for ``folder=None`` (not the main process)."""

    def __init__(self, folder: Path | None, config: RunConfig | None = None) -> None:
        writer_class = summary_writer_class() if folder is not None else None
        self.folder = folder
        self.writer = writer_class(log_dir=str(folder)) if writer_class is not None else None
        self.enabled = self.writer is not None
        if config is not None:
            self.add_config(config)

    @contextmanager
    def _writer(self) -> Iterator[SummaryWriter | None]:
        """The open writer; after :meth:`close` (the run's last grid) one opened for this call."""
        if self.writer is not None or not self.enabled:
            yield self.writer
            return
        writer_class = summary_writer_class()
        assert writer_class is not None and self.folder is not None
        writer = writer_class(log_dir=str(self.folder))  # TensorBoard reads every events file
        try:
            yield writer
        finally:
            writer.close()

    def write(self, row: Mapping[str, Any]) -> None:
        """Every number of a ``metrics.jsonl`` row as a scalar at ``row["step"]``."""
        with self._writer() as writer:
            if writer is None:
                return
            for key, value in row.items():
                if key != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                    writer.add_scalar(key, value, row["step"])

    def add_grid(self, step: int, images: Tensor, nrow: int | None = None) -> None:
        """A sample grid ``(N, C, H, W)`` in [-1, 1], ``nrow`` a row, as the image ``samples``."""
        with self._writer() as writer:
            if writer is None:
                return
            import numpy as np

            from .images import grid_image

            pixels = np.asarray(grid_image(images, nrow))
            writer.add_image(
                "samples", pixels, step, dataformats="HW" if pixels.ndim == 2 else "HWC"
            )

    def add_config(self, config: RunConfig) -> None:
        """The resolved config as TOML text and as hyperparameters (the HParams dashboard)."""
        with self._writer() as writer:
            if writer is None:
                return
            from torch.utils.tensorboard.summary import hparams

            from ..config import flatten

            toml = config.to_toml()
            writer.add_text("config", "\n".join(f"    {line}" for line in toml.splitlines()))
            values = {k: hparam_value(v) for k, v in flatten(config.to_dict()).items()}
            experiment, start, end = hparams(
                {k: v for k, v in values.items() if v is not None},
                {name: 0.0 for name in HPARAM_METRICS},  # names only: the scalars hold values
            )
            for summary in (experiment, start, end):
                writer.file_writer.add_summary(summary)  # type: ignore[union-attr]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def hparam_value(value: Any) -> bool | int | float | str | None:
    """What the HParams plugin can show: numbers, strings and booleans; lists as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value)


def flat_numbers(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """``{"fd": 1.0, "per_class": {"0": 2.0}}`` -> ``{"fd": 1.0, "per_class/0": 2.0}``: the
    numbers of a result, nested tables flattened, anything else (text, None) left out."""
    flat: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flat_numbers(value, f"{prefix}{key}/"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def log_eval(folder: Path, result: Mapping[str, Any]) -> bool:
    """``ganzoo eval``'s numbers as scalars ``eval/<extractor>/<metric>`` (``eval-ema/...`` for
    the EMA generator) at the checkpoint's step, with the protocol as text. False without
    tensorboard."""
    writer_class = summary_writer_class()
    if writer_class is None:
        return False
    protocol = result["protocol"]
    group = f"eval{'-ema' if protocol.get('ema') else ''}/{protocol['extractor']}"
    writer = writer_class(log_dir=str(folder))
    try:
        for name, value in flat_numbers(result["metrics"]).items():
            writer.add_scalar(f"{group}/{name}", value, protocol["step"])
        protocol_text = json.dumps(dict(protocol), indent=2)
        writer.add_text(
            f"{group}/protocol",
            "\n".join(f"    {line}" for line in protocol_text.splitlines()),
            protocol["step"],
        )
    finally:
        writer.close()
    return True
