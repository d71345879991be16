"""The run directory: one place that knows its layout.

```
RUN/config.toml            resolved config (image size and channels as trained)
RUN/data.json              the data's classes (names, in label order; [] when unlabelled), source
RUN/plugins.json           plugin names, distributions and versions; ganzoo and torch versions
RUN/metrics.jsonl          one JSON line per logging interval
RUN/samples/step_XXXXXX.png  grids from a fixed latent batch
RUN/loss_curve.png         D and G losses over steps
RUN/checkpoints/last.safetensors, step_XXXXXXXX.safetensors
RUN/summary.json           written when the run ends
RUN/tensorboard/           metrics, sample grids, config and eval numbers, when tensorboard is installed
```
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..config import RunConfig
from ..registry import Entry


@dataclass(frozen=True)
class RunDir:
    root: Path

    @staticmethod
    def default_for(config: RunConfig) -> RunDir:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return RunDir(
            Path("runs") / f"{config.model.name}-{config.loss.name}-{config.data.name}-{stamp}"
        )

    config = property(lambda self: self.root / "config.toml")
    plugins = property(lambda self: self.root / "plugins.json")
    data = property(lambda self: self.root / "data.json")
    metrics = property(lambda self: self.root / "metrics.jsonl")
    samples = property(lambda self: self.root / "samples")
    checkpoints = property(lambda self: self.root / "checkpoints")
    last_checkpoint = property(lambda self: self.root / "checkpoints" / "last.safetensors")
    summary = property(lambda self: self.root / "summary.json")
    loss_curve = property(lambda self: self.root / "loss_curve.png")
    tensorboard = property(lambda self: self.root / "tensorboard")

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:08d}.safetensors"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:06d}.png"

    def write_start(
        self,
        config: RunConfig,
        entries: dict[str, Entry],
        fresh: bool,
        classes: list[str] | None = None,
        source: str | None = None,
    ) -> None:
        """Write config, provenance and the classes; a fresh run drops metrics a failed earlier
        attempt left."""
        self.root.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.metrics.unlink(missing_ok=True)
        self.config.write_text(config.to_toml())
        self.plugins.write_text(json.dumps(provenance(entries), indent=2) + "\n")
        data = {"classes": classes or [], "source": source}
        self.data.write_text(json.dumps(data, indent=2) + "\n")

    def read_classes(self) -> list[str]:
        """The class names the run was trained with (``[]``: unconditional, or an older run)."""
        if not self.data.exists():
            return []
        return list(json.loads(self.data.read_text()).get("classes", []))

    def append_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, after_step: int) -> None:
        """Drop lines past ``after_step`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if r["step"] <= after_step]
        self.metrics.write_text("".join(json.dumps(r) + "\n" for r in kept))


def provenance(entries: dict[str, Entry]) -> dict[str, Any]:
    return {
        "ganzoo": __version__,
        "torch": torch.__version__,
        **{
            role: {
                "name": e.qualified_name,
                "distribution": e.distribution,
                "version": e.version,
            }
            for role, e in entries.items()
        },
    }
