"""Bench tables: mean +/- std over seeds per variant, as a rich table, Markdown, CSV and JSON,
plus one figure (a sample grid per variant and the metric-vs-step curves)."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.table import Table

from ..metrics.evaluate import frechet_name

# (key in a run row, column title, format); {x} in a title: the extractor of the bench's metrics
COLUMNS = [
    ("fd", "FD ({x})", "{:.2f}"),
    ("fid", "FID ({x})", "{:.2f}"),
    ("kid", "KID ({x})", "{:.4f}"),
    ("precision", "precision ({x})", "{:.3f}"),
    ("recall", "recall ({x})", "{:.3f}"),
    # class-conditional runs: intra-class distance (mean and worst class), generated-image accuracy
    ("fd_class_mean", "intra-class FD ({x})", "{:.2f}"),
    ("fid_class_mean", "intra-class FID ({x})", "{:.2f}"),
    ("fd_class_worst", "worst-class FD ({x})", "{:.2f}"),
    ("fid_class_worst", "worst-class FID ({x})", "{:.2f}"),
    ("class_accuracy", "class acc (ganzoo-fmnist)", "{:.3f}"),
    ("inception_fid", "FID (inception)", "{:.1f}"),
    ("img_per_s", "train img/s", "{:.0f}"),
    ("eval_seconds", "eval s", "{:.1f}"),
    ("peak_memory_mb", "peak MB", "{:.0f}"),
]
SCORES = ("fd", "fid", "kid", "precision", "recall")
SCORES += tuple(f"{d}_class_{s}" for d in ("fd", "fid") for s in ("mean", "worst"))
SCORES += ("class_accuracy",)


def run_row(described: dict[str, Any], scores: dict[str, Any]) -> dict[str, Any]:
    summary, final = described["summary"], scores["final"]
    row = {
        "variant": described["variant"],
        "seed": described["seed"],
        "run": described["run"],
        **{k: final["metrics"][k] for k in SCORES if k in final["metrics"]},
        "img_per_s": summary["img_per_s"],
        "eval_seconds": final["eval_seconds"],
        "peak_memory_mb": summary["peak_memory_mb"],
        "g_params": summary["parameters"]["generator"],
        "d_params": summary["parameters"]["discriminator"],
        "steps": summary["steps"],
        "protocol": final["protocol"],
        "curve": scores["curve"],
    }
    if "inception" in scores:
        row["inception_fid"] = scores["inception"]["metrics"]["fid"]
        row["inception_protocol"] = scores["inception"]["protocol"]
    return row


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per variant: ``{key: {"mean", "std"}}`` over its seeds (std None for one seed)."""
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_variant[row["variant"]].append(row)
    table = []
    for variant, runs in by_variant.items():
        entry: dict[str, Any] = {
            "variant": variant,
            "seeds": sorted(r["seed"] for r in runs),
            "steps": runs[0]["steps"],
            "g_params": runs[0]["g_params"],
            "d_params": runs[0]["d_params"],
        }
        for key, _, _ in COLUMNS:
            values = [r[key] for r in runs if r.get(key) is not None]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else None
                entry[key] = {"mean": statistics.fmean(values), "std": std}
        table.append(entry)
    return table


def _cells(entry: dict[str, Any], keys: list[tuple[str, str, str]]) -> list[str]:
    """``mean ± std``, or the mean alone where one seed gives no spread."""
    out = []
    for key, _, fmt in keys:
        value = entry.get(key)
        if value is None:
            out.append("-")
        elif value["std"] is None:
            out.append(fmt.format(value["mean"]))
        else:
            out.append(f"{fmt.format(value['mean'])} ± {fmt.format(value['std'])}")
    return out


def present_columns(table: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [c for c in COLUMNS if any(c[0] in e for e in table)]


def titles(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]]) -> list[str]:
    """Column titles naming the extractor whose features produced each score."""
    return [title.format(x=rows[0]["protocol"]["extractor"]) for _, title, _ in columns]


def table_title(table: list[dict[str, Any]]) -> str:
    several = any(len(e["seeds"]) > 1 for e in table)
    return "ganzoo bench (mean ± std over seeds)" if several else "ganzoo bench (one seed each)"


def protocol_line(rows: list[dict[str, Any]]) -> str:
    p = rows[0]["protocol"]
    line = (
        f"{frechet_name(p['extractor']).upper()}/KID/PR: extractor {p['extractor']} (layer {p['feature_layer']}, {p['resize']}), "
        f"{p['num_samples']} samples vs {p['num_ref']} images of {p['ref_split']}, G in {p.get('generator_mode', 'eval')} mode, "
        f"{'EMA' if p['ema'] else 'raw'} weights, step {p['step']}"
    )
    if "inception_protocol" in rows[0]:
        q = rows[0]["inception_protocol"]
        line += (
            f"; FID (inception): layer {q['feature_layer']}, {q['resize']}, {q['num_samples']} samples "
            f"vs {q['num_ref']} images of {q['ref_split']}"
        )
    return line


