"""Does a folder of JPEGs keep up with training? The decoded-image cache against in-memory data.

Writes ``--images`` JPEGs at CelebA's 178x218 (once; smooth colour fields with noise, so they
decode like photos), then trains one ganzoo DCGAN at ``--size`` in the given mode and feeds it,
round after round, from each data path in turn:

* ``memory``: the same decoded images held in RAM (what MNIST-like datasets serve);
* ``cache, N workers``: the ``folder`` dataset reading its memory-mapped decoded-image cache;
* ``decode, N workers``: the ``folder`` dataset decoding each JPEG on access (``cache=false``).

One trainer for all rows (compiled once); each row its own batch sampler and DataLoader. The cache
build (the first epoch's extra cost) and a warm open are timed apart.

    python benchmarks/folder_cache.py --images 20000 --size 64 --mode compile --json out.json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_speed import MODES, machine, provenance, time_steps, write_report  # noqa: E402

from ganzoo.config import parse_assignments, resolve  # noqa: E402
from ganzoo.interfaces import DataRequest  # noqa: E402
from ganzoo.train.batches import EpochBatchSampler, batch_loader  # noqa: E402
from ganzoo.train.rundir import RunDir  # noqa: E402
from ganzoo.train.trainer import Trainer  # noqa: E402

CELEBA_SIZE = (178, 218)  # width, height


def write_jpegs(folder: Path, count: int) -> None:
    """``count`` deterministic 178x218 JPEGs (quality 90) in ``folder``, unless already there."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    have = len(list(folder.glob("*.jpg")))
    if have == count:
        return
    rng = np.random.default_rng(0)
    w, h = CELEBA_SIZE
    for i in range(count):
        coarse = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        field = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR), np.int16)
        noisy = np.clip(field + rng.integers(-12, 13, field.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"{i:06d}.jpg", quality=90)


def folder_data(root: Path, size: int, **params: Any):
    from ganzoo_datasets.folder import Folder

    return Folder(**params).load(DataRequest(root, size, 3))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--mode", default="compile", help=f"one of: {', '.join(MODES)}")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="timed steps per row and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--fetch-batches", type=int, default=50, help="batches timed for data alone")
    p.add_argument("--workers", default="0,2", help="DataLoader workers to try, comma-separated")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ganzoo-jpegs")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.mode not in MODES:
        p.error(f"unknown mode {args.mode}; known: {', '.join(MODES)}")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}")

    started = time.perf_counter()
    write_jpegs(args.dir / "images", args.images)
    print(f"{args.images} JPEGs in {args.dir / 'images'} ({time.perf_counter() - started:.0f} s)")
    cache_dir = args.dir / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    t0 = time.perf_counter()
    cached = folder_data(args.dir / "images", args.size, cache_dir=str(cache_dir))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached = folder_data(args.dir / "images", args.size, cache_dir=str(cache_dir))
    open_s = time.perf_counter() - t0
    decoding = folder_data(args.dir / "images", args.size, cache=False)
    from ganzoo_datasets.memory import TensorImages

    memory = TensorImages(cached.decoded.clone(), cached.decoder.transform)  # (N, 3, s, s) in RAM

    assignments = [
        "model.name=dcgan",
        "loss.name=bce",
        "data.name=fake",
        f"data.image_size={args.size}",
        "data.channels=3",
        f"train.batch_size={args.batch_size}",
        *MODES[args.mode].ganzoo,
    ]
    workers = [int(w) for w in args.workers.split(",")]
    sources = {"memory": (memory, 0)}
    sources |= {f"cache, {w} workers": (cached, w) for w in workers}
    sources |= {f"decode, {w} workers": (decoding, w) for w in workers}
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as tmp:
        trainer = Trainer(resolve(parse_assignments(assignments)), RunDir(Path(tmp)))
        iterators = {
            name: iter(batch_loader(data, EpochBatchSampler(len(data), args.batch_size, 0), w))
            for name, (data, w) in sources.items()
        }
        # the data path alone: ms to hand the trainer one batch (after the first, which starts
        # the workers); far steadier than the training rates, which carry the machine's noise
        fetch_ms = {}
        for name, it in iterators.items():
            next(it)
            start = time.perf_counter()
            for _ in range(args.fetch_batches):
                next(it)
            fetch_ms[name] = (time.perf_counter() - start) / args.fetch_batches * 1000
        steps = {name: (lambda it=it: trainer.train_step(it)) for name, it in iterators.items()}
        for step in steps.values():  # warm-up: compiles, starts workers, fills prefetch queues
            time_steps(step, 2, trainer.device)
        rates: dict[str, list[float]] = {name: [] for name in steps}
        for r in range(args.rounds):
            order = list(steps) if r % 2 == 0 else list(reversed(steps))
            for name in order:
                t = time_steps(steps[name], args.steps, trainer.device)
                rates[name].append(args.steps * args.batch_size / t.seconds)
        del iterators  # stop the workers
    base = statistics.median(rates["memory"])
    rows = [
        {
            "data": name,
            "img_s": statistics.median(r),
            "vs_memory": statistics.median(r) / base,
            "paired_vs_memory": statistics.median(
                x / m for x, m in zip(r, rates["memory"], strict=True)
            ),
            "fetch_ms_per_batch": fetch_ms[name],
            "rounds": r,
        }
        for name, r in rates.items()
    ]
    print(f"\n{args.size}x{args.size}, mode {args.mode}, batch {args.batch_size}:")
    print("| data | training img/s | vs memory | per-round vs memory | data alone, ms/batch |")
    print("|:---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['data']} | {row['img_s']:.1f} | {row['vs_memory']:.3f} "
            f"| {row['paired_vs_memory']:.3f} | {row['fetch_ms_per_batch']:.1f} |"
        )
    nbytes = cached.decoded.numel()
    print(
        f"cache: built in {build_s:.1f} s ({args.images / build_s:.0f} images/s, "
        f"{nbytes / 2**20:.0f} MB), opened warm in {open_s:.2f} s"
    )
    write_report(args.json, {
        **provenance(),
        "settings": {k: str(v) for k, v in vars(args).items() if k != "json"},
        "cache": {"build_s": build_s, "open_s": open_s, "bytes": nbytes},
        "results": rows,
    })  # fmt: skip


if __name__ == "__main__":
    main()
