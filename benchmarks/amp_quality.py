"""Does ``--amp`` (bf16 autocast) hurt sample quality? The same short Fashion-MNIST run in fp32 and
in bf16, each scored with the shipped domain extractor's Frechet distance (``ganzoo eval``).

    python benchmarks/amp_quality.py [--steps 1000] [--seeds 0,1] [--num-samples 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def ganzoo(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", *args], check=True, capture_output=True, text=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--num-samples", type=int, default=2000)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"fp32": [], "bf16 (--amp)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds.split(","):
            for mode, flags in (("fp32", []), ("bf16 (--amp)", ["--amp"])):
                out = Path(tmp) / f"{mode.split()[0]}-{seed}"
                ganzoo("run", "dcgan", "--loss", "bce", "--steps", str(args.steps), "--seed", seed, *flags,
                       "--set", "log.checkpoint_every=100000", "-o", str(out))  # fmt: skip
                scored = json.loads(
                    ganzoo("eval", str(out), "-m", "fd", "-n", str(args.num_samples), "--json")
                )
                results[mode].append(scored["metrics"]["fd"])
    print(
        f"DCGAN/bce on Fashion-MNIST, {args.steps} steps, FD (ganzoo-fmnist, {args.num_samples} samples vs test)"
    )
    print("| mode | FD per seed | mean |")
    print("|---|---|---|")
    for mode, values in results.items():
        print(
            f"| {mode} | {', '.join(f'{v:.2f}' for v in values)} | {statistics.fmean(values):.2f} |"
        )


if __name__ == "__main__":
    main()
