"""Training-step speed: ganzoo's ``Trainer.train_step`` against the same DCGAN written by hand.

Both sides run in one process, interleaved: for every (size, mode) both are built, warmed up
(warm-up steps are never timed), then timed in ``--rounds`` alternating rounds (the side that goes
first alternates too) of ``--steps`` steps each, or more for fast sizes so that a round lasts
``--min-round-seconds``. Each side's figure is the median of its rounds, so a noisy machine hits
both alike. On a shared machine, a round waits until other processes are quiet, and a round
during which they used more than ``--max-foreign-load`` cores is run again (``--retries``).

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
import math
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


def fast_hand_options() -> HandOptions:
    """The hand loop's counterpart of ``--fast`` here: compiled, bf16 where it is native."""
    from ganzoo.train.device import cpu_has_native_bf16

    bf16 = torch.cuda.is_available() or cpu_has_native_bf16()
    return HandOptions(autocast_dtype=torch.bfloat16 if bf16 else None, compile=True)


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
        Mode(
            "compile",
            HandOptions(compile=True),
            ("train.compile=true",),
            "torch.compile of G and D, fp32",
        ),
        Mode(
            "compile+bf16",
            HandOptions(autocast_dtype=torch.bfloat16, compile=True),
            ("train.compile=true", "train.amp=true"),
            "torch.compile of G and D + bf16 autocast",
        ),
        Mode(
            "compile+bf16+cl+unfused",
            HandOptions(autocast_dtype=torch.bfloat16, compile=True),
            (
                "train.compile=true",
                "train.amp=true",
                "train.channels_last=true",
                "model.params.fused=false",
            ),
            "as compile+bf16+cl, with DCGAN's plain BatchNorm + LeakyReLU instead of the fused op",
        ),
        Mode(
            "compile+bf16+cl",
            HandOptions(autocast_dtype=torch.bfloat16, compile=True),
            ("train.compile=true", "train.amp=true", "train.channels_last=true"),
            "ganzoo also channels-last; the hand loop as in compile+bf16",
        ),
        Mode(
            "compile+cl",
            HandOptions(compile=True),
            ("train.compile=true", "train.channels_last=true"),
            "fp32: ganzoo compiled and channels-last; the hand loop as in compile",
        ),
        Mode(
            "compile+bf16+cudagraphs",
            HandOptions(
                autocast_dtype=torch.bfloat16, compile=True, compile_mode="reduce-overhead"
            ),
            (
                "train.compile=true",
                "train.amp=true",
                "train.channels_last=true",
                "train.compile_mode=reduce-overhead",
            ),
            "both compiled with mode=reduce-overhead (CUDA graphs; GPU only), bf16; ganzoo "
            "channels-last",
        ),
        Mode(
            "fast",
            fast_hand_options(),
            ("train.fast=true",),
            "ganzoo --fast (what it picks for this device); the hand loop compiled, with bf16 "
            "autocast where the device has native bf16",
        ),
        Mode(
            "fast+fused-adam",
            fast_hand_options(),
            ("train.fast=true", "optim.params.fused=true"),
            "as fast, with torch's fused Adam kernel (optim.params.fused=true) on the ganzoo side",
        ),
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


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have used (``/proc/stat``, steal included); None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    seconds: float
    foreign_load: float  # cores busy with other processes (or stolen) meanwhile; 0 when unknown


def time_steps(step: Callable[[], Any], steps: int, device: torch.device) -> Timing:
    """``steps`` calls of ``step``, the device drained before and after."""
    sync(device)
    busy, own = busy_cpu_seconds(), time.process_time()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - start
    busy_after, own_after = busy_cpu_seconds(), time.process_time()
    foreign = 0.0
    if busy is not None and busy_after is not None:
        foreign = max(0.0, (busy_after - busy) - (own_after - own)) / seconds
    return Timing(seconds, foreign)


def wait_for_quiet(max_load: float, patience: float) -> float:
    """Sleep until other processes use at most ``max_load`` cores over half a second, or until
    ``patience`` seconds have passed; returns the seconds waited."""
    waited = 0.0
    while waited < patience:
        before = busy_cpu_seconds()
        if before is None:
            return waited
        time.sleep(0.5)
        waited += 0.5
        if (busy_cpu_seconds() or 0.0) - before <= max_load * 0.5:
            break
    return waited


