"""Feature extractors for torch-fidelity: the FID Inception network and ganzoo's domain classifier.

Inception weights come from ``--inception-weights PATH``, ``$GANZOO_INCEPTION_WEIGHTS``, or
torch-fidelity's download into ``$TORCH_HOME/hub/checkpoints`` (which offline machines cannot do:
they get a one-line error saying which file to fetch and where to put it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from ..errors import GanzooError, UnknownNameError, UsageError
from . import domain

INCEPTION_ENV = "GANZOO_INCEPTION_WEIGHTS"
INCEPTION_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Extractor:
    """How ganzoo names an extractor, what torch-fidelity calls it, and its protocol facts."""

    name: str
    fidelity_name: str
    feature_layer: str
    resize: str
    weights: Path | None = None
    has_classifier: bool = True  # IS needs real class logits


EXTRACTORS = {
    "inception": ("inception-v3-compat", "2048", "bilinear to 299x299 (TF1-compatible)"),
    domain.NAME: (domain.NAME, "128", "grey, bilinear to 28x28"),
}


def resolve_extractor(name: str, inception_weights: Path | None = None) -> Extractor:
    """The extractor ``name`` ready for torch-fidelity; weights checked and downloaded if needed."""
    if name not in EXTRACTORS:
        raise UnknownNameError("extractor", name, EXTRACTORS)
    fidelity_name, layer, resize = EXTRACTORS[name]
    if name == domain.NAME:
        register_domain_extractor()
        return Extractor(name, fidelity_name, layer, resize, domain.WEIGHTS)
    weights = inception_weights_path(inception_weights)
    return Extractor(name, fidelity_name, layer, resize, weights, classifier_is_real(weights))


def register_domain_extractor() -> None:
    if domain.NAME not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(domain.NAME, domain.FashionFeatureExtractor)


def inception_weights_path(explicit: Path | None) -> Path:
    """``explicit``, else ``$GANZOO_INCEPTION_WEIGHTS``, else torch hub's cached official file."""
    given = explicit or (Path(os.environ[INCEPTION_ENV]) if os.environ.get(INCEPTION_ENV) else None)
    if given is not None:
        if not given.is_file():
            raise UsageError(f"Inception weights {given} do not exist")
        return given
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if not cached.is_file():
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(URL_INCEPTION_V3, str(cached), progress=False)
        except Exception as exc:  # offline, proxy, mirror down: say what to fetch, not a URLError
            raise GanzooError(
                f"cannot download the FID Inception weights ({type(exc).__name__}); fetch "
                f"{URL_INCEPTION_V3} into {cached.parent}/, or pass --inception-weights PATH "
                f"(or set ${INCEPTION_ENV})"
            ) from None
    return cached


def classifier_is_real(weights: Path) -> bool:
    """False for files whose 1008-way classifier is zero-filled (FID-only conversions)."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    fc = state.get("fc.weight")
    return fc is not None and bool(fc.any())
