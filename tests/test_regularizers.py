"""The built-in regularizers against hand computations on tiny discriminators, and in training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from ganzoo_losses import WGANGPLoss
from ganzoo_losses import gradient_penalty as loss_gradient_penalty
from ganzoo_regularizers import (
    R1,
    R2,
    BalancedConsistency,
    GradientPenalty,
    LeCam,
    WeightClip,
    hflip,
    random_flip_translate,
    translate,
)
from torch import Tensor, nn

from ganzoo import Discriminator, UsageError
from ganzoo.config import parse_assignments, resolve
from ganzoo.interfaces import Regularizer
from ganzoo.params import default_params
from ganzoo.penalties import gradient_penalty, input_gradient_sq_norm
from ganzoo.plugins import get_host
from ganzoo.testing import check_regularizer
from ganzoo.train import checkpoint as ckpt
from ganzoo.train.rundir import RunDir
from ganzoo.train.state import split_state
from ganzoo.train.trainer import Trainer

from .test_cli import ganzoo

NAMES = ["r1", "r2", "gp", "clip", "lecam", "bcr"]
SHAPE = (1, 2, 3)  # (C, H, W) of the hand-computed examples


class LinearD(Discriminator):
    """``D(x) = sum(w * x) + b``: ``grad_x D = w`` for every sample."""

    def __init__(self, w: Tensor, b: float = 0.0) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())  # (C, H, W)
        self.b = nn.Parameter(torch.tensor(b))

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = (x * self.w).flatten(1)  # (B, C*H*W)
        return h.sum(1) + self.b, h


class QuadraticD(Discriminator):
    """``D(x) = sum(w * x^2)``: ``grad_x D = 2 w x``, a different gradient per sample."""

    def __init__(self, w: Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = (self.w * x**2).flatten(1)
        return h.sum(1), h


class TinyCritic(Discriminator):
    """A non-linear critic on flattened ``SHAPE`` images (no BatchNorm: samples independent)."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.features = nn.Linear(6, 4)
        self.head = nn.Linear(4, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.features(x.flatten(1)))  # (B, 4)
        return self.head(h).flatten(), h


def batch(seed: int, n: int = 5) -> Tensor:
    return torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def weights() -> Tensor:
    return torch.arange(6, dtype=torch.float32).view(SHAPE) - 2.5  # -2.5 ... 2.5


# ---- registration and the shared contract ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_is_registered_with_defaults(name):
    entry = get_host().regularizers.get(name)
    assert entry.plugin == "regularizers" and entry.description
    reg = entry.factory()
    assert isinstance(reg, Regularizer) and reg.target == "D" and reg.interval == 1
    assert entry.factory.__doc__ and "et al." in entry.factory.__doc__  # cites its paper


