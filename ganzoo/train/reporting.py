"""What a finished run reports: summary.json and the loss-curve plot."""

from __future__ import annotations

import warnings

from .rundir import RunDir


def plot_losses(run_dir: RunDir) -> bool:
    """``loss_curve.png`` from metrics.jsonl; False (and a warning) where it could not be drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # a core dependency, but a broken or stripped install must not fail a run
        warnings.warn(
            "matplotlib is not installed: loss_curve.png skipped (pip install matplotlib)",
            stacklevel=2,
        )
        return False
    rows = run_dir.read_metrics()
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["d_loss"] for r in rows], label="D")
    ax.plot(steps, [r["g_loss"] for r in rows], label="G")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir.loss_curve, dpi=100)
    plt.close(fig)
    return True
