"""Contracts every registered architecture, loss, regularizer and augmentation must honour (as
timm tests every model); the steps here are the real step runner's, not a copy of it."""

from __future__ import annotations

import contextlib

import pytest
import torch

from ganzoo import ImageSpec, UsageError
from ganzoo.params import check_params, default_params, instantiate
from ganzoo.plugins import get_host
from ganzoo.testing import check_augmentation, check_regularizer
from ganzoo.train.step import StepParts, StepRunner, declared

HOST = get_host()
ARCHITECTURES = [e.qualified_name for e in HOST.architectures.entries()]
LOSSES = [e.qualified_name for e in HOST.losses.entries()]
REGULARIZERS = [e.qualified_name for e in HOST.regularizers.entries()]
AUGMENTATIONS = [e.qualified_name for e in HOST.augmentations.entries()]
SIZES = [16, 28, 32, 64, 128]
# small widths keep the whole matrix fast on a 2-core CPU
SMALL = {"latent_dim": 8, "ngf": 4, "ndf": 4}


def small_arch(name: str, **params):
    entry = HOST.architectures.get(name)
    accepted = default_params(entry.factory)
    small = {k: v for k, v in SMALL.items() if k in accepted}
    return instantiate(entry, {**small, **params}, "model")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_architecture_shapes_and_ranges(arch, size, channels):
    try:
        g, d = small_arch(arch).build(ImageSpec(channels, size))
    except UsageError:
        pytest.skip(f"{arch} does not support {channels}x{size}x{size}")
    z = g.sample_latent(4)
    images = g(z)
    assert images.shape == (4, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1 and torch.isfinite(images).all()
    logits, features = d.forward_features(images)
    assert logits.shape == (4,) and features.ndim == 2 and features.shape[0] == 4
    assert torch.isfinite(logits).all()
    d.eval()  # in train mode a forward may update state (BatchNorm, spectral norm's power iteration)
    assert torch.equal(d(images), d.forward_features(images)[0])


def real_step(g, d, loss, regularizers=(), augmentation=None, d_steps=1, labels=None):
    """One generator step of the real step runner (every phase), Adam as in DCGAN."""
    regs = {name: HOST.regularizers.get(name).factory() for name in regularizers}
    parts = StepParts(
        generator=g,
        discriminator=d,
        generator_call=g,
        discriminator_call=d,
        discriminator_eager=None,
        loss=loss,
        regularizers=regs,
        augmentation=augmentation,
        optimizers={
            net: torch.optim.Adam(m.parameters(), 2e-4, betas=(0.5, 0.999))
            for net, m in (("G", g), ("D", d))
        },
        scalers={net: torch.amp.GradScaler("cpu", enabled=False) for net in ("G", "D")},
        schedulers={},
        ema=None,
        entries={"loss": HOST.losses.get("bce")}
        | {f"reg.{n}": HOST.regularizers.get(n) for n in regs},
        autocast=contextlib.nullcontext,
        d_steps=d_steps,
    )
    z, y = g.sample_latent(1), g.sample_labels(1)
    real = torch.rand(8, *(g(z) if y is None else g(z, y)).shape[1:]) * 2 - 1
    return StepRunner(parts).run(0, lambda: (real, labels))


def changed(module, before):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_one_step_of_every_loss_changes_both_networks(arch, loss_name):
    torch.manual_seed(0)
    g, d = small_arch(arch).build(ImageSpec(1, 16))
    before_g = [p.detach().clone() for p in g.parameters()]
    before_d = [p.detach().clone() for p in d.parameters()]
    scalars = real_step(g, d, HOST.losses.get(loss_name).factory())
    for key in ("d_loss", "g_loss"):
        assert scalars[key].ndim == 0 and torch.isfinite(scalars[key])
    assert changed(d, before_d) and changed(g, before_g)


@pytest.mark.parametrize("reg", REGULARIZERS)
def test_every_regularizer_conforms_and_joins_a_real_step(reg):
    factory = HOST.regularizers.get(reg).factory
    # one that asks for labels is checked on labelled batches, D with a classifier head (ACGAN)
    labelled = "labels" in declared(factory.penalty, labels=None)
    classes = 3 if labelled else 0
    head = {"conditional": True, "d_conditioning": "classifier"} if labelled else {}
    check_regularizer(factory, num_classes=classes, model_params=head)
    torch.manual_seed(0)
    g, d = small_arch("dcgan", **head).build(ImageSpec(1, 16, classes))
    before_d = [p.detach().clone() for p in d.parameters()]
    labels = torch.arange(8) % 3 if labelled else None
    scalars = real_step(
        g, d, HOST.losses.get("bce").factory(), regularizers=[reg], d_steps=2, labels=labels
    )
    assert all(torch.isfinite(v) for v in scalars.values())
    assert changed(d, before_d)


@pytest.mark.parametrize("aug", AUGMENTATIONS)
def test_every_augmentation_conforms_and_joins_a_real_step(aug):
    factory = HOST.augmentations.get(aug).factory
    check_augmentation(factory)
    torch.manual_seed(0)
    g, d = small_arch("dcgan").build(ImageSpec(3, 16))
    before_g = [p.detach().clone() for p in g.parameters()]
    scalars = real_step(g, d, HOST.losses.get("bce").factory(), augmentation=factory())
    assert all(torch.isfinite(v) for v in scalars.values()) and changed(g, before_g)


@pytest.mark.parametrize(
    "kind", ["architectures", "losses", "regularizers", "augmentations", "datasets"]
)
def test_every_entry_has_a_description_and_defaults_for_every_parameter(kind):
    for entry in getattr(HOST, kind).entries():
        assert entry.description, entry.qualified_name
        check_params(entry, {}, kind)  # builds with no parameters given


def test_parameters_are_checked_against_the_signature():
    entry = HOST.losses.get("lsgan")
    assert check_params(entry, {"a": -1, "c": 0}, "loss") == {"a": -1.0, "c": 0.0}
    with pytest.raises(UsageError, match=r"unknown parameter of lsgan .*'aa'; did you mean 'a'"):
        check_params(entry, {"aa": 1}, "loss")
    with pytest.raises(UsageError, match="loss.params.a must be a float"):
        check_params(entry, {"a": "zero"}, "loss")
    mmd = check_params(HOST.losses.get("mmd"), {"bandwidths": [1, 2]}, "loss")
    assert mmd == {"bandwidths": (1, 2)}
