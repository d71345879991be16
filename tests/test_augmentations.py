"""The built-in augmentations: DiffAugment's ops by hand, ADA's pipeline and its p heuristic,
the contract every D input relies on (shape, dtype, memory format, gradients), and training."""

from __future__ import annotations

import json

import pytest
import torch
from ganzoo_augment import ADA, DiffAugment, ops, pipeline
from ganzoo_augment.diffaugment import random_color, random_cutout, random_translation

from ganzoo import UsageError
from ganzoo.config import parse_assignments, resolve
from ganzoo.plugins import get_host
from ganzoo.train.rundir import RunDir
from ganzoo.train.trainer import Trainer

from .test_training import TINY as TRAINING_TINY

TINY = [*TRAINING_TINY, "data.params.length=64"]  # the trainer tests' tiny run, less data

AUGMENTATIONS = {
    "diffaugment": DiffAugment,
    "ada": lambda: ADA(fixed_p=1.0),  # every transform on every sample
}


def images(b: int = 4, c: int = 3, size: int = 16, *, seed: int = 0) -> torch.Tensor:
    """A batch in [-1, 1]."""
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """One image ``(C, H, W)`` moved dy down and dx right, zeros entering: by slicing."""
    out = torch.zeros_like(x)
    h, w = x.shape[1:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


# ---- registration and parameters -------------------------------------------------------------


def test_both_are_registered(fresh_host):
    host = get_host()
    assert host.augmentations.get("diffaugment").factory is DiffAugment
    assert host.augmentations.get("ada").factory is ADA


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (
            DiffAugment,
            {"translation_ratio": 0.7},
            "aug.params.translation_ratio must be in [0, 0.5]",
        ),
        (DiffAugment, {"cutout_ratio": -0.1}, "aug.params.cutout_ratio must be in [0, 1]"),
        (ADA, {"target": 1.5}, "aug.params.target must be in [0, 1]"),
        (ADA, {"interval": 0}, "aug.params.interval must be >= 1"),
        (ADA, {"speed_kimg": 0.0}, "aug.params.speed_kimg must be > 0"),
        (ADA, {"p_init": 2.0}, "aug.params.p_init must be in [0, 1]"),
        (ADA, {"fixed_p": 1.5}, "aug.params.fixed_p must be in [0, 1]"),
    ],
)
def test_out_of_range_parameters_are_one_line_usage_errors(factory, kwargs, message):
    with pytest.raises(UsageError) as info:
        factory(**kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


# ---- the contract: shape, dtype, memory format, gradients ---------------------------------------


@pytest.mark.parametrize("name", AUGMENTATIONS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [16, 28])
@pytest.mark.parametrize("channels_last", [False, True])
def test_shape_dtype_and_memory_format_are_kept(name, channels, size, channels_last):
    x = images(4, channels, size)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x_in = x.contiguous(memory_format=fmt)
    torch.manual_seed(1)
    out = AUGMENTATIONS[name]().augment(x_in)
    assert out.shape == x.shape and out.dtype == x.dtype and out.is_contiguous(memory_format=fmt)
    assert torch.isfinite(out).all()
    torch.manual_seed(1)  # the layout changes nothing but the order of the means' sums
    assert torch.allclose(out, AUGMENTATIONS[name]().augment(x), atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_geometric_ops_keep_the_range(channels):
    # color ops move values out of [-1, 1] on purpose (the papers do not clamp); the rest do not
    x = images(16, channels)
    torch.manual_seed(2)
    for out in (
        DiffAugment(color=False).augment(x),
        pipeline.geometry(x, 1.0),
        pipeline.cutout(x, 1.0),
    ):
        assert out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("name", AUGMENTATIONS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_runs_under_bf16_autocast(name, dtype):
    x = images(4, 3).to(dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = AUGMENTATIONS[name]().augment(x)
    assert out.dtype == dtype and out.shape == x.shape and torch.isfinite(out.float()).all()


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_gradients_reach_the_images_twice_over(name):
    # twice: R1 and gradient penalties differentiate D's input gradient through the augmentation
    x = images(4, 3).requires_grad_(True)
    out = AUGMENTATIONS[name]().augment(x)
    (grad,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    assert grad.abs().sum() > 0
    grad.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# ---- DiffAugment's ops by hand -------------------------------------------------------------------


def test_all_ops_off_is_the_identity():
    x = images()
    off = DiffAugment(color=False, translation=False, cutout=False)
    assert torch.equal(off.augment(x), x)


def test_translate_moves_each_sample_by_its_shift():
    x = images(3, 2)
    dy, dx = torch.tensor([2, -1, 0]), torch.tensor([-2, 0, 3])
    out = ops.translate(x, dy, dx)
    for b in range(3):
        assert torch.equal(out[b], shifted(x[b], int(dy[b]), int(dx[b])))


def test_reflected_translation_mirrors_the_border():
    x = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 2, 5)  # columns 0..4
    out = ops.translate(x, torch.tensor([0]), torch.tensor([2]), padding="reflect")
    assert out[0, 0, 0].tolist() == [2.0, 1.0, 0.0, 1.0, 2.0]


def test_random_translation_draws_integer_shifts_up_to_an_eighth():
    x = images(8, 3)
    torch.manual_seed(3)
    dy, dx = torch.randint(-2, 3, (8,)), torch.randint(-2, 3, (8,))  # 16 / 8 = 2 pixels
    torch.manual_seed(3)
    out = random_translation(x, 0.125)
    for b in range(8):
        assert torch.equal(out[b], shifted(x[b], int(dy[b]), int(dx[b])))


def test_cutout_zeroes_exactly_the_square():
    x = torch.ones(2, 3, 16, 16)
    # an 8x8 square centred in the image: a quarter of the pixels; one clipped at a corner
    out = ops.cutout(
        x, torch.tensor([8.0, 0.0]), torch.tensor([8.0, 0.0]), *[torch.full((2,), 8.0)] * 2
    )
    assert (out[0] == 0).float().mean() == 0.25
    assert torch.equal(out[0, :, 4:12, 4:12], torch.zeros(3, 8, 8))
    assert (out[1] == 0).float().mean() == 1 / 16
    assert torch.equal(out[1, :, :4, :4], torch.zeros(3, 4, 4))


def test_random_cutout_cuts_at_most_half_the_side_per_sample():
    torch.manual_seed(4)
    out = random_cutout(torch.ones(64, 1, 16, 16), 0.5)
    cut = (out == 0).float().mean(dim=(1, 2, 3))  # (B,)
    assert (cut <= 0.25).all() and (cut > 0).all() and (cut == 0.25).any()
    for b in range(64):  # the zeros form one rectangle
        rows, cols = (out[b, 0] == 0).nonzero().unbind(1)
        box = out[b, 0, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all()


def test_brightness_adds_a_constant_per_sample():
    x, shift = images(3), torch.tensor([0.5, -0.25, 0.0])
    diff = ops.brightness(x, shift) - x
    assert torch.allclose(diff, shift.view(3, 1, 1, 1).expand_as(x))


def test_contrast_keeps_each_images_mean_and_scales_its_deviation():
    x, factor = images(3), torch.tensor([0.5, 1.5, 1.0])
    out = ops.contrast(x, factor)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(out.mean(dim=(1, 2, 3), keepdim=True), mean, atol=1e-6)
    assert torch.allclose(out - mean, (x - mean) * factor.view(3, 1, 1, 1), atol=1e-6)


def test_saturation_keeps_the_grey_axis_and_leaves_grey_images_alone():
    x, factor = images(3), torch.tensor([0.0, 2.0, 1.0])
    out = ops.saturation(x, factor)
    assert torch.allclose(out.mean(dim=1), x.mean(dim=1), atol=1e-6)
    assert torch.allclose(out[0], x[0].mean(dim=0, keepdim=True).expand(3, 16, 16))  # fully grey
    grey = images(3, 1)
    assert torch.equal(ops.saturation(grey, factor), grey)


def test_random_color_by_hand():
    x = images(4, 3)
    torch.manual_seed(5)
    b, s, c = torch.rand(4) - 0.5, torch.rand(4) * 2, torch.rand(4) + 0.5
    torch.manual_seed(5)
    out = random_color(x)
    y = x + b.view(4, 1, 1, 1)
    pixel_mean = y.mean(dim=1, keepdim=True)
    y = (y - pixel_mean) * s.view(4, 1, 1, 1) + pixel_mean
    image_mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = (y - image_mean) * c.view(4, 1, 1, 1) + image_mean
    assert torch.allclose(out, y, atol=1e-6)
    assert (b.abs() <= 0.5).all() and (s >= 0).all() and (s <= 2).all()


# ---- ADA's pipeline --------------------------------------------------------------------------


def test_ada_transform_is_flip_rot90_and_reflected_shift():
    x = images(2, 3, 8)
    no, yes = torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    zero, one = torch.zeros(2), torch.ones(2)
    assert torch.equal(pipeline.transform(x, no, zero, zero, zero, one), x)
    assert torch.equal(pipeline.transform(x, yes, zero, zero, zero, one), x.flip(3))
    for k in range(4):
        out = pipeline.transform(x, no, zero + k, zero, zero, one)
        assert torch.equal(out, torch.rot90(x, k, (2, 3)))
    shift = pipeline.transform(x, no, zero, one, -2 * one, one)
    assert torch.equal(shift, ops.translate(x, one, -2 * one, padding="reflect"))


def test_ada_scaling_zooms_about_the_centre():
    x = torch.arange(25.0).view(1, 1, 5, 5)
    no, zero = torch.zeros(1, dtype=torch.bool), torch.zeros(1)
    out = pipeline.transform(x, no, zero, zero, zero, torch.tensor([2.0]))
    assert out[0, 0, 2, 2] == 12 and out[0, 0, 2, 3] == 12.5 and out[0, 0, 3, 2] == 14.5


@pytest.mark.parametrize("channels", [1, 3])
def test_ada_with_p_zero_is_the_identity(channels):
    x = images(8, channels)
    assert ADA().augment(x) is x  # p_init = 0
    assert torch.equal(pipeline.augment(x, 0.0), x)  # every draw rejected: bit for bit


@pytest.mark.parametrize("channels", [1, 3])
def test_ada_with_p_one_changes_every_sample(channels):
    x = images(16, channels)
    torch.manual_seed(6)
    out = ADA(fixed_p=1.0).augment(x)
    assert all(not torch.equal(out[b], x[b]) for b in range(16))


# ---- ADA's heuristic -------------------------------------------------------------------------


def test_p_rises_by_batch_times_interval_over_speed():
    ada = ADA(interval=4, speed_kimg=100.0)
    for _ in range(3):
        ada.observe(torch.ones(8))
        assert ada.p == 0.0  # adjusted only every `interval` observations
    ada.observe(torch.ones(8))
    assert ada.p == 8 * 4 / (100.0 * 1000)
    assert ada.log_values() == {"ada_p": ada.p, "ada_rt": 1.0}


def test_p_falls_and_stays_clamped_at_zero():
    ada = ADA(interval=2, speed_kimg=0.016, p_init=0.5)  # one adjustment: 8 * 2 / 16 = 1
    for _ in range(2):
        ada.observe(-torch.ones(8))
    assert ada.p == 0.0 and ada.rt == -1.0
    for _ in range(4):
        ada.observe(-torch.ones(8))
    assert ada.p == 0.0


def test_p_is_clamped_at_one_and_fixed_p_never_moves():
    ada = ADA(interval=1, speed_kimg=0.004)  # 8 / 4 = 2 per adjustment
    ada.observe(torch.ones(8))
    assert ada.p == 1.0
    fixed = ADA(interval=1, fixed_p=0.3)
    for sign in (1, -1):
        fixed.observe(sign * torch.ones(8))
        assert fixed.p == 0.3 and fixed.rt == sign  # r_t is still measured and logged


def test_r_t_is_the_mean_sign_and_target_is_the_threshold():
    ada = ADA(interval=1, target=0.6, speed_kimg=1.0)
    ada.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]))  # r_t = 0.5 < 0.6: p stays at 0
    assert ada.rt == 0.5 and ada.p == 0.0
    ada.observe(torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0]))  # r_t = 0.6: no move
    assert ada.rt == pytest.approx(0.6) and ada.p == 0.0
    ada.observe(torch.tensor([2.0, 3.0, 0.5, 1.0]))  # r_t = 1 > 0.6: up by 4 / 1000
    assert ada.p == 0.004


