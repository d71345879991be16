"""Training-step speed: ganzoo's ``Trainer.train_step`` against the same DCGAN written by hand.

Both sides run in one process, interleaved: for every (size, mode) both are built, warmed up, then
timed in ``--rounds`` alternating rounds of ``--steps`` steps each (the side that goes first
alternates too), and each side's figure is the median of its rounds, so a noisy machine hits both
alike. Warm-up steps are never timed.

* hand: ``benchmarks/hand_dcgan.py`` (plain PyTorch, no ganzoo), real batches indexed from an
  in-memory tensor holding the very images ganzoo's ``fake`` dataset serves;
* ganzoo: a ``Trainer`` built from a ``RunConfig`` (dcgan / bce / fake, ``data.params.length``),
  stepped with ``trainer.train_step(batches)`` on the batch iterator ``fit`` would use,
  ``iter(batch_loader(trainer.dataset, trainer.sampler, workers))``: its real data path.

    python benchmarks/train_speed.py --sizes 28,32,64 --modes eager,bf16 --json speed.json

A mode is one :class:`Mode`: the hand loop's :class:`HandOptions` and the ``--set`` assignments
of the ganzoo side; add one to :data:`MODES` to benchmark it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hand_dcgan import HandDCGAN, HandOptions  # noqa: E402

from ganzoo.config import parse_assignments, resolve  # noqa: E402
from ganzoo.train.batches import batch_loader  # noqa: E402
from ganzoo.train.rundir import RunDir  # noqa: E402
from ganzoo.train.trainer import Trainer  # noqa: E402


@dataclass(frozen=True)
class Mode:
    """One way of running both sides: ``hand`` configures the hand loop, ``ganzoo`` lists the
    ``--set KEY=VALUE`` assignments the ganzoo side's config gets on top of the benchmark's own."""

    name: str
    hand: HandOptions = field(default_factory=HandOptions)
    ganzoo: tuple[str, ...] = ()
    description: str = ""


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("eager", HandOptions(), (), "fp32, eager"),
        Mode(
            "bf16",
            HandOptions(autocast_dtype=torch.bfloat16),
            ("train.amp=true",),
            "torch.autocast bfloat16, eager",
        ),
        # Once ganzoo has a compile switch (say train.compile), compiling is one entry each:
        # Mode("compile", HandOptions(compile=True), ("train.compile=true",), "torch.compile fp32"),
        # Mode("compile+bf16", HandOptions(torch.bfloat16, compile=True),
        #      ("train.compile=true", "train.amp=true"), "torch.compile + bf16 autocast"),
    )
}


# ---- the two sides ----------------------------------------------------------------------------
def ganzoo_side(
    size: int, args: argparse.Namespace, mode: Mode, run_root: Path
) -> tuple[Trainer, Callable[[], Any]]:
    """A Trainer on ``fake`` data and a zero-argument step running ``trainer.train_step``."""
    assignments = [
        "model.name=dcgan",
        "loss.name=bce",
        "data.name=fake",
        f"data.image_size={size}",
        f"data.channels={args.channels}",
        f"data.params.length={args.data_length}",
        f"train.batch_size={args.batch_size}",
        f"train.device={args.device}",
        *mode.ganzoo,
    ]
    config = resolve(parse_assignments(assignments))
    trainer = Trainer(config, RunDir(run_root))
    batches = iter(batch_loader(trainer.dataset, trainer.sampler, config.data.workers))
    return trainer, lambda: trainer.train_step(batches)


def hand_side(images: torch.Tensor, args: argparse.Namespace, mode: Mode) -> HandDCGAN:
    return HandDCGAN(images, args.batch_size, device=args.device, options=mode.hand)


def parameter_counts(*modules: torch.nn.Module) -> list[int]:
    return [sum(p.numel() for p in m.parameters()) for m in modules]


# ---- timing -----------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], Any], steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` calls of ``step``, the device drained before and after."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return time.perf_counter() - start


def bench_one(size: int, mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as tmp:
        trainer, ganzoo_step = ganzoo_side(size, args, mode, Path(tmp))
        # the hand loop trains on exactly the images the fake dataset serves, held in one tensor
        images = torch.stack([trainer.dataset[i] for i in range(len(trainer.dataset))])
        torch.manual_seed(0)
        hand = hand_side(images, args, mode)
        ours, theirs = (
            parameter_counts(trainer.g, trainer.d),
            parameter_counts(hand.netG, hand.netD),
        )
        if ours != theirs:
            raise SystemExit(f"{size}x{size}: G/D parameters differ: ganzoo {ours}, hand {theirs}")
        sides: dict[str, Callable[[], Any]] = {"hand": hand.step, "ganzoo": ganzoo_step}
        for step in sides.values():
            time_steps(step, args.warmup, device)
        rates: dict[str, list[float]] = {"hand": [], "ganzoo": []}
        for r in range(args.rounds):
            order = ["hand", "ganzoo"] if r % 2 == 0 else ["ganzoo", "hand"]
            for name in order:
                seconds = time_steps(sides[name], args.steps, device)
                rates[name].append(args.steps * args.batch_size / seconds)
    hand_rate, ganzoo_rate = statistics.median(rates["hand"]), statistics.median(rates["ganzoo"])
    paired = [g / h for g, h in zip(rates["ganzoo"], rates["hand"], strict=True)]
    return {
        "size": size,
        "mode": mode.name,
        "hand_img_s": hand_rate,
        "ganzoo_img_s": ganzoo_rate,
        "ratio": ganzoo_rate / hand_rate,
        "ratio_min": min(paired),
        "ratio_max": max(paired),
        "hand_rounds": rates["hand"],
        "ganzoo_rounds": rates["ganzoo"],
        "parameters": {"generator": ours[0], "discriminator": ours[1]},
    }


# ---- reporting --------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    fields: dict[str, str] = {}
    try:  # the first processor's lines are enough
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name") or platform.processor() or "unknown"
    flags = set(fields.get("flags", "").split())
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    info = {
        "cpu": cpu,
        "cores": usable,
        "torch_threads": torch.get_num_threads(),
        "bf16_isa": sorted(flags & {"avx512_bf16", "amx_bf16"}),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'size':>5}  {'mode':<13}{'hand img/s':>11}{'ganzoo img/s':>14}{'ratio':>7}  rounds"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>5}  {r['mode']:<13}{r['hand_img_s']:>11.1f}{r['ganzoo_img_s']:>14.1f}"
            f"{r['ratio']:>7.3f}  {r['ratio_min']:.2f}-{r['ratio_max']:.2f}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="28,32,64", help="image sizes, comma-separated")
    p.add_argument("--modes", default="eager,bf16", help=f"comma-separated, of: {', '.join(MODES)}")
    p.add_argument("--steps", type=int, default=10, help="timed steps per round and side")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per side first")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--data-length", type=int, default=1024, help="images in the fake dataset")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.mode_list if m not in MODES]
    if unknown:
        p.error(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    if args.data_length < args.batch_size:
        p.error("--data-length must be at least --batch-size")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores ({info['torch_threads']} torch threads), "
        f"bf16 ISA: {', '.join(info['bf16_isa']) or 'none'}; torch {info['torch']}, "
        f"python {info['python']}" + (f"; GPU {info['gpu']}" if "gpu" in info else "")
    )
    print(
        f"batch {args.batch_size}, {args.channels} channels, device {args.device}; "
        f"{args.rounds} rounds x {args.steps} steps per side after {args.warmup} warm-up steps"
    )
    started = time.perf_counter()
    rows = []
    for size in args.size_list:
        for name in args.mode_list:
            row = bench_one(size, MODES[name], args)
            rows.append(row)
            print(
                f"  {size}x{size} {name}: hand {row['hand_img_s']:.1f}, ganzoo "
                f"{row['ganzoo_img_s']:.1f} img/s, ratio {row['ratio']:.3f}",
                flush=True,
            )
    print()
    print_table(rows)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        report = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "machine": info,
            "settings": {
                k: v for k, v in vars(args).items() if k not in ("json", "size_list", "mode_list")
            },
            "modes": {n: {**asdict(MODES[n]), "hand": repr(MODES[n].hand)} for n in args.mode_list},
            "results": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
