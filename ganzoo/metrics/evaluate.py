"""Score a run's generator with torch-fidelity, recording the protocol with every number.

Generated images go to torch-fidelity directly (uint8 tensors, no files); the reference split's
features are cached on disk under a name built from dataset, split, size, channels, number of
images and seed (torch-fidelity adds the extractor), so the second evaluation against the same
reference only computes the generator's side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch_fidelity
from torch_fidelity.generative_model_modulewrapper import GenerativeModelModuleWrapper

from ..cachedir import cache_root as ganzoo_cache_root
from ..config import RunConfig
from ..errors import UnknownNameError, UsageError
from ..interfaces import DataRequest, Generator
from ..train.batchnorm import SAMPLING_MODES
from ..train.build import image_spec
from ..train.device import resolve_device
from ..train.loading import load_generator, load_run_config, run_spec
from ..train.rundir import RunDir
from ..train.tensorboard import log_eval
from . import domain
from .extractors import Extractor, resolve_extractor
from .inputs import UInt8Generator, UInt8Subset
from .per_class import class_metrics

# fd: the Frechet distance in the extractor's features; named fid only in Inception's (it is not
# Inception FID in any other space), where fd and fid ask for the same number.
METRICS = ("fd", "fid", "kid", "pr", "is")
KID_SUBSETS = 100
#: how each --batchnorm mode samples G, as results record it
GENERATOR_MODES = {"running": "eval", "recompute": "eval, BatchNorm statistics recomputed"}
# torch-fidelity's result keys -> ours, in the order tables show them
RESULT_KEYS = {
    "frechet_inception_distance": "fd",
    "kernel_inception_distance_mean": "kid",
    "kernel_inception_distance_std": "kid_std",
    "precision": "precision",
    "recall": "recall",
    "f_score": "f_score",
    "inception_score_mean": "is",
    "inception_score_std": "is_std",
}


@dataclass
class EvalRequest:
    metrics: tuple[str, ...] = ("fd", "kid")
    num_samples: int = 1000
    num_ref: int | None = None  # None: as many as num_samples
    ema: bool = False
    ref_split: str = "test"
    extractor: str | None = None  # None: the domain extractor for fashion-mnist, else inception
    inception_weights: Path | None = None
    checkpoint: Path | None = None
    device: str = "auto"
    batch_size: int = 100
    seed: int = 0
    per_class: bool = True  # conditional runs: intra-class FD and class accuracy (with fd/fid)
    batchnorm: str = "running"  # or "recompute": G's BatchNorm statistics for its final weights


def cache_root() -> Path:
    return ganzoo_cache_root() / "fidelity"


def default_extractor(dataset: str) -> str:
    return domain.NAME if dataset == "fashion-mnist" else "inception"


def frechet_name(extractor: str) -> str:
    """What the Frechet distance is called in ``extractor``'s features: fid for Inception, else fd."""
    return "fid" if extractor == "inception" else "fd"


