"""TensorBoard gets every metrics column, the sample grids, the config and ``ganzoo eval``'s numbers."""

from __future__ import annotations

import json

import pytest

from ganzoo.testing import train_tiny

from .test_cli import ganzoo

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)


def events(folder):
    """Everything written under ``folder`` (all its events files), images and texts included."""
    accumulator = EventAccumulator(str(folder), size_guidance={"images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(
        tmp_path_factory.mktemp("tb") / "run", steps=4, assignments=["log.sample_every=2"]
    )


def test_every_metrics_column_is_a_scalar(run):
    logged = events(run / "tensorboard")
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    numbers = {k for k, v in row.items() if isinstance(v, int | float) and k != "step"}
    assert {"d_loss", "g_loss", "lr_g", "lr_d", "img_per_s", "images_seen"} <= numbers
    assert numbers <= set(logged.Tags()["scalars"])
    assert [e.step for e in logged.Scalars("g_loss")] == [2, 4]


def test_sample_grids_are_images_at_their_steps(run):
    logged = events(run / "tensorboard")
    grids = logged.Images("samples")
    assert sorted({g.step for g in grids}) == [2, 4]
    side = 8 * (16 + 2) + 2  # log.samples = 64 fixed latents: 8 x 8 cells of 16 px, padded
    assert (grids[0].width, grids[0].height) == (side, side)


def test_the_config_is_text_and_hyperparameters(run):
    logged = events(run / "tensorboard")
    assert "config/text_summary" in logged.Tags()["tensors"]
    text = logged.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert 'name = "dcgan"' in text and "batch_size = 8" in text
    hparams = logged.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    start = hparams["_hparams_/session_start_info"]
    assert b"train.batch_size" in start and b"model.params.ngf" in start


def test_ganzoo_eval_adds_its_numbers_at_the_checkpoint_step(capsys, run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = ganzoo(
        capsys, "eval", str(run), "-n", "32", "-m", "fd", "--extractor", "ganzoo-fmnist", "--json"
    )
    assert code == 0, err
    fd = json.loads(out)["metrics"]["fd"]
    logged = events(run / "tensorboard")
    (point,) = logged.Scalars("eval/ganzoo-fmnist/fd")
    assert point.step == 4 and point.value == pytest.approx(fd)
    assert "eval/ganzoo-fmnist/protocol/text_summary" in logged.Tags()["tensors"]


def test_nested_eval_numbers_such_as_per_class_scores_become_one_scalar_each(tmp_path):
    from ganzoo.train.tensorboard import log_eval

    result = {
        "metrics": {"fd": 12.5, "fd_per_class": {"0": 3.0, "1": 4.5}, "note": "text", "kid": None},
        "protocol": {"extractor": "ganzoo-fmnist", "step": 7, "ema": True},
    }
    assert log_eval(tmp_path, result)
    logged = events(tmp_path)
    scalars = set(logged.Tags()["scalars"])
    prefix = "eval-ema/ganzoo-fmnist"
    assert scalars == {f"{prefix}/fd", f"{prefix}/fd_per_class/0", f"{prefix}/fd_per_class/1"}
    assert logged.Scalars(f"{prefix}/fd_per_class/1")[0].value == 4.5


def test_without_tensorboard_every_call_is_a_no_op_and_eval_says_so(tmp_path, monkeypatch):
    import torch

    from ganzoo.config import RunConfig
    from ganzoo.train import tensorboard

    monkeypatch.setattr(tensorboard, "summary_writer_class", lambda: None)
    log = tensorboard.TensorBoardLog(tmp_path / "tb", RunConfig())
    log.write({"step": 1, "d_loss": 1.0})
    log.add_grid(1, torch.zeros(4, 1, 8, 8))
    log.close()
    result = {"metrics": {"fd": 1.0}, "protocol": {"extractor": "x", "step": 1}}
    assert tensorboard.log_eval(tmp_path / "tb", result) is False
    assert not (tmp_path / "tb").exists()
