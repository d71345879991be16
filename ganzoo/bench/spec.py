"""What a bench is: the matrix, the shared training budget and the evaluation protocol.

The matrix is arch x loss x recipe x seed. A recipe is a named list of ``KEY=VALUE`` settings
(``preset=NAME`` included) applied on top of the bench's ``--set``; its name labels the run's
variant (``dcgan/bce+ttur``) and is written to the run's config as ``recipe``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig, parse_assignments, resolve
from ..errors import UsageError


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
    # "recompute": score G with its BatchNorm statistics recomputed; None: as training left them
    batchnorm: str | None = None
    # name -> KEY=VALUE settings of that recipe; {} trains the bench's settings alone
    recipes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def batchnorm_mode(self) -> str:
        """How every request of the bench samples G's BatchNorm statistics."""
        return self.batchnorm or "running"

    def cells(self) -> list[Cell]:
        recipes = list(self.recipes) or [""]
        return [
            Cell(a, lo, s, r)
            for a in self.archs
            for lo in self.losses
            for r in recipes
            for s in self.seeds
        ]

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
        if cell.recipe:
            settings = self.recipes[cell.recipe]
            if not isinstance(settings, list) or not all(isinstance(s, str) for s in settings):
                raise UsageError(
                    f"recipes.{cell.recipe} must be a list of KEY=VALUE strings, "
                    f'e.g. ["optim.lr_d=4e-4"], got {settings!r}'
                )
            layers += [parse_assignments(settings), {"recipe": cell.recipe}]
        return resolve(*layers, {"out": str(out)})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Cell:
    arch: str
    loss: str
    seed: int
    recipe: str = ""  # a key of BenchSpec.recipes, "" for the bench's settings alone

    @property
    def variant(self) -> str:
        return f"{self.arch}/{self.loss}" + (f"+{self.recipe}" if self.recipe else "")

    @property
    def slug(self) -> str:
        recipe = f"--{self.recipe}" if self.recipe else ""
        return f"{self.arch}--{self.loss}{recipe}--s{self.seed}".replace(":", "_")