@pytest.mark.parametrize("name", NAMES)
def test_penalty_is_a_scalar_that_trains_d_or_none(name):
    reg = get_host().regularizers.get(name).factory()
    critic = TinyCritic()
    value = reg.penalty(critic, batch(1), batch(2))
    if name == "clip":
        assert value is None
        return
    assert isinstance(value, Tensor) and value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert critic.features.weight.grad is not None and critic.features.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_passes_the_plugin_author_checks(name):
    check_regularizer(get_host().regularizers.get(name).factory)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: R1(gamma=-1), "r1 gamma must be >= 0, got -1"),
        (lambda: R1(gamma=float("nan")), "r1 gamma must be >= 0, got nan"),
        (lambda: R1(interval=0), "r1 interval must be an integer >= 1, got 0"),
        (lambda: R2(gamma=-0.5), "r2 gamma must be >= 0, got -0.5"),
        (lambda: GradientPenalty(lambda_gp=-1), "gp lambda_gp must be >= 0, got -1"),
        (lambda: GradientPenalty(center=-1), "gp center must be >= 0, got -1"),
        (lambda: GradientPenalty(interval=-2), "gp interval must be an integer >= 1, got -2"),
        (lambda: WeightClip(clip_value=0), "clip clip_value must be > 0, got 0"),
        (lambda: LeCam(weight=-1), "lecam weight must be >= 0, got -1"),
        (lambda: LeCam(decay=1.0), "lecam decay must be in [0, 1), got 1"),
        (lambda: LeCam(ema_start=-1), "lecam ema_start must be >= 0, got -1"),
        (lambda: BalancedConsistency(lambda_real=-1), "bcr lambda_real must be >= 0, got -1"),
        (lambda: BalancedConsistency(translation=0.5), "bcr translation must be in [0, 0.5)"),
        (lambda: BalancedConsistency(lambda_real=0, lambda_fake=0), "are both 0"),
        (lambda: BalancedConsistency(translation=0, flip=False), "has no transform"),
    ],
)
def test_bad_parameters_are_usage_errors(make, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        make()


# ---- r1, r2 ------------------------------------------------------------------------------------


def test_r1_of_a_linear_d_is_half_gamma_times_the_weight_norm_squared():
    w = weights()
    d = LinearD(w, b=0.3)
    value = R1(gamma=3.0).penalty(d, batch(1), batch(2))
    expected = 3.0 / 2 * (w**2).sum()  # grad_x D = w for every sample
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    value.backward()  # d/dw (gamma/2 ||w||^2) = gamma * w: the penalty trains D
    torch.testing.assert_close(d.w.grad, 3.0 * w)
    assert d.b.grad is None or d.b.grad.item() == 0


@pytest.mark.parametrize(("reg", "which"), [(R1(gamma=2.0), "real"), (R2(gamma=2.0), "fake")])
def test_r1_and_r2_of_a_quadratic_d_match_per_sample_autograd(reg, which):
    w = weights()
    d = QuadraticD(w)
    real, fake = batch(1), batch(2)
    images = real if which == "real" else fake
    by_hand = ((2 * w * images) ** 2).flatten(1).sum(1)  # ||2 w x_i||^2, (B,)
    per_sample = []
    for x in images:  # one sample at a time, no batching tricks
        x = x.unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(d(x).sum(), x)
        per_sample.append(grad.square().sum())
    torch.testing.assert_close(torch.stack(per_sample), by_hand)
    torch.testing.assert_close(input_gradient_sq_norm(d, images), by_hand)
    value = reg.penalty(d, real, fake)
    assert value.item() == pytest.approx((2.0 / 2 * by_hand.mean()).item(), rel=1e-6)


def test_r1_does_not_multiply_by_its_interval():
    # the step runner scales lazy terms by N; the regularizer must not do it as well
    d, real, fake = TinyCritic(), batch(1), batch(2)
    lazy = R1(gamma=1.0, interval=16)
    assert lazy.interval == 16
    assert lazy.penalty(d, real, fake).item() == pytest.approx(
        R1(gamma=1.0).penalty(d, real, fake).item()
    )


def test_penalties_leave_the_inputs_alone():
    real, fake = batch(1).requires_grad_(True), batch(2)
    R1().penalty(TinyCritic(), real, fake).backward()
    assert real.grad is None  # the input is detached: the penalty only trains D


# ---- gp ------------------------------------------------------------------------------------


def test_gp_equals_the_wgan_gp_loss_penalty_with_the_same_rng():
    critic, real, fake = TinyCritic(), batch(1), batch(2)
    torch.manual_seed(7)
    with_loss = WGANGPLoss(lambda_gp=10.0).discriminator_loss(critic, real, fake)
    torch.manual_seed(7)
    plain = WGANGPLoss(lambda_gp=0).discriminator_loss(critic, real, fake)
    with_reg = plain + GradientPenalty(lambda_gp=10.0).penalty(critic, real, fake)
    assert torch.equal(with_loss, with_reg)
    assert loss_gradient_penalty is gradient_penalty  # one implementation, re-exported


@pytest.mark.parametrize("center", [1.0, 0.0, 0.5])
def test_gp_matches_per_sample_autograd(center):
    critic, real, fake = TinyCritic(), batch(1), batch(2)
    torch.manual_seed(3)
    value = GradientPenalty(lambda_gp=2.0, center=center).penalty(critic, real, fake)
    torch.manual_seed(3)
    eps = torch.rand(5, 1, 1, 1)  # the first draw, one per sample
    expected = 0.0
    for i in range(5):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        expected += 2.0 * (grad.norm().item() - center) ** 2 / 5
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert torch.isfinite(critic.features.weight.grad).all()


# ---- clip ----------------------------------------------------------------------------------


def test_clip_clamps_parameters_and_leaves_buffers_alone():
    d = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        for p in d.parameters():
            p.copy_(torch.linspace(-1, 1, p.numel()).view(p.shape))
        d[1].running_mean.fill_(5.0)
        d[1].running_var.fill_(7.0)
    inside = d[3].weight.detach().clone()  # linspace(-1, 1, 2): clamped to +-0.01
    buffers = {k: v.clone() for k, v in d.named_buffers()}
    reg = WeightClip(clip_value=0.01)
    assert reg.penalty(d, batch(1), batch(2)) is None
    reg.after_step(d)
    for p in d.parameters():
        assert p.abs().max() <= 0.01
    torch.testing.assert_close(d[3].weight, inside.clamp(-0.01, 0.01))
    for k, v in d.named_buffers():
        assert torch.equal(v, buffers[k]), k
    small = nn.Linear(2, 1)
    with torch.no_grad():
        small.weight.fill_(0.005)
    WeightClip(clip_value=0.01).after_step(small)
    assert torch.equal(small.weight, torch.full((1, 2), 0.005))  # inside [-c, c]: untouched


# ---- lecam ---------------------------------------------------------------------------------


class ScaleD(Discriminator):
    """``D(x) = s * x[:, 0, 0, 0]``: logits are the first pixel, scaled by a weight ``s``."""

    def __init__(self, s: float = 1.0) -> None:
        super().__init__()
        self.s = nn.Parameter(torch.tensor(s))

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.s * x[:, 0, 0, 0]
        return logits, logits[:, None]


def logits_batch(*values: float) -> Tensor:
    x = torch.zeros(len(values), *SHAPE)
    x[:, 0, 0, 0] = torch.tensor(values)
    return x


LECAM_CALLS = [  # (real logits, fake logits) of three D updates
    ((1.0, 3.0), (-1.0, 0.0)),
    ((0.0, 0.0), (2.0, 4.0)),
    ((2.0, 1.0), (-2.0, 0.5)),
]


def test_lecam_moving_averages_and_value_by_hand():
    reg = LeCam(weight=0.5, decay=0.9)
    d = ScaleD()
    ema_r = ema_f = None
    for real, fake in LECAM_CALLS:
        value = reg.penalty(d, logits_batch(*real), logits_batch(*fake))
        mean_r, mean_f = sum(real) / 2, sum(fake) / 2
        # the first batch sets the averages; then alpha <- 0.9 alpha + 0.1 mean
        ema_r = mean_r if ema_r is None else 0.9 * ema_r + 0.1 * mean_r
        ema_f = mean_f if ema_f is None else 0.9 * ema_f + 0.1 * mean_f
        assert reg.log_values() == pytest.approx({"lecam_ema_real": ema_r, "lecam_ema_fake": ema_f})
        # updated first, then used (official code): relu(D(x) - a_F)^2 + relu(a_R - D(G(z)))^2
        expected = 0.5 * (
            sum(max(r - ema_f, 0) ** 2 for r in real) / 2
            + sum(max(ema_r - f, 0) ** 2 for f in fake) / 2
        )
        assert value.item() == pytest.approx(expected, rel=1e-6)
    assert (ema_r, ema_f) == pytest.approx((1.77, -0.21))  # the hand values above, spelt out
    value.backward()
    assert d.s.grad is not None and d.s.grad.item() != 0


def test_lecam_warm_up_follows_the_batch_and_adds_nothing():
    reg, d = LeCam(weight=1.0, decay=0.9, ema_start=2), ScaleD()
    for step, (real, fake) in enumerate(LECAM_CALLS):
        reg.begin_step(step)
        value = reg.penalty(d, logits_batch(*real), logits_batch(*fake))
        if step < 2:  # decay 0: the averages are the batch means, and the term is off
            assert value.item() == 0
            assert reg.log_values()["lecam_ema_real"] == pytest.approx(sum(real) / 2)
        else:
            assert reg.log_values()["lecam_ema_real"] == pytest.approx(0.9 * 0 + 0.1 * 1.5)
            assert value.item() > 0


def test_lecam_state_dict_round_trip_gives_the_same_next_value():
    first, d = LeCam(decay=0.9), ScaleD()
    for real, fake in LECAM_CALLS[:2]:
        first.penalty(d, logits_batch(*real), logits_batch(*fake))
    tensors, meta = split_state(first.state_dict())  # how a checkpoint stores it
    assert set(tensors) == {"ema_real", "ema_fake"} and json.loads(json.dumps(meta)) == meta
    second = LeCam(decay=0.9)
    second.load_state_dict({**json.loads(json.dumps(meta)), **tensors})
    assert second.log_values() == first.log_values()
    real, fake = LECAM_CALLS[2]
    a = first.penalty(d, logits_batch(*real), logits_batch(*fake))
    b = second.penalty(d, logits_batch(*real), logits_batch(*fake))
    assert torch.equal(a, b) and second.log_values() == first.log_values()
    assert LeCam().log_values() == {}  # nothing seen yet: nothing to log


def test_lecam_reuses_the_logits_of_the_loss():
    calls = []

    class Counting(ScaleD):
        def forward_features(self, x):
            calls.append(x)
            return super().forward_features(x)

    real, fake = logits_batch(1.0, 2.0), logits_batch(0.0, 1.0)
    LeCam().penalty(Counting(), real, fake)
    assert [c is real or c is fake for c in calls] == [True, True]  # D(real), D(fake) only


# ---- bcr -----------------------------------------------------------------------------------


def test_translate_and_flip_by_hand():
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    right = translate(x, torch.tensor([1]), torch.tensor([0]))
    assert right[0, 0].tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    up_left = translate(x, torch.tensor([-1]), torch.tensor([-2]))
    assert up_left[0, 0].tolist() == [[8, 9, 0], [0, 0, 0], [0, 0, 0]]
    two = torch.cat([x, x + 10])
    moved = translate(two, torch.tensor([0, 0]), torch.tensor([1, 0]))  # per-sample shifts
    assert moved[0, 0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert torch.equal(moved[1], two[1])
    flipped = hflip(two, torch.tensor([True, False]))
    assert flipped[0, 0].tolist() == [[3, 2, 1], [6, 5, 4], [9, 8, 7]]
    assert torch.equal(flipped[1], two[1])


def test_the_random_transform_keeps_shape_stays_in_range_and_passes_gradients():
    torch.manual_seed(0)
    x = torch.randn(16, 3, 8, 8, requires_grad=True)
    out = random_flip_translate(x, translation=0.25)  # shifts of up to 2 pixels
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # translation 0: each image is itself or its mirror image
    same = random_flip_translate(x.detach(), translation=0.0)
    for a, b in zip(same, x.detach(), strict=True):
        assert torch.equal(a, b) or torch.equal(a, b.flip(2))
    # large shifts only ever move content: every output pixel is an input pixel of that image, or 0
    shifted = random_flip_translate(x.detach(), translation=0.25, p_flip=0.0)
    for a, b in zip(shifted, x.detach(), strict=True):
        assert torch.isin(a[a != 0], b).all()


def test_bcr_value_by_hand_with_a_fixed_transform():
    # D antisymmetric left-right, so D(mirror(x)) = -D(x): each term is (2 D(x))^2
    w = torch.tensor([[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0]]])  # (C, H, W) = SHAPE
    d = LinearD(w)
    reg = BalancedConsistency(lambda_real=3.0, lambda_fake=0.5)
    reg.transform = lambda images: images.flip(3)  # type: ignore[method-assign]
    real, fake = batch(1), batch(2)
    d_real, d_fake = d(real).detach(), d(fake).detach()
    expected = 3.0 * (2 * d_real).square().mean() + 0.5 * (2 * d_fake).square().mean()
    value = reg.penalty(d, real, fake)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    value.backward()
    assert d.w.grad.abs().sum() > 0
    # a transform D cannot see gives zero
    reg.transform = lambda images: images  # type: ignore[method-assign]
    assert reg.penalty(d, real, fake).item() == 0


def test_bcr_skips_a_term_with_zero_weight():
    calls = []

    class Counting(LinearD):
        def forward_features(self, x):
            calls.append(x)
            return super().forward_features(x)

    real, fake = batch(1), batch(2)
    BalancedConsistency(lambda_fake=0).penalty(Counting(weights()), real, fake)
    assert len(calls) == 2 and calls[0] is real  # D(real), D(T(real)); fake untouched


# ---- in training ---------------------------------------------------------------------------


TINY = [
    "data.name=fake",
    "data.params.length=32",
    "data.image_size=16",
    "data.channels=1",
    "model.params.ngf=4",
    "model.params.ndf=4",
    "model.params.latent_dim=8",
    "train.batch_size=4",
    "log.every=1",
    "log.sample_every=100",
    "log.checkpoint_every=100",
]


def train_with(tmp_path, reg: dict, *extra: str, loss: str = "bce") -> tuple[Trainer, list[dict]]:
    run = RunDir(tmp_path / "run")
    config = resolve(
        {"reg": reg},
        parse_assignments([*TINY, f"loss.name={loss}", "train.steps=2", *extra, f"out={run.root}"]),
    )
    trainer = Trainer(config, run)
    trainer.fit()
    return trainer, run.read_metrics()


@pytest.mark.parametrize(
    ("reg", "extra"),
    [
        ({"r1": {"gamma": 1.0}}, ()),
        ({"r1": {"interval": 2}}, ()),  # lazy: a Dreg phase at step 0
        ({"r2": {}}, ()),
        ({"gp": {}}, ()),
        ({"clip": {}}, ("optim.name=RMSprop", "optim.lr=5e-5")),
        ({"lecam": {}}, ()),
        ({"bcr": {}}, ()),
    ],
    ids=["r1", "r1-lazy", "r2", "gp", "clip", "lecam", "bcr"],
)
def test_training_with_each_regularizer(tmp_path, reg, extra):
    [name] = reg
    trainer, rows = train_with(tmp_path, reg, *extra)
    assert [r["step"] for r in rows] == [1, 2]
    if name == "clip":
        assert not any(k.startswith("reg_") for k in rows[0])
        d = trainer.components.discriminator
        assert all(p.abs().max() <= 0.01 for p in d.parameters())
        assert any(b.abs().max() > 0.01 for b in d.buffers())  # BatchNorm's running_var: untouched
        return
    if reg == {"r1": {"interval": 2}}:
        assert "reg_r1" in rows[0] and "reg_r1" not in rows[1]  # computed at steps 0, 2, ...
    else:
        assert all(f"reg_{name}" in r and r[f"reg_{name}"] >= 0 for r in rows)
    if name == "lecam":
        assert {"lecam_ema_real", "lecam_ema_fake"} <= set(rows[-1])
        tensors, meta = ckpt.read_checkpoint(trainer.run_dir.last_checkpoint)
        assert float(tensors["comp.reg.lecam.ema_real"]) == pytest.approx(
            rows[-1]["lecam_ema_real"]
        )
        assert meta["components"]["reg.lecam"]["updates"] == 2


def test_gp_regularizer_trains_like_the_wgan_gp_loss(tmp_path):
    _, with_loss = train_with(tmp_path / "a", {}, loss="wgan-gp")
    _, with_reg = train_with(tmp_path / "b", {"gp": {}}, "loss.params.lambda_gp=0", loss="wgan-gp")
    for a, b in zip(with_loss, with_reg, strict=True):
        assert a["d_loss"] == pytest.approx(b["d_loss"] + b["reg_gp"], rel=1e-5)
        assert a["g_loss"] == pytest.approx(b["g_loss"], rel=1e-5)


def test_bad_regularizer_parameters_stop_a_run_before_training(tmp_path):
    with pytest.raises(UsageError, match="r1 gamma must be >= 0, got -1"):
        train_with(tmp_path, {"r1": {"gamma": -1}})


# ---- the page ------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "regularizers.md"


def section(name: str) -> str:
    """The text of docs/regularizers.md under ``## `NAME`...`` up to the next ``## ``."""
    text = DOCS.read_text()
    start = text.index(f"## `{name}`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def toml_literal(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


@pytest.mark.parametrize("name", NAMES)
def test_the_page_lists_every_parameter_with_its_default(name):
    factory = get_host().regularizers.get(name).factory
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section(name), re.M)
    assert rows == [(k, toml_literal(v)) for k, v in default_params(factory).items()]


def test_the_pages_error_example_is_ganzoos(capsys, tmp_path):
    [(command, message)] = re.findall(r"\$ (ganzoo run .*)\n(error: .*)\n", DOCS.read_text())
    args = [*command.split()[1:], "--dataset", "fake", "--out", str(tmp_path / "run")]
    code, _, err = ganzoo(capsys, *args)
    assert code == 2 and err.strip() == message
