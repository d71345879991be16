"""DDP throughput scaling: the same DCGAN training with 1 and N workers, in one script run.

    python benchmarks/ddp_scaling.py [--nprocs 1,2] [--device cpu] [--image-size 32] [--steps 60]

Each configuration is a real `ganzoo run ... --nproc-per-node N` (the elastic launcher), on the
`fake` dataset with batch 64 per worker; img/s is read from its `summary.json` (training time
only, every worker's images). Prints img/s and the speed-up over 1 worker.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch


def run(nproc: int, args: argparse.Namespace, out: Path) -> float:
    cmd = [
        sys.executable, "-m", "ganzoo", "run", "dcgan", "--loss", "bce", "--dataset", "fake",
        "--image-size", str(args.image_size), "--batch-size", str(args.batch_size),
        "--steps", str(args.steps), "--device", args.device, "--set", "log.every=10",
        "--set", f"log.checkpoint_every={args.steps}", "--set", f"log.sample_every={args.steps}",
        "-o", str(out),
    ]  # fmt: skip
    if nproc > 1:
        cmd += ["--nproc-per-node", str(nproc)]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steady = rows[1:] or rows  # the first interval carries start-up costs
    return sum(r["img_per_s"] for r in steady) / len(steady)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nprocs", default="1,2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    )
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name(0)} x {torch.cuda.device_count()}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.nprocs.split(",")]:
            results[n] = run(n, args, Path(tmp) / f"n{n}")
    base = results[min(results)]
    print(
        f"| workers | img/s | speed-up |  (DCGAN {args.image_size}x{args.image_size}, batch {args.batch_size}/worker, {args.device})"
    )
    print("|---|---|---|")
    for n, ips in results.items():
        print(f"| {n} | {ips:.0f} | {ips / base:.2f}x |")


if __name__ == "__main__":
    main()