def bench_one(size: int, mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    # every row compiles afresh: Dynamo's caches are per code object (nn.Module._call_impl,
    # Sequential.forward), shared by all the models of this process, and would hit its
    # recompile limit after a few rows and silently fall back to eager
    torch._dynamo.reset()
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
        # warm-up, one step at a time: the fastest step sets how many steps a round needs
        # (with compile, the first step compiles: its time is reported apart as warm-up)
        warmup: dict[str, list[float]] = {
            name: [time_steps(step, 1, device).seconds for _ in range(max(1, args.warmup))]
            for name, step in sides.items()
        }
        fastest = min(min(times) for times in warmup.values())
        steps = max(args.steps, math.ceil(args.min_round_seconds / fastest))
        rates: dict[str, list[float]] = {"hand": [], "ganzoo": []}
        loads: list[float] = []
        discarded, r, waited = 0, 0, 0.0
        while len(loads) < args.rounds:
            order = ["hand", "ganzoo"] if r % 2 == 0 else ["ganzoo", "hand"]
            r += 1
            waited += wait_for_quiet(args.max_foreign_load, args.patience)
            timings = {name: time_steps(sides[name], steps, device) for name in order}
            load = max(t.foreign_load for t in timings.values())
            if load > args.max_foreign_load and discarded < args.retries:
                # another process took CPU time meanwhile: this round says little, run it again
                discarded += 1
                continue
            loads.append(load)
            for name, t in timings.items():
                rates[name].append(steps * args.batch_size / t.seconds)
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
        "steps_per_round": steps,
        "warmup_seconds": {name: round(sum(times), 2) for name, times in warmup.items()},
        "foreign_load": statistics.median(loads),
        "rounds_discarded": discarded,
        "seconds_waited_for_quiet": waited,
        "hand_rounds": rates["hand"],
        "ganzoo_rounds": rates["ganzoo"],
        "foreign_load_rounds": loads,
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


def ganzoo_revision() -> dict[str, Any]:
    """ganzoo's version and, in a git checkout, its commit (with ``dirty`` for local edits)."""
    import subprocess

    from ganzoo import __version__

    info: dict[str, Any] = {"version": __version__}
    root = Path(__file__).resolve().parent.parent
    try:
        git = ["git", "-C", str(root)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        status = subprocess.run(
            [*git, "status", "--porcelain", "--", "ganzoo", "plugins"],
            capture_output=True,
            text=True,
        )
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            info["dirty"] = bool(status.stdout.strip())
    except OSError:
        pass
    return info


def provenance() -> dict[str, Any]:
    """When, how and on what a benchmark ran: the head of every JSON report."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
        "ganzoo": ganzoo_revision(),
    }


def write_report(path: Path | None, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON to ``path`` (``--json``), saying where; nothing without a path."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {path}")


def print_table(rows: list[dict[str, Any]]) -> None:
    """A Markdown table: medians of the rounds, the spread of the per-round ratios, both sides
    against the hand loop's fp32 eager figure of the same size (when measured), the warm-up
    (compile) seconds of each side, how busy the machine was and rounds redone."""
    eager = {r["size"]: r["hand_img_s"] for r in rows if r["mode"] == "eager"}
    print(
        "| size | mode | hand img/s | ganzoo img/s | ganzoo/hand | per-round "
        "| hand / hand eager | ganzoo / hand eager | warm-up s (hand, ganzoo) | other load | redone |"
    )
    print("|---:|:---|---:|---:|---:|:---:|---:|---:|:---:|---:|---:|")
    for r in rows:
        base = eager.get(r["size"])
        rel = (
            (f"{r['hand_img_s'] / base:.2f}x", f"{r['ganzoo_img_s'] / base:.2f}x")
            if base
            else ("-", "-")
        )
        warm = r.get("warmup_seconds", {})
        print(
            f"| {r['size']} | {r['mode']} | {r['hand_img_s']:.1f} | {r['ganzoo_img_s']:.1f} "
            f"| {r['ratio']:.3f} | {r['ratio_min']:.2f}-{r['ratio_max']:.2f} | {rel[0]} | {rel[1]} "
            f"| {warm.get('hand', 0):.1f}, {warm.get('ganzoo', 0):.1f} "
            f"| {r['foreign_load']:.2f} | {r['rounds_discarded']} |"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="28,32,64", help="image sizes, comma-separated")
    p.add_argument("--modes", default="eager,bf16", help=f"comma-separated, of: {', '.join(MODES)}")
    p.add_argument("--steps", type=int, default=5, help="timed steps per round and side, at least")
    p.add_argument(
        "--min-round-seconds",
        type=float,
        default=1.0,
        help="more steps per round for fast sizes, so one side's round lasts this long",
    )
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per side first (>= 1)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--data-length", type=int, default=1024, help="images in the fake dataset")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--max-foreign-load",
        type=float,
        default=0.2,
        help="redo a round when other processes used more than this many cores meanwhile",
    )
    p.add_argument("--retries", type=int, default=10, help="rounds redone at most, per row")
    p.add_argument(
        "--patience",
        type=float,
        default=60.0,
        help="before each round, wait up to this many seconds for other processes to go quiet",
    )
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
        f"{args.rounds} rounds x max({args.steps} steps, {args.min_round_seconds:g} s) per side, "
        f"after {args.warmup} warm-up steps"
    )
    started = time.perf_counter()
    rows = []
    for size in args.size_list:
        for name in args.mode_list:
            row = bench_one(size, MODES[name], args)
            rows.append(row)
            print(
                f"  {size}x{size} {name}: hand {row['hand_img_s']:.1f}, ganzoo "
                f"{row['ganzoo_img_s']:.1f} img/s, ratio {row['ratio']:.3f} "
                f"({row['rounds_discarded']} rounds redone, "
                f"{row['seconds_waited_for_quiet']:.0f} s waited for a quiet machine)",
                flush=True,
            )
    print()
    print_table(rows)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    skip = ("json", "size_list", "mode_list")
    write_report(args.json, {
        **provenance(),
        "settings": {k: v for k, v in vars(args).items() if k not in skip},
        "modes": {n: {**asdict(MODES[n]), "hand": repr(MODES[n].hand)} for n in args.mode_list},
        "results": rows,
    })  # fmt: skip


if __name__ == "__main__":
    main()
