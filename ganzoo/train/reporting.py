"""What a finished run reports: summary.json and the loss-curve plot."""

from __future__ import annotations

from .rundir import RunDir


def plot_losses(run_dir: RunDir) -> None:
    """``loss_curve.png`` from metrics.jsonl, when matplotlib is installed (the ``plot`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = run_dir.read_metrics()
    if not rows:
        return
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