def test_state_round_trip_reproduces_the_future_p_sequence():
    logits = torch.randn(23, 8, generator=torch.Generator().manual_seed(7)) + 0.8
    first = ADA(interval=3, speed_kimg=0.1)
    for row in logits[:10]:  # stop mid-interval: the accumulators matter
        first.observe(row)
    state = json.loads(json.dumps(first.state_dict()))  # checkpoint meta is JSON
    second = ADA(interval=3, speed_kimg=0.1)
    second.load_state_dict(state)
    seq_first, seq_second = [], []
    for row in logits[10:]:
        first.observe(row)
        second.observe(row)
        seq_first.append(first.p)
        seq_second.append(second.p)
    assert seq_first == seq_second and len(set(seq_first)) > 1


# ---- training ----------------------------------------------------------------------------------


def train(tmp_path, name: str, *extra: str, resume: bool = False) -> Trainer:
    config = resolve(parse_assignments([*TINY, "loss.name=bce", *extra, f"out={tmp_path / name}"]))
    trainer = Trainer(config, RunDir(tmp_path / name), resume=resume)
    trainer.fit()
    return trainer


def test_training_with_diffaugment_augments_every_d_input(tmp_path, fresh_host, monkeypatch):
    calls: list[int] = []
    augment = DiffAugment.augment
    monkeypatch.setattr(DiffAugment, "augment", lambda self, x: calls.append(1) or augment(self, x))
    trainer = train(tmp_path, "r", "train.steps=4", "aug.name=diffaugment")
    rows = trainer.run_dir.read_metrics()
    assert [r["step"] for r in rows] == [2, 4] and "ada_p" not in rows[0]
    assert len(calls) == 3 * 4  # D(real), D(fake) in D's step, D(fake) in G's step


