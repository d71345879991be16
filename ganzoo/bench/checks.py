"""Everything a bench needs, checked before its first cell trains.

A typo in the last loss, a bad plugin parameter or missing Inception weights must not surface
hours into a matrix, after the cells before it have trained: each distinct (arch, loss, recipe)
config is resolved and its components built (networks, loss, regularizers, augmentation,
optimizers; the data is loaded, so missing data fails here too and conditional models see the
classes), and the evaluation requests the bench will make are checked the same way.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GanzooError
from ..metrics.evaluate import check_request
from ..train.build import build_models, load_data
from ..train.optim import build_optimizers
from .runner import final_request, inception_request
from .spec import BenchSpec, Cell


def check_matrix(spec: BenchSpec, out: Path) -> None:
    """Raise the first problem of any cell or of the scoring, naming the cell; train nothing."""
    seed = spec.seeds[0]  # the seed changes no name or parameter
    for arch, loss, recipe in dict.fromkeys((c.arch, c.loss, c.recipe) for c in spec.cells()):
        cell = Cell(arch, loss, seed, recipe)
        try:
            check_cell(spec, cell, out)
        except GanzooError as exc:
            exc.args = (f"bench cell {cell.variant}: {exc}",)
            raise
    for request in (final_request(spec), inception_request(spec)):
        if request is not None:
            check_request(request, spec.dataset)


def check_cell(spec: BenchSpec, cell: Cell, out: Path) -> None:
    config = spec.run_config(cell, out / "runs" / cell.slug)
    image, _, _ = load_data(config)  # the data must be there, and its classes count
    components = build_models(config, image)
    nets = {"G": components.generator, "D": components.discriminator}
    build_optimizers(nets, config.optim, components.regularizers, config.train.steps or 1)
