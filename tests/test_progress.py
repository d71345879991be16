"""What a run prints while it trains, on a terminal or not."""

from __future__ import annotations

from ganzoo.train.progress import TrainingProgress, clock_text

ROW = {"step": 0, "d_loss": 1.25, "g_loss": 0.5, "img_per_s": 640.0}


def test_plain_lines_show_losses_elapsed_time_and_eta(capsys):
    now = [100.0]
    progress = TrainingProgress(total=100, start=20, interactive=False, clock=lambda: now[0])
    with progress:
        now[0] += 30.0  # 10 steps in 30 s: 70 steps left take 210 s
        progress.report({**ROW, "step": 30})
    err = capsys.readouterr().err
    assert err == "step 30/100  d 1.2500  g 0.5000  640 img/s  elapsed 0:00:30  eta 0:03:30\n"


def test_clock_text_counts_hours():
    assert clock_text(3 * 3600 + 62.4) == "3:01:02"