def kid_subsets(n: int) -> tuple[int, int]:
    """(count, size) of KID's random subsets for ``n`` images a side.

    Subsets of min(1000, n/10) make KID's std a real spread; below 100 images that is too few
    to mean anything, so KID is one estimate on all ``n`` and reported without a std.
    """
    return (KID_SUBSETS, min(1000, n // 10)) if n >= 100 else (1, n)


def asked_names(metrics: tuple[str, ...], extractor: str) -> list[str]:
    """``metrics`` as a result names them, once each in METRICS order (fd is fid in Inception's)."""
    return list(
        dict.fromkeys(
            frechet_name(extractor) if m in ("fd", "fid") else m for m in METRICS if m in metrics
        )
    )


def comparable_protocol(
    request: EvalRequest, dataset: str, extractor: str, step: int, num_ref: int
) -> dict[str, Any]:
    """The protocol fields two results must share to be the same measurement.

    ``evaluate`` records them with every number; ``stored_result`` matches a stored result on
    them (plus the weights file and device), so the two can never disagree on what "the same" is.
    """
    return {
        "extractor": extractor,
        "num_samples": request.num_samples,
        "num_ref": num_ref,
        "ref_split": f"{dataset}:{request.ref_split}",
        "step": step,
        "ema": request.ema,
        "seed": request.seed,
        "batchnorm": request.batchnorm,
    }


#: protocol fields results written before the field existed were measured with
PROTOCOL_DEFAULTS = {"batchnorm": "running"}


def per_class_wanted(
    request: EvalRequest, generator: Generator, config: RunConfig, metrics: Iterable[str]
) -> bool:
    """Whether a result holds intra-class FD and class accuracy: for a conditional G, asked, with
    a Frechet distance among ``metrics``, on the data's own labels (cluster labels are not)."""
    return (
        request.per_class
        and generator.num_classes > 0
        and config.data.clusters == 0
        and bool({"fd", "fid"} & set(metrics))
    )


def check_request(request: EvalRequest, dataset: str) -> Extractor:
    """The extractor of ``request`` on ``dataset``, ready; its metrics, count and weights checked."""
    unknown = [m for m in request.metrics if m not in METRICS]
    if unknown:
        raise UnknownNameError("metric", unknown[0], METRICS)
    if request.batchnorm not in SAMPLING_MODES:
        raise UnknownNameError("--batchnorm mode", request.batchnorm, SAMPLING_MODES)
    if request.num_samples < 10:
        raise UsageError(f"--num-samples must be >= 10, got {request.num_samples}")
    extractor = resolve_extractor(
        request.extractor or default_extractor(dataset), request.inception_weights
    )
    if "fid" in request.metrics and extractor.name != "inception":
        raise UsageError(
            f"fid is the Frechet distance in Inception features; in {extractor.name}'s it is fd: "
            "use -m fd, or --extractor inception for FID"
        )
    if "is" in request.metrics and not extractor.has_classifier:
        raise UsageError(
            f"IS needs the Inception classifier, but {extractor.weights} has a zero-filled one "
            "(an FID-only file); drop 'is' from --metrics or use torch-fidelity's official weights"
        )
    return extractor


def evaluate(run_dir: RunDir, request: EvalRequest) -> dict[str, Any]:
    """Compute ``request.metrics`` for ``run_dir``; returns ``{"metrics", "protocol", ...}``."""
    config = load_run_config(run_dir)
    extractor = check_request(request, config.data.name)
    device = resolve_device(request.device)
    generator, meta = load_generator(
        run_dir,
        ema=request.ema,
        checkpoint=request.checkpoint,
        device=device,
        batchnorm=request.batchnorm,
    )
    _, dataset = image_spec(config)
    spec = run_spec(run_dir, config)
    root = Path(config.data.root) if config.data.root else None
    reference = dataset.load(  # type: ignore[attr-defined]
        DataRequest(root, spec.size, spec.channels, request.ref_split, config.data.download)
    )
    ref = UInt8Subset(reference, request.num_ref or request.num_samples, seed=request.seed)
    cache_name = f"{config.data.name}-{request.ref_split}-{spec.size}px-{spec.channels}ch-n{len(ref)}-s{request.seed}"
    kid_count, kid_size = kid_subsets(min(request.num_samples, len(ref)))
    started = time.perf_counter()
    raw = torch_fidelity.calculate_metrics(
        input1=GenerativeModelModuleWrapper(
            UInt8Generator(generator, seed=request.seed), generator.latent_dim, "normal", 0
        ),
        input1_model_num_samples=request.num_samples,
        input2=ref,
        input2_cache_name=cache_name,
        cache_root=str(cache_root()),
        fid="fd" in request.metrics or "fid" in request.metrics,
        kid="kid" in request.metrics,
        prc="pr" in request.metrics,
        isc="is" in request.metrics,
        feature_extractor=extractor.fidelity_name,
        feature_extractor_weights_path=str(extractor.weights) if extractor.weights else None,
        cuda=device.type == "cuda",
        batch_size=request.batch_size,
        kid_subsets=kid_count,
        kid_subset_size=kid_size,
        isc_splits=min(10, request.num_samples),
        rng_seed=request.seed,
        save_cpu_ram=True,  # no DataLoader worker processes: the reference is already in memory
        verbose=False,
    )
    metrics = result_metrics(raw, extractor.name, kid_count)
    conditional: dict[str, Any] = {}
    if per_class_wanted(request, generator, config, request.metrics):
        conditional = class_metrics(
            generator,
            reference,
            run_dir.read_classes(),
            extractor,
            dataset=config.data.name,
            num_samples=request.num_samples,
            seed=request.seed,
            batch_size=request.batch_size,
            device=device,
            distance=frechet_name(extractor.name),
        )
        metrics.update(conditional.pop("metrics"))
    seconds = time.perf_counter() - started
    result = {
        "metrics": metrics,
        **conditional,
        "protocol": {
            **comparable_protocol(
                request, config.data.name, extractor.name, meta["step"], len(ref)
            ),
            "feature_layer": extractor.feature_layer,
            "resize": extractor.resize,
            "image_size": spec.size,
            "generator_mode": GENERATOR_MODES[request.batchnorm],
            "weights": str(extractor.weights) if extractor.weights else None,
            **(
                {"kid_subsets": {"count": kid_count, "size": kid_size}}
                if "kid" in request.metrics
                else {}
            ),
        },
        "eval_seconds": round(seconds, 2),
        "device": str(device),
        "torch_fidelity": torch_fidelity.__version__,
    }
    variant = ("-ema" if request.ema else "") + ("-bn" if request.batchnorm == "recompute" else "")
    stem = f"{extractor.name}{variant}-step{meta['step']}-n{request.num_samples}"
    asked = asked_names(request.metrics, extractor.name)
    out = write_new(run_dir.root / "eval", f"{stem}-{'+'.join(asked)}", result)
    result["path"] = str(out)
    log_eval(run_dir.tensorboard, result)  # next to the run's curves, when tensorboard is installed
    return result


def stored_result(run_dir: RunDir, request: EvalRequest) -> dict[str, Any] | None:
    """A result ``ganzoo eval`` already wrote in the run's ``eval/`` for the same protocol, or None.

    The same protocol: extractor (and its weights file's name), step, raw or EMA G, samples,
    reference split and count, seed and device, with every asked metric in it (and a
    conditional run's per-class figures where they are asked). Anything else is evaluated anew.
    """
    config = load_run_config(run_dir)
    extractor = check_request(request, config.data.name)
    generator, meta = load_generator(run_dir, ema=request.ema, checkpoint=request.checkpoint)
    # num_ref as asked: a request past the split's size (evaluate clips it) is evaluated anew
    num_ref = request.num_ref or request.num_samples
    expected = comparable_protocol(request, config.data.name, extractor.name, meta["step"], num_ref)
    # pr is stored as precision, recall and f_score
    wanted = {"precision" if m == "pr" else m for m in asked_names(request.metrics, extractor.name)}
    per_class = per_class_wanted(request, generator, config, wanted)
    weights = extractor.weights.name if extractor.weights else None
    for path in sorted((run_dir.root / "eval").glob(f"{extractor.name}*.json")):
        try:
            result = json.loads(path.read_text())
            protocol = result["protocol"]
            same = all(protocol.get(k, PROTOCOL_DEFAULTS.get(k)) == v for k, v in expected.items())
            stored_weights = Path(protocol["weights"]).name if protocol.get("weights") else None
        except (OSError, ValueError, KeyError, TypeError):  # not a result file: skip it
            continue
        if (
            same
            and stored_weights == weights
            and result.get("device") == str(resolve_device(request.device))
            and wanted <= set(result.get("metrics", {}))
            and (not per_class or "per_class_fd" in result)
        ):
            return {**result, "path": str(path)}
    return None


def result_metrics(raw: dict[str, Any], extractor: str, kid_count: int) -> dict[str, float]:
    """torch-fidelity's numbers under our names; no KID std from a single subset."""
    names = {**RESULT_KEYS, "frechet_inception_distance": frechet_name(extractor)}
    if kid_count == 1:
        del names["kernel_inception_distance_std"]
    return {names[k]: float(raw[k]) for k in names if k in raw}


def write_new(folder: Path, stem: str, result: dict[str, Any]) -> Path:
    """``folder/stem.json``, or ``stem-2.json``, ``-3``, ...: a result never overwrites another."""
    folder.mkdir(parents=True, exist_ok=True)
    path, counter = folder / f"{stem}.json", 1
    while True:
        try:
            with path.open("x") as f:  # exclusive: two evaluations at once still get two files
                f.write(json.dumps(result, indent=2) + "\n")
            return path
        except FileExistsError:
            counter += 1
            path = folder / f"{stem}-{counter}.json"
