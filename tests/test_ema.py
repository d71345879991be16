"""The EMA generator: its warm-up, and BatchNorm statistics recomputed for the averaged weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo import Generator
from ganzoo.errors import UsageError
from ganzoo.train import checkpoint as ckpt
from ganzoo.train.ema import EMA, RECOMPUTE_BATCHES
from ganzoo.train.loading import load_generator

from .test_training import tiny, train


class Shift(Generator):
    """z -> BatchNorm(z * w): the statistics BatchNorm should hold are known in closed form."""

    def __init__(self, weight: float, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = 3
        self.num_classes = num_classes
        self.w = nn.Parameter(torch.full((3,), weight))
        self.norm = nn.BatchNorm1d(3)
        self.labels_seen: list[torch.Tensor] = []

    def forward(self, z, y=None):
        if y is not None:
            self.labels_seen.append(y)
        return self.norm(z * self.w)


def test_the_decay_warms_up_to_its_value():
    ema = EMA(Shift(1.0), decay=0.999)
    assert ema.current_decay(0) == pytest.approx(0.1)
    assert ema.current_decay(90) == pytest.approx(0.91)
    assert ema.current_decay(10**6) == 0.999


def test_recompute_estimates_the_statistics_of_the_averaged_weights():
    g = Shift(1.0)
    ema = EMA(g, decay=0.5)
    g.w.data.fill_(3.0)  # G moved on; the average sits at 2.0 after one update at decay 0.5
    g.norm.running_var.fill_(9.0)  # G's own statistics: z * 3 has variance 9
    ema.update(g, step=10**6)
    assert torch.allclose(ema.model.w, torch.full((3,), 2.0))
    assert torch.allclose(ema.model.norm.running_var, torch.ones(3))  # not G's: recomputed below

    ema.refresh_batchnorm(batch_size=256, step=7)
    # z * 2 with z ~ N(0, 1): variance 4, mean 0, estimated from RECOMPUTE_BATCHES x 256 draws
    assert torch.allclose(ema.model.norm.running_var, torch.full((3,), 4.0), rtol=0.05)
    assert ema.model.norm.running_mean.abs().max() < 0.05
    assert int(ema.model.norm.num_batches_tracked) == RECOMPUTE_BATCHES
    assert ema.model.norm.momentum == 0.1 and not ema.model.training  # left as it was


def test_recompute_is_a_function_of_the_step_alone():
    a, b = EMA(Shift(2.0), 0.9), EMA(Shift(2.0), 0.9)
    torch.manual_seed(0)
    a.refresh_batchnorm(16, step=5)
    torch.manual_seed(1)  # training's RNG state does not matter, and is not consumed
    state = torch.get_rng_state()
    b.refresh_batchnorm(16, step=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.model.norm.running_var, b.model.norm.running_var)


def test_a_conditional_generator_gets_labels_of_every_class():
    ema = EMA(Shift(1.0, num_classes=4), 0.9)
    ema.refresh_batchnorm(64, step=0)
    seen = torch.cat(ema.model.labels_seen)
    assert seen.shape == (64 * RECOMPUTE_BATCHES,) and set(seen.tolist()) == {0, 1, 2, 3}


def test_one_refresh_per_update():
    ema = EMA(Shift(1.0), 0.9)
    calls = []
    ema.model.register_forward_hook(lambda *_: calls.append(1))
    ema.refresh_batchnorm(16, step=1000)
    ema.refresh_batchnorm(16, step=1000)  # the step's second checkpoint (step_N + last)
    assert len(calls) == RECOMPUTE_BATCHES
    ema.update(Shift(2.0), step=1001)
    ema.refresh_batchnorm(16, step=1001)
    assert len(calls) == 2 * RECOMPUTE_BATCHES


def test_copy_keeps_g_statistics():
    g = Shift(1.0)
    g.norm.running_var.fill_(9.0)
    ema = EMA(g, 0.9, batchnorm="copy")
    ema.refresh_batchnorm(16, step=0)
    assert torch.equal(ema.model.norm.running_var, g.norm.running_var)
    g.norm.running_var.fill_(4.0)
    ema.update(g, step=1)
    assert torch.equal(ema.model.norm.running_var, g.norm.running_var)


def test_checkpoints_hold_recomputed_statistics(tmp_path, fresh_host):
    trainer = train(tmp_path, "run", "train.steps=4", "train.ema=true")
    tensors, _ = ckpt.read_checkpoint(trainer.run_dir.last_checkpoint)
    g_var, ema_var = tensors["g.blocks.1.running_var"], tensors["ema.blocks.1.running_var"]
    assert not torch.equal(g_var, ema_var)
    assert int(tensors["ema.blocks.1.num_batches_tracked"]) == RECOMPUTE_BATCHES

    copied = train(tmp_path, "copy", "train.steps=4", "train.ema=true", "train.ema_batchnorm=copy")
    tensors, _ = ckpt.read_checkpoint(copied.run_dir.last_checkpoint)
    assert torch.equal(tensors["g.blocks.1.running_var"], tensors["ema.blocks.1.running_var"])


def test_an_unknown_mode_names_the_choices(fresh_host):
    with pytest.raises(UsageError, match="train.ema_batchnorm.*recompute"):
        tiny("train.ema_batchnorm=average")


def test_the_raw_generator_can_be_sampled_with_recomputed_statistics(tmp_path, fresh_host):
    """``load_generator(batchnorm="recompute")`` re-estimates the raw G's statistics exactly as
    the EMA's are: an EMA at decay 0 holds G's weights, so both land on the same numbers."""
    run = train(tmp_path, "run", "train.steps=4", "train.ema=true", "train.ema_decay=0").run_dir
    saved, _ = load_generator(run)
    recomputed, _ = load_generator(run, batchnorm="recompute")
    ema, _ = load_generator(run, ema=True)
    assert not recomputed.training
    assert not torch.equal(recomputed.blocks[1].running_var, saved.blocks[1].running_var)
    assert int(recomputed.blocks[1].num_batches_tracked) == RECOMPUTE_BATCHES
    for mine, theirs in zip(recomputed.buffers(), ema.buffers(), strict=True):
        assert torch.equal(mine, theirs)