def test_training_feeds_ada_the_real_logits_of_every_d_update(tmp_path, fresh_host, monkeypatch):
    seen: list[torch.Size] = []
    monkeypatch.setattr(ADA, "observe", lambda self, logits: seen.append(logits.shape))
    train(tmp_path, "r", "train.steps=2", "train.d_steps=2", "aug.name=ada")
    assert seen == [torch.Size([8])] * 4, "Augmentation.observe must follow every D update"


def test_training_with_ada_logs_p_and_resumes_exactly(tmp_path, fresh_host):
    # p_init 0.5: the pipeline runs from the start; p moves by 8 * 3 / 100 every 3 D updates
    ada = ["aug.name=ada", "aug.params.speed_kimg=0.1", "aug.params.interval=3"]
    ada.append("aug.params.p_init=0.5")
    straight = train(tmp_path, "straight", "train.steps=8", *ada)
    rows = straight.run_dir.read_metrics()
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert all(0 <= r["ada_p"] <= 1 and -1 <= r["ada_rt"] <= 1 for r in rows)
    # resuming at step 4 (mid-interval) continues bit for bit: p, accumulators and the RNG
    train(tmp_path, "split", "train.steps=4", *ada)
    resumed = train(tmp_path, "split", "train.steps=8", *ada, resume=True)
    last = resumed.run_dir.read_metrics()[-1]
    assert (last["ada_p"], last["ada_rt"]) == (rows[-1]["ada_p"], rows[-1]["ada_rt"])
    for (key, x), y in zip(
        straight.d.state_dict().items(), resumed.d.state_dict().values(), strict=True
    ):
        assert torch.equal(x, y), key
