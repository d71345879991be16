"""Run a bench cell by cell: train (or resume, or skip when done), then score; restartable."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from ..config import read_toml
from ..errors import UsageError
from ..metrics.evaluate import EvalRequest, evaluate, frechet_name, stored_result
from ..train.loading import load_run_config
from ..train.rundir import RunDir
from ..train.trainer import Trainer
from .spec import BenchSpec, Cell


class BenchDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec_file = root / "bench.toml"
        self.runs = root / "runs"

    def run_dir(self, cell: Cell) -> RunDir:
        return RunDir(self.runs / cell.slug)

    def claim(self, spec: BenchSpec) -> None:
        """Write the spec, or check it matches the one an interrupted bench left here."""
        self.root.mkdir(parents=True, exist_ok=True)
        wanted = spec.to_dict()
        if self.spec_file.exists():
            existing = read_toml(self.spec_file)
            if existing != json.loads(json.dumps(wanted)):
                changed = sorted(
                    k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k)
                )
                raise UsageError(
                    f"{self.root} holds a bench with other settings ({', '.join(changed)}); "
                    "use another --out or the same settings to continue it"
                )
        else:
            self.spec_file.write_text(tomli_w.dumps(wanted))


def run_cell(spec: BenchSpec, bench: BenchDir, cell: Cell, say: Callable[[str], None]) -> bool:
    """Train (or resume) ``cell``; False when it had finished already."""
    run_dir = bench.run_dir(cell)
    if run_dir.summary.exists():
        say(f"{cell.slug}: trained already")
        return False
    resume = run_dir.last_checkpoint.exists()
    say(f"{cell.slug}: {'resuming' if resume else 'training'} ({spec.steps} steps)")
    Trainer(spec.run_config(cell, run_dir.root), run_dir, resume=resume).fit()
    return True


def score_run(spec: BenchSpec, run_dir: RunDir) -> dict[str, Any]:
    """Final metrics (+ Inception FID if asked) and the cheap metric-vs-step curve of one run.

    A run that kept an EMA of G is scored from the EMA generator, the one it would sample with.
    """
    ema = load_run_config(run_dir).train.ema
    scores: dict[str, Any] = {"final": cached_eval(run_dir, final_request(spec, ema=ema))}
    inception = inception_request(spec, ema=ema)
    if inception is not None:
        scores["inception"] = cached_eval(run_dir, inception)
    curve = []
    for checkpoint in sorted(run_dir.checkpoints.glob("step_*.safetensors")):
        point = cached_eval(
            run_dir,
            EvalRequest(metrics=("fd",), num_samples=min(500, spec.num_samples), extractor=spec.extractor,
                        checkpoint=checkpoint, device=spec.device, per_class=False, ema=ema,
                        batchnorm=spec.batchnorm_mode),
        )  # fmt: skip
        distance = frechet_name(point["protocol"]["extractor"])
        curve.append({"step": point["protocol"]["step"], distance: point["metrics"][distance]})
    scores["curve"] = curve
    return scores


def final_request(spec: BenchSpec, *, ema: bool = False) -> EvalRequest:
    """How every run of the bench is scored."""
    return EvalRequest(
        metrics=tuple(spec.metrics),
        num_samples=spec.num_samples,
        extractor=spec.extractor,
        device=spec.device,
        ema=ema,
        batchnorm=spec.batchnorm_mode,
    )


def inception_request(spec: BenchSpec, *, ema: bool = False) -> EvalRequest | None:
    """The Inception FID of every run, where the bench asks for one."""
    if spec.inception_samples <= 0:
        return None
    return EvalRequest(
        metrics=("fid",),
        num_samples=spec.inception_samples,
        extractor="inception",
        inception_weights=Path(spec.inception_weights) if spec.inception_weights else None,
        device=spec.device,
        ema=ema,
        batchnorm=spec.batchnorm_mode,
    )


def cached_eval(run_dir: RunDir, request: EvalRequest) -> dict[str, Any]:
    """An evaluation result, reused when the same protocol was already scored for this run
    (by an earlier bench, or by a ``ganzoo eval`` whose result is in the run's ``eval/``)."""
    key = json.dumps({k: str(v) for k, v in sorted(vars(request).items())}, sort_keys=True)
    store = run_dir.root / "eval" / "bench-cache.json"
    cache = json.loads(store.read_text()) if store.exists() else {}
    if key not in cache:
        cache[key] = stored_result(run_dir, request) or evaluate(run_dir, request)
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(cache, indent=2))
    return cache[key]


def describe_run(run_dir: RunDir) -> dict[str, Any]:
    """What the tables need from a run: variant, seed, summary."""
    config = load_run_config(run_dir)
    if not run_dir.summary.exists():
        raise UsageError(f"{run_dir.root} has no summary.json: it did not finish; resume it first")
    # runs that differ by preset or regularizers are other variants, not more seeds of one
    if config.recipe:  # a named recipe says what it is better than any list of its parts
        extras = [f"+{config.recipe}"]
    else:
        extras = [f"+{config.preset}"] if config.preset else []
        extras += [f"+{name}" for name in config.reg if not config.preset]
    return {
        "variant": f"{config.model.name}/{config.loss.name}{''.join(extras)}",
        "seed": config.train.seed,
        "dataset": config.data.name,
        "run": str(run_dir.root),
        "summary": json.loads(run_dir.summary.read_text()),
    }
