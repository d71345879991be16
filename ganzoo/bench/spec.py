"""What a bench is: the matrix, the shared training budget and the evaluation protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig, parse_assignments, resolve


@dataclass
class BenchSpec:
    archs: list[str]
    losses: list[str]
    dataset: str = "fashion-mnist"
    steps: int = 2000
    seeds: list[int] = field(default_factory=lambda: [0])
    batch_size: int = 64
    image_size: int | None = None
    assignments: list[str] = field(default_factory=list)  # --set for every cell
    device: str = "auto"
    metrics: list[str] = field(default_factory=lambda: ["fd", "kid", "pr"])
    num_samples: int = 1000
    extractor: str | None = None  # None: the dataset's default (see ganzoo.metrics.evaluate)
    inception_samples: int = 0  # > 0 adds Inception FID on that many samples
    inception_weights: str | None = None
    curve_points: int = 4  # checkpoints per cell scored for the metric-vs-step curves

    def cells(self) -> list[Cell]:
        return [Cell(a, lo, s) for a in self.archs for lo in self.losses for s in self.seeds]

    def run_config(self, cell: Cell, out: Path) -> RunConfig:
        every = max(1, self.steps // max(1, self.curve_points))
        base = [
            f"model.name={cell.arch}",
            f"loss.name={cell.loss}",
            f"data.name={self.dataset}",
            f"train.steps={self.steps}",
            f"train.seed={cell.seed}",
            f"train.batch_size={self.batch_size}",
            f"train.device={self.device}",
            f"log.checkpoint_every={every}",
            f"log.sample_every={every}",
            f"log.keep_checkpoints={self.curve_points + 1}",
            f"log.every={min(50, every)}",
        ]
        if self.image_size:
            base.append(f"data.image_size={self.image_size}")
        layers = [parse_assignments(base), parse_assignments(self.assignments)]
        return resolve(*layers, {"out": str(out)})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Cell:
    arch: str
    loss: str
    seed: int

    @property
    def variant(self) -> str:
        return f"{self.arch}/{self.loss}"

    @property
    def slug(self) -> str:
        return f"{self.arch}--{self.loss}--s{self.seed}".replace(":", "_")
