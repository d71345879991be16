"""The model card ``ganzoo export`` writes next to the generator (``README.md``): what maps to
what, how to call it, the eval numbers with their protocol, the plugins and the config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .export import GRID, GRID_COUNT, GRID_SEED, ONNX, PROGRAM, TORCHSCRIPT, WEIGHTS
from .train.tensorboard import flat_numbers


def read_evals(folder: Path) -> list[dict[str, Any]]:
    """The results ``ganzoo eval`` wrote (``RUN/eval/*.json``), oldest step first."""
    results = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a file being written, or not ours: the card lists what it can read
        if isinstance(result, dict) and "metrics" in result and "protocol" in result:
            results.append({**result, "file": path.name})
    return sorted(results, key=lambda r: (r["protocol"].get("step", 0), r["file"]))


def model_card(
    info: dict[str, Any],
    written: list[str],
    skipped: list[str],
    evals: list[dict[str, Any]],
    run_root: Path,
    toml: str,
) -> str:
    """The export's README.md: what it is, how to use it, how it was trained and scored."""
    config = info["config"]
    image = info["image"]
    conditional = info["num_classes"] > 0
    which = "EMA" if info["ema"] else "raw"
    prior = (
        "N(0, I)"
        if info["latent_prior"] == "normal"
        else f"the prior of `{info['latent_prior']}` (not N(0, I))"
    )
    lines = [
        f"# {config['model']['name']} generator: {config['loss']['name']} loss on "
        f"{config['data']['name']}",
        "",
        f"The {which} generator of the ganzoo run `{run_root}` at step {info['step']}, exported by "
        f"ganzoo {info['ganzoo']} (torch {info['torch']}). It maps latents `z` of shape "
        f"`(B, {info['latent_dim']})`, drawn from {prior}"
        + (
            f", and class labels `y` of shape `(B,)` in `0..{info['num_classes'] - 1}`"
            if conditional
            else ""
        )
        + f", to images `(B, {image['channels']}, {image['size']}, {image['size']})` in `[-1, 1]`.",
        "",
        *(
            [
                f"Classes (`y`): {', '.join(f'{i} {name}' for i, name in enumerate(info['classes']))}.",
                "",
            ]
            if conditional and info.get("classes")
            else []
        ),
        f"![{GRID_COUNT} samples, seed {GRID_SEED}]({GRID})",
        "",
        "## Files",
        "",
        "| file | what | needs |",
        "|---|---|---|",
    ]
    described = {
        TORCHSCRIPT: ("TorchScript, traced in eval mode", "torch only"),
        PROGRAM: (
            "a `torch.export` program, eval mode: `torch.export.load(path).module()`",
            "torch only",
        ),
        ONNX: ("ONNX, batch size dynamic", "an ONNX runtime"),
        WEIGHTS: (
            "weights and metadata (config, image shape, plugins)",
            "ganzoo and the architecture's plugin: `ganzoo.load_generator`",
        ),
        GRID: (f"{GRID_COUNT} samples (seed {GRID_SEED})", ""),
    }
    for name in [*written, GRID]:
        if name in described:
            what, needs = described[name]
            lines.append(f"| `{name}` | {what} | {needs} |")
    lines += [""] + [f"Not written: {note}." for note in skipped] + ([""] if skipped else [])
    call = "generator(z, y)" if conditional else "generator(z)"
    lines += [
        "## Use",
        "",
        "```python",
        "import torch",
        "",
        f'generator = torch.jit.load("{TORCHSCRIPT}")',
        f"z = torch.randn(16, {info['latent_dim']})",
    ]
    if conditional:
        lines.append(f"y = torch.randint(0, {info['num_classes']}, (16,))  # class labels")
    lines += [
        "with torch.no_grad():",
        f"    images = {call}  # (16, {image['channels']}, {image['size']}, {image['size']}) in [-1, 1]",
        "```",
        "",
        f'With ganzoo: `generator = ganzoo.load_generator("{WEIGHTS}")`.',
        "",
        "## Evaluation",
        "",
    ]
    lines += eval_table(evals) or [
        f"No evaluation yet: run `ganzoo eval {run_root}` and export again.",
    ]
    lines += [
        "",
        "## Plugins",
        "",
        "| role | plugin | distribution | version |",
        "|---|---|---|---|",
    ]
    for role, entry in info["plugins"].items():
        if isinstance(entry, dict):
            lines.append(
                f"| {role} | `{entry.get('name')}` | {entry.get('distribution')} | {entry.get('version')} |"
            )
    versions = {k: v for k, v in info["plugins"].items() if isinstance(v, str)}
    if versions:
        lines += ["", "Trained with " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    lines += ["", "## Config", "", "```toml", toml.rstrip(), "```", ""]
    return "\n".join(lines)


def eval_table(evals: list[dict[str, Any]]) -> list[str]:
    """One row per metric of every eval result, with the protocol that produced it."""
    if not evals:
        return []
    lines = [
        "| metric | value | step | G | extractor | samples | reference | seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in evals:
        p = result["protocol"]
        extractor = p.get("extractor", "?")
        if p.get("feature_layer"):
            extractor += f" ({p['feature_layer']}, {p.get('resize', '')})".replace(", )", ")")
        for name, value in flat_numbers(result["metrics"]).items():
            lines.append(
                f"| {name} | {value:.4g} | {p.get('step', '?')} | {'EMA' if p.get('ema') else 'raw'} "
                f"| {extractor} | {p.get('num_samples', '?')} | {p.get('num_ref', '?')} of "
                f"{p.get('ref_split', '?')} | {p.get('seed', '?')} |"
            )
    lines += ["", "From `eval/*.json` in the run directory; each file holds the full protocol."]
    return lines
