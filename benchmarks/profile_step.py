"""Where ganzoo's training step spends its time: torch.profiler over DCGAN steps, by category.

    python benchmarks/profile_step.py --size 64 --mode compile --steps 10 --fused-adam on

The step is built exactly as ``train_speed.py`` builds ganzoo's side (a ``Trainer`` on ``fake``
data, ``trainer.train_step`` on the batch iterator ``fit`` uses). After ``--warmup`` untimed steps
(compiling happens there), ``--steps`` steps are timed without the profiler, then ``--steps`` more
are profiled (after one profiler warm-up step).

Every profiled op's self time (CPU: its self CPU time; CUDA: the GPU time of the kernels it
launched) goes to the first category in :data:`CATEGORIES` whose pattern matches the op or one of
its enclosing events: the optimizer's ops, those of the batch loader, then the loss, convolutions,
BatchNorm and activations by aten op or autograd node name, then Inductor's kernels and what else
runs inside a compiled graph; every other op is "other ops". "Python/framework overhead" is the
step's wall time minus all op time: Python, the autograd engine, dispatch and (on CUDA) idle GPU.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile, schedule

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_speed import Mode, ganzoo_side, provenance, sync, write_report  # noqa: E402

from ganzoo.train.device import fast_summary  # noqa: E402

# --mode: the ganzoo settings of each mode
MODES = {"eager": (), "compile": ("train.compile=true",), "fast": ("train.fast=true",)}
ADAM = {"off": (), "on": ("optim.params.fused=true",), "foreach": ("optim.params.foreach=true",)}
# (category, pattern over the names of an op and its enclosing events); the first match wins
CATEGORIES = [
    ("optimizer step", r"^Optimizer\."),  # Optimizer.step#Adam.step, Optimizer.zero_grad#...
    ("data (batch loading)", r"^enumerate\(DataLoader\)"),
    ("loss", r"binary_cross_entropy|BinaryCrossEntropy|mse_loss|MseLoss|softplus|log_sigmoid"),
    ("convolution (fwd+bwd)", r"conv|Convolution"),
    ("BatchNorm", r"batch_norm|BatchNorm"),
    ("LeakyReLU / activation", r"relu|Relu|threshold|tanh|Tanh|sigmoid|Sigmoid"),
    ("compiled graph (Inductor kernels)", r"cpp_fused|^triton_|Compiled|inductor_wrapper_call"),
]
# Inductor's generated kernels, fused across ops (graph_3_cpp_fused_..., triton_poi_fused_...)
KERNEL = re.compile(r"^(graph_\d+_)?(cpp_fused|triton_)")
OTHER, OVERHEAD = "other ops", "Python/framework overhead"
SHOWN = [CATEGORIES[i][0] for i in (3, 4, 5, 2, 0, 1, 6)] + [OTHER]  # the table's order


def category(event: Any) -> str:
    """The category of ``event`` (a profiler op): a fused kernel is one whatever its ops are."""
    names, parent = [event.name], event.cpu_parent
    while parent is not None:
        names.append(parent.name)
        parent = parent.cpu_parent
    if KERNEL.search(event.name) and not any(n.startswith("Optimizer.") for n in names):
        return CATEGORIES[-1][0]
    for name, pattern in CATEGORIES:
        if any(re.search(pattern, n) for n in names):
            return name
    return OTHER


def is_op(name: str) -> bool:
    """An op or kernel (``aten::conv2d``, ``ganzoo::fused_leaky_relu``, ``cpp_fused_...``), not a
    scope (``ProfilerStep*``, ``autograd::engine::...``, ``Optimizer.step#Adam.step``)."""
    return bool(KERNEL.search(name)) or ("::" in name and not name.startswith("autograd::"))


def breakdown(events: Any, device: torch.device, wall_us: float) -> dict[str, float]:
    """Microseconds per category over all profiled steps, overhead being the rest of the wall."""
    totals = dict.fromkeys(SHOWN, 0.0)
    for event in events:
        if event.device_type != DeviceType.CPU or event.is_async:
            continue
        if device.type == "cuda":  # GPU time of the kernels it launched, whatever it is
            spent = event.self_device_time_total
        else:
            spent = event.self_cpu_time_total if is_op(event.name) else 0.0
        if spent:
            totals[category(event)] += spent
    totals[OVERHEAD] = max(0.0, wall_us - sum(totals.values()))
    return totals


def profile_steps(step: Any, steps: int, device: torch.device) -> tuple[Any, float]:
    """``steps`` profiled steps (after one profiler warm-up step): the events and wall us."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    plan = schedule(wait=0, warmup=1, active=steps, repeat=1)
    with profile(activities=activities, schedule=plan) as prof:
        for _ in range(steps + 1):
            step()
            sync(device)  # the step's GPU work inside its ProfilerStep
            prof.step()
    events = prof.events()
    wall = sum(e.cpu_time_total for e in events if e.name.startswith("ProfilerStep"))
    return events, wall


def timed(step: Any, steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` calls of ``step``, the device drained at the end."""
    started = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return time.perf_counter() - started


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Build the step, warm it up, time it, profile it; the report (times in ms per step)."""
    device = torch.device(args.device)
    # names Inductor's C++ kernels in the profile (else their time shows as the graph's scope)
    torch._inductor.config.cpp.enable_kernel_profile = True
    mode = Mode(args.mode, ganzoo=(*MODES[args.mode], *ADAM[args.fused_adam]))
    with tempfile.TemporaryDirectory(prefix="ganzoo-profile-") as tmp:
        trainer, step = ganzoo_side(args.size, args, mode, Path(tmp))
        train = trainer.config.train
        warmup = timed(step, args.warmup, device)
        unprofiled = timed(step, args.steps, device)
        events, wall_us = profile_steps(step, args.steps, device)
    per_step = 1e-3 / args.steps  # us over all steps -> ms per step
    self_time = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    top = sorted(
        ((e.key, getattr(e, self_time)) for e in events.key_averages() if is_op(e.key)),
        key=lambda item: -item[1],
    )
    optimizer = sum(e.cpu_time_total for e in events if e.name.startswith("Optimizer.step#"))
    return {
        **provenance(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "resolved": {k: getattr(train, k) for k in ("amp", "compile", "channels_last")},
        "fast": fast_summary(train, trainer.device) if train.fast else None,
        "warmup_seconds": warmup,
        "step_ms_unprofiled": unprofiled / args.steps * 1e3,
        "step_ms_profiled": wall_us * per_step,
        "categories_ms": {k: v * per_step for k, v in breakdown(events, device, wall_us).items()},
        "optimizer_step_ms_inclusive": optimizer * per_step,
        "top_ops_ms": {key: us * per_step for key, us in top[: args.top]},
    }


def print_report(report: dict[str, Any]) -> None:
    args, wall, host = report["settings"], report["step_ms_profiled"], report["machine"]
    resolved = ", ".join(f"{k} {v}" for k, v in report["resolved"].items())
    print(
        f"{args['size']}x{args['size']}, batch {args['batch_size']}, {args['mode']} ({resolved}), "
        f"Adam fused/foreach {args['fused_adam']}, {args['device']}, {host['torch_threads']} "
        f"threads, torch {host['torch']}" + (f"\n{report['fast']}" if report["fast"] else "")
    )
    img_s = args["batch_size"] / report["step_ms_unprofiled"] * 1e3
    print(
        f"warm-up {report['warmup_seconds']:.1f} s; step {report['step_ms_unprofiled']:.2f} ms "
        f"unprofiled ({img_s:.0f} img/s), {wall:.2f} ms profiled\n"
    )
    print(f"| {'category':<34} | ms/step | % of step |\n|{'-' * 36}|--------:|----------:|")
    for name, ms in [*report["categories_ms"].items(), ("step (profiled wall)", wall)]:
        print(f"| {name:<34} | {ms:7.2f} | {ms / wall:9.1%} |")
    print(
        f"\nAdam's step() with its Python: {report['optimizer_step_ms_inclusive']:.2f} ms/step; "
        "top ops by self time:"
    )
    for key, ms in report["top_ops_ms"].items():
        print(f"  {ms:7.2f} ms  {key}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = measure(args)
    print_report(report)
    write_report(args.json, report)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=64, help="image side: 28, 32, 64, ...")
    p.add_argument("--batch-size", "--batch", type=int, default=64)
    p.add_argument("--mode", default="eager", choices=list(MODES))
    p.add_argument("--steps", type=int, default=10, help="timed, then profiled steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compiling)")
    p.add_argument(
        "--fused-adam",
        default="off",
        choices=list(ADAM),
        help="off: torch's default (a per-tensor loop on CPU), on: fused=True, foreach: foreach=True",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--data-length", type=int, default=1024, help="images in the fake dataset")
    p.add_argument("--top", type=int, default=8, help="ops listed by self time")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 1 or args.data_length < args.batch_size:
        p.error("--steps and --warmup must be >= 1, --data-length >= --batch-size")
    return args


if __name__ == "__main__":
    main()
