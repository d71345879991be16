"""What `ganzoo run` tells the user: the start, a resume, a Ctrl-C, the end of a run."""

from __future__ import annotations

from ganzoo.train.trainer import Interrupted, Trainer

from .test_cli import ganzoo
from .test_training import TINY_FLAGS


def test_the_end_of_a_run_says_how_long_the_losses_where_everything_is_and_what_next(
    capsys, tmp_path, fresh_host
):
    run = tmp_path / "run"
    code, out, err = ganzoo(
        capsys, "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, "--steps", "4", "-o", str(run)
    )
    assert code == 0, err
    done, samples, curve, tensorboard, next_command = out.splitlines()
    assert done.startswith("done: 4 steps in 0:00:") and "(training 0:00:" in done
    assert "img/s), final losses d " in done and "  g " in done
    assert done.endswith(f", checkpoint {run}/checkpoints/last.safetensors")
    assert samples == f"  samples:     {run}/samples/step_000004.png"
    assert curve == f"  loss curve:  {run}/loss_curve.png"
    assert tensorboard == f"  TensorBoard: tensorboard --logdir {run}/tensorboard"
    assert next_command == f"next: ganzoo eval {run}"
    assert "resuming" not in err

    code, _, err = ganzoo(capsys, "run", "--resume", str(run), "--steps", "6")
    assert code == 0, err
    assert "resuming from step 4 of 6 (2 to go)\n" in err


def test_ctrl_c_is_reported_as_a_saved_stop_not_an_error(capsys, tmp_path, fresh_host, monkeypatch):
    def interrupted(self, progress=None):
        raise Interrupted(
            f"interrupted at step 3; checkpoint saved, continue with `ganzoo run --resume {self.run_dir.root}`"
        )

    monkeypatch.setattr(Trainer, "fit", interrupted)
    run = tmp_path / "run"
    code, out, err = ganzoo(capsys, "run", "dcgan", *TINY_FLAGS, "--steps", "4", "-o", str(run))
    assert (code, out) == (130, "")
    last = err.splitlines()[-1]
    assert (
        last
        == f"interrupted at step 3; checkpoint saved, continue with `ganzoo run --resume {run}`"
    )
    assert "error" not in err