def rich_table(table: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Table:
    columns = present_columns(table)
    out = Table(
        title=table_title(table),
        title_justify="left",
        caption=protocol_line(rows),
        caption_justify="left",
    )
    out.add_column("variant", no_wrap=True, min_width=max(len(e["variant"]) for e in table))
    for title in ["seeds", *titles(columns, rows), "G / D params"]:
        out.add_column(title, justify="right")
    for e in table:
        params = f"{e['g_params'] / 1e6:.2f}M / {e['d_params'] / 1e6:.2f}M"
        out.add_row(e["variant"], str(len(e["seeds"])), *_cells(e, columns), params)
    return out


def markdown(table: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    columns = present_columns(table)
    head = ["variant", "seeds", *titles(columns, rows), "G / D params"]
    lines = [f"{table_title(table)}\n", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in table:
        params = f"{e['g_params'] / 1e6:.2f}M / {e['d_params'] / 1e6:.2f}M"
        lines.append(
            "| "
            + " | ".join([e["variant"], str(len(e["seeds"])), *_cells(e, columns), params])
            + " |"
        )
    return "\n".join(lines) + f"\n\n{protocol_line(rows)}; {table[0]['steps']} steps per run.\n"


FIGURE = "figure.png"
GRIDS_PER_ROW = 6  # sample grids side by side in the figure
COLOURS = 10  # matplotlib's default colour cycle
LINE_STYLES = ("-", "--", ":")


def grid_layout(variants: int) -> tuple[int, int]:
    """(columns, rows) of the figure's sample grids: a study of many variants wraps its grids
    into rows of GRIDS_PER_ROW rather than one ever wider strip; two columns at least, so a
    single variant's grid is not stretched across the whole width."""
    columns = min(GRIDS_PER_ROW, max(2, variants))
    return columns, -(-variants // columns)


def line_style(index: int) -> str:
    """The curve style of the ``index``-th variant: past the colour cycle, the next dash pattern,
    so no two of up to 30 variants share colour and style."""
    return LINE_STYLES[index // COLOURS % len(LINE_STYLES)]


def write_outputs(root: Path, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The per-variant table, and the names of the files written into ``root``."""
    table = aggregate(rows)
    root.mkdir(parents=True, exist_ok=True)
    (root / "results.md").write_text(markdown(table, rows))
    (root / "results.json").write_text(
        json.dumps({"variants": table, "runs": rows}, indent=2) + "\n"
    )
    flat_keys = [
        "variant",
        "seed",
        "run",
        "steps",
        *[c[0] for c in COLUMNS],
        "g_params",
        "d_params",
    ]
    with (root / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=flat_keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    written = ["results.md", "results.csv", "results.json"]
    if figure(root / FIGURE, rows):
        written.append(FIGURE)
    return table, written


def figure(path: Path, rows: list[dict[str, Any]]) -> bool:
    """Top: the last sample grid of each variant's first seed; bottom: FD (FID) vs step per variant,
    left out where no run scored a curve (runs that kept only their last checkpoint).

    False, and no file, where matplotlib cannot be imported.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from PIL import Image
    except ImportError:  # a core dependency, but a broken or stripped install must not stop a bench
        return False
    variants = sorted({r["variant"] for r in rows})
    has_curves = any(r["curve"] for r in rows)
    columns, grid_rows = grid_layout(len(variants))
    fig = plt.figure(figsize=(3 * columns, 3.2 * grid_rows + (3.5 if has_curves else 0.3)))
    heights = [1] * grid_rows + ([1.1] if has_curves else [])
    grid = fig.add_gridspec(len(heights), columns, height_ratios=heights)
    for i, variant in enumerate(variants):
        first = min((r for r in rows if r["variant"] == variant), key=lambda r: r["seed"])
        samples = sorted((Path(first["run"]) / "samples").glob("step_*.png"))
        ax = fig.add_subplot(grid[i // columns, i % columns])
        if samples:
            ax.imshow(Image.open(samples[-1]), cmap="gray")
        ax.set_title(variant, fontsize=9)
        ax.axis("off")
    if has_curves:
        curve_panel(fig.add_subplot(grid[grid_rows, :]), rows, variants)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def curve_panel(ax: Any, rows: list[dict[str, Any]], variants: list[str]) -> None:
    """FD (FID) vs step, the mean over seeds of each variant that has a curve."""
    extractor = rows[0]["protocol"]["extractor"]
    distance = frechet_name(extractor)
    for i, variant in enumerate(variants):
        curves = [r["curve"] for r in rows if r["variant"] == variant and r["curve"]]
        if not curves:
            continue
        steps = [p["step"] for p in curves[0]]
        means = [
            statistics.fmean(c[j][distance] for c in curves if j < len(c))
            for j in range(len(steps))
        ]
        ax.plot(steps, means, marker="o", linestyle=line_style(i), label=variant)
    ax.set_xlabel("step")
    ax.set_ylabel(f"{distance.upper()} ({extractor}), mean over seeds")
    ax.set_yscale("log")
    ax.legend(
        fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0)
    )  # beside, not over, the lines
