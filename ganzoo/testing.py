"""Conformance checks a plugin's own test suite calls, in-process (no subprocess, no CLI).

    from ganzoo.testing import check_loss, train_tiny

    def test_my_loss_conforms():
        check_loss(MyLoss)

    def test_my_loss_trains(tmp_path):
        run = train_tiny(tmp_path, loss="my-loss", plugin=my_plugin_module)

Each check raises ``AssertionError`` naming what the plugin got wrong. They run on tiny CPU
models (DCGAN with 8 filters, 16x16 images) in well under a second each.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .interfaces import (
    Architecture,
    Augmentation,
    DataRequest,
    Dataset,
    Discriminator,
    Generator,
    ImageSpec,
    Loss,
    Regularizer,
    Stateful,
)

TINY_DCGAN = {"ngf": 8, "ndf": 8, "latent_dim": 16}
TINY_RUN = [
    "data.name=fake",
    "data.params.length=64",
    "data.image_size=16",
    "data.channels=1",
    "model.name=dcgan",
    "model.params.ngf=8",
    "model.params.ndf=8",
    "model.params.latent_dim=16",
    "train.batch_size=8",
    "log.every=2",
    "log.sample_every=1000",
    "log.checkpoint_every=1000",
]


def tiny_pair(
    spec: ImageSpec = ImageSpec(1, 16), **model_params: Any
) -> tuple[Generator, Discriminator]:
    """The built-in DCGAN, 8 filters wide, for ``spec``: the networks the checks train."""
    from .plugins import get_host

    factory = get_host().architectures.get("dcgan").factory
    return factory(**{**TINY_DCGAN, **model_params}).build(spec)


def check_architecture(
    factory: type[Architecture],
    *,
    sizes: Iterable[int] = (16, 32),
    channels: Iterable[int] = (1, 3),
    num_classes: int = 0,
    **params: Any,
) -> None:
    """Shapes, ranges and one optimisation step for every (size, channels) pair.

    With ``num_classes > 0`` the spec carries labels: a conditional pair must take exactly that
    many classes, G's output must depend on the labels, and a classifier head (ACGAN) must give
    ``(B, K)`` class logits.
    """
    for size in sizes:
        for c in channels:
            spec = ImageSpec(c, size, num_classes)
            generator, discriminator = factory(**params).build(spec)
            assert isinstance(generator, Generator), "build() must return a ganzoo.Generator first"
            assert isinstance(discriminator, Discriminator), "and a ganzoo.Discriminator second"
            for net in (generator, discriminator):
                assert net.num_classes in (0, num_classes), (
                    f"{type(net).__name__}.num_classes is {net.num_classes} for a spec of "
                    f"{num_classes} classes"
                )
            z = generator.sample_latent(4)
            assert z.shape == (4, generator.latent_dim), f"sample_latent gave {tuple(z.shape)}"
            y = torch.arange(4) % num_classes if num_classes else None
            images = _generate(generator, z, y)
            assert images.shape == (4, c, size, size), (
                f"{spec}: generated {tuple(images.shape)}, expected (4, {c}, {size}, {size})"
            )
            assert images.min() >= -1 and images.max() <= 1, "images must lie in [-1, 1] (tanh)"
            if generator.num_classes > 0:
                other = _generate(generator, z, (y + 1) % num_classes)  # type: ignore[operator]
                assert not torch.allclose(images, other), "G's images do not depend on y"
            view = _Labelled(discriminator, y)
            logits, features = view.forward_features(images)
            assert logits.shape == (4,), f"D's logits must be (B,), got {tuple(logits.shape)}"
            assert features.ndim == 2 and features.shape[0] == 4, "D's features must be (B, F)"
            classes = discriminator.class_logits(features)
            if classes is not None:
                assert classes.shape == (4, num_classes), (
                    f"class_logits must be (B, K) = (4, {num_classes}), got {tuple(classes.shape)}"
                )
            _one_step_changes_both(generator, discriminator, _BCE(), y)


def check_loss(
    factory: type[Loss],
    *,
    num_classes: int = 0,
    model_params: Mapping[str, Any] | None = None,
    **params: Any,
) -> None:
    """Finite scalars; D's loss trains D only, G's loss reaches G; one step changes both nets.

    ``num_classes > 0`` checks it on labelled batches, as training runs it: the tiny DCGAN built
    with ``model_params`` (e.g. ``{"conditional": True}``), the labels bound to D, and passed to
    the loss's methods when they declare a ``labels`` keyword.
    """
    from .train.step import declared

    spec = ImageSpec(1, 16, num_classes)
    generator, discriminator = tiny_pair(spec, **(model_params or {}))
    loss = factory(**params)
    assert isinstance(loss, Loss), f"{factory.__name__} is not a ganzoo.Loss"
    labels = torch.arange(8) % num_classes if num_classes else None  # (8,)
    view = _Labelled(discriminator, labels)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    fake = _generate(generator, generator.sample_latent(8), labels)
    d_kwargs = declared(loss.discriminator_loss, labels=labels)
    d_loss = loss.discriminator_loss(view, real, fake.detach(), **d_kwargs)
    _assert_finite_scalar(d_loss, "discriminator_loss")
    d_loss.backward()
    assert _has_grad(discriminator), "discriminator_loss gives D's weights no gradient"
    assert not _has_grad(generator), "discriminator_loss must not reach G (fake is detached)"
    discriminator.zero_grad()
    g_loss = loss.generator_loss(view, real, fake, **declared(loss.generator_loss, labels=labels))
    _assert_finite_scalar(g_loss, "generator_loss")
    g_loss.backward()
    assert _has_grad(generator), "generator_loss gives G's weights no gradient"
    _check_state(loss)
    y = torch.arange(4) % num_classes if num_classes else None  # (4,)
    _one_step_changes_both(*tiny_pair(spec, **(model_params or {})), loss, y)


def check_regularizer(
    factory: type[Regularizer],
    *,
    num_classes: int = 0,
    model_params: Mapping[str, Any] | None = None,
    **params: Any,
) -> None:
    """A valid target and interval; a finite scalar penalty (or None) that reaches its target.

    ``num_classes > 0`` checks it on labelled batches (it gets ``labels`` if it declares them),
    with the tiny DCGAN built with ``model_params`` (e.g. ``{"conditional": True}``). A
    ``target = "both"`` regularizer is checked for each network.
    """
    from .train.step import declared

    reg = factory(**params)
    assert isinstance(reg, Regularizer), f"{factory.__name__} is not a ganzoo.Regularizer"
    assert reg.target in ("D", "G", "both"), (
        f"target must be 'D', 'G' or 'both', got {reg.target!r}"
    )
    assert isinstance(reg.interval, int) and reg.interval >= 1, "interval must be an int >= 1"
    generator, discriminator = tiny_pair(ImageSpec(1, 16, num_classes), **(model_params or {}))
    labels = torch.arange(8) % num_classes if num_classes else None
    view = _Labelled(discriminator, labels)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    reg.begin_step(0)
    for net in ("D", "G") if reg.target == "both" else (reg.target,):
        generator.zero_grad()
        discriminator.zero_grad()
        fake = _generate(generator, generator.sample_latent(8), labels)
        if net == "D":
            fake = fake.detach()
        value = reg.penalty(view, real, fake, **declared(reg.penalty, labels=labels, net=net))
        if value is not None:
            _assert_finite_scalar(value, "penalty")
            value.backward()
            target = discriminator if net == "D" else generator
            assert _has_grad(target), f"the penalty gives {net}'s weights no gradient"
        reg.after_step(discriminator if net == "D" else generator)
    _check_state(reg)


def check_augmentation(factory: type[Augmentation], **params: Any) -> None:
    """Shapes kept for grey and RGB, differentiable, state that round-trips."""
    aug = factory(**params)
    assert isinstance(aug, Augmentation), f"{factory.__name__} is not a ganzoo.Augmentation"
    aug.begin_step(0)
    for c in (1, 3):
        x = (torch.rand(8, c, 16, 16) * 2 - 1).requires_grad_(True)
        y = aug.augment(x)
        assert y.shape == x.shape, f"augment changed the shape {tuple(x.shape)} -> {tuple(y.shape)}"
        assert torch.isfinite(y).all(), "augment produced NaN or inf"
        y.sum().backward()
        assert x.grad is not None, "augment must be differentiable (gradients reach G through it)"
    aug.observe(torch.randn(8))
    _check_state(aug)


def check_dataset(
    factory: type[Dataset],
    *,
    root: Path | None = None,
    size: int = 16,
    channels: int | None = None,
    count: int = 4,
    **params: Any,
) -> None:
    """``load`` gives float images ``(C, size, size)`` in [-1, 1] (labels, if any, after them)."""
    dataset = factory(**params)
    c = channels or dataset.default_channels
    data = dataset.load(DataRequest(root=root, image_size=size, channels=c, download=False))
    assert len(data) > 0, "the dataset is empty"  # type: ignore[arg-type]
    for i in range(min(count, len(data))):  # type: ignore[arg-type]
        item = data[i]
        image = item[0] if isinstance(item, tuple | list) else item
        assert isinstance(image, Tensor) and image.dtype.is_floating_point, "items: float tensors"
        assert image.shape == (c, size, size), (
            f"item {i}: {tuple(image.shape)} for {(c, size, size)}"
        )
        assert image.min() >= -1 and image.max() <= 1, f"item {i} leaves [-1, 1]"


def train_tiny(
    out: Path,
    *,
    arch: str = "dcgan",
    loss: str = "bce",
    reg: Sequence[str] = (),
    aug: str | None = None,
    steps: int = 4,
    assignments: Sequence[str] = (),
    plugin: object | None = None,
    plugin_name: str = "under-test",
    classes: int = 0,
) -> Path:
    """Train a few steps of a tiny model on fake 16x16 data, in this process; return the run.

    ``plugin`` (a module or object with ``@ganzoo.hookimpl`` functions) is registered for the run
    exactly as an entry point would be, and removed afterwards; a plugin that is installed (so
    already loaded from its entry point) is used as it is. ``classes > 0`` labels the fake data
    with that many classes (for conditional architectures and label-using plugins). The run must
    write its checkpoint and finite losses; the metrics rows are checked.
    """
    from .api import train
    from .plugins import get_host

    host = get_host()
    # an installed plugin is loaded from its entry point already: use it as it is
    register = plugin is not None and not host.pm.is_registered(plugin)
    if register:
        status = host.add_plugin(plugin, plugin_name)
        assert status.status == "ok", f"plugin failed to register: {status.reason}"
    try:
        settings = [*TINY_RUN, f"loss.name={loss}", f"train.steps={steps}"]
        settings.append(f"data.params.classes={classes}")
        settings[settings.index("model.name=dcgan")] = f"model.name={arch}"
        if arch != "dcgan":
            settings = [s for s in settings if not s.startswith("model.params.")]
        layers: dict[str, Any] = {"reg": {name: {} for name in reg}}
        if aug is not None:
            layers["aug"] = {"name": aug}
        run = train(layers, assignments=[*settings, *assignments], out=out)
    finally:
        if register:
            host.remove_plugin(plugin_name)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows and rows[-1]["step"] == steps, "the run did not log its last step"
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value), f"step {row['step']}: {key} = {value}"
    assert (run / "checkpoints" / "last.safetensors").is_file(), "no checkpoint was written"
    return run


# ---- helpers ---------------------------------------------------------------------------------
class _BCE(Loss):
    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        f = nn.functional.binary_cross_entropy_with_logits
        r, g = discriminator(real), discriminator(fake)
        return f(r, torch.ones_like(r)) + f(g, torch.zeros_like(g))

    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        g = discriminator(fake)
        return nn.functional.binary_cross_entropy_with_logits(g, torch.ones_like(g))


def _generate(generator: Generator, z: Tensor, y: Tensor | None) -> Tensor:
    return generator(z, y) if generator.num_classes > 0 else generator(z)


class _Labelled(Discriminator):
    """D as the step runner shows it to losses: the batch's labels already bound."""

    def __init__(self, discriminator: Discriminator, labels: Tensor | None) -> None:
        super().__init__()
        self.inner, self.labels = discriminator, labels

    def forward_features(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.inner.num_classes > 0:
            return self.inner.forward_features(x, self.labels if y is None else y)
        return self.inner.forward_features(x)

    def class_logits(self, features: Tensor) -> Tensor | None:
        return self.inner.class_logits(features)


def _one_step_changes_both(
    generator: Generator, discriminator: Discriminator, loss: Loss, y: Tensor | None = None
) -> None:
    from .train.step import declared

    labels = None if y is None else y.repeat(2)  # (8,)
    size = _generate(generator, generator.sample_latent(len(y) if y is not None else 1), y).shape[
        1:
    ]
    real = torch.rand(8, *size) * 2 - 1
    opt_g = torch.optim.Adam(generator.parameters(), 1e-3)
    opt_d = torch.optim.Adam(discriminator.parameters(), 1e-3)
    before = [p.detach().clone() for p in (*generator.parameters(), *discriminator.parameters())]
    fake = _generate(generator, generator.sample_latent(8), labels)
    view = _Labelled(discriminator, labels)
    opt_d.zero_grad()
    d_kwargs = declared(loss.discriminator_loss, labels=labels)
    loss.discriminator_loss(view, real, fake.detach(), **d_kwargs).backward()
    opt_d.step()
    opt_g.zero_grad()
    loss.generator_loss(view, real, fake, **declared(loss.generator_loss, labels=labels)).backward()
    opt_g.step()
    n_g = len(list(generator.parameters()))
    changed_g = any(
        not torch.equal(a, p) for a, p in zip(before[:n_g], generator.parameters(), strict=False)
    )
    changed_d = any(
        not torch.equal(a, p)
        for a, p in zip(before[n_g:], discriminator.parameters(), strict=False)
    )
    assert changed_g and changed_d, f"one step changed G: {changed_g}, D: {changed_d}"


def _assert_finite_scalar(value: object, method: str) -> None:
    assert isinstance(value, Tensor) and value.ndim == 0, f"{method} must return a scalar tensor"
    assert torch.isfinite(value), f"{method} returned {value.item()}"


def _has_grad(module: nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def _check_state(component: Stateful) -> None:
    """state_dict holds tensors and JSON values, and load_state_dict takes it back."""
    state = component.state_dict()
    assert isinstance(state, Mapping), "state_dict must return a dict"
    for key, value in state.items():
        if not isinstance(value, Tensor):
            json.dumps(value)  # raises for values a checkpoint's JSON metadata cannot hold
        assert isinstance(key, str), f"state_dict keys must be strings, got {key!r}"
    component.load_state_dict(state)
    values = component.log_values()
    assert all(isinstance(v, int | float) for v in values.values()), "log_values: numbers only"
