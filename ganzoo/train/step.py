"""The training step as a list of phases, in the spirit of stylegan2-ada's ``Dmain/Dreg/Gmain/Greg``.

One generator step runs, in order:

========  ===========================================================  ===================
phase     objective                                                    when
========  ===========================================================  ===================
``Dmain`` ``loss.discriminator_loss`` + every D regularizer with        ``d_steps`` times
          ``interval == 1``
``Dreg``  ``N *`` the D regularizers with ``interval == N > 1``        every N-th step
``Gmain`` ``loss.generator_loss`` + every G regularizer with             every step
          ``interval == 1``
``Greg``  ``N *`` the G regularizers with ``interval == N > 1``        every N-th step
========  ===========================================================  ===================

The runner owns, once for every phase: autocast, loss scaling (one GradScaler per optimizer, so
``step()`` and ``update()`` alternate however many D steps there are), freezing the network that
is not trained (no weight gradients, outside DDP's gradient sync), the augmentation every D call
goes through, the scalar checks naming the plugin, ``after_step`` hooks and the EMA update.
Each D update draws a fresh real batch and fresh latents; the last one keeps G's graph so that
``Gmain`` reuses its fake batch (as the DCGAN reference loop does: one G forward per step).

Labels (class-conditional runs): fakes are generated for the real batch's labels, so ``real[i]``
and ``fake[i]`` share ``labels[i]`` and one label tensor serves the whole phase. The labels'
distribution is then the dataset's, as in stylegan2-ada, which draws G's labels from the data.
D, as the loss and regularizers see it, already knows them; plugins that want them explicitly
declare a keyword ``labels`` (and a regularizer of both nets a keyword ``net``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from ..errors import GanzooError
from ..interfaces import Augmentation, Discriminator, Generator, Loss, Regularizer, Stateful
from ..labels import LABELLED_DATA, split_batch
from ..registry import Entry
from .ema import EMA


@dataclass(frozen=True)
class Phase:
    """One entry of the schedule: which network it trains, how often, with which terms."""

    name: str  # Dmain | Dreg | Gmain | Greg
    net: Literal["D", "G"]
    interval: int = 1  # run at steps where step % interval == 0
    repeat: int = 1  # Dmain: d_steps
    regularizers: tuple[str, ...] = ()  # names of the regularizers whose penalty joins this phase
    main: bool = True  # includes the adversarial loss

    @property
    def gain(self) -> float:
        """Lazy regularisation scales the term by its interval (Karras et al. 2020)."""
        return 1.0 if self.main else float(self.interval)


@functools.cache
def _keywords(function: Callable[..., object]) -> frozenset[str]:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return frozenset({"**"})
    return frozenset(p.name for p in params)


def declared(method: Callable[..., object], **extras: object) -> dict[str, object]:
    """The ``extras`` (``labels``, ``net``) that ``method`` declares as parameters: plugins written
    before labels existed are called exactly as before."""
    names = _keywords(getattr(method, "__func__", method))
    return {k: v for k, v in extras.items() if k in names or "**" in names}


def plan_phases(regularizers: dict[str, Regularizer], d_steps: int) -> list[Phase]:
    """The schedule for these regularizers: main phases plus one reg phase per lazy interval."""
    phases: list[Phase] = []
    for net in ("D", "G"):
        mine = {n: r for n, r in regularizers.items() if r.target in (net, "both")}
        eager = tuple(n for n, r in mine.items() if r.interval == 1)
        phases.append(
            Phase(f"{net}main", net, repeat=d_steps if net == "D" else 1, regularizers=eager)
        )  # type: ignore[arg-type]
        for interval in sorted({r.interval for r in mine.values() if r.interval > 1}):
            lazy = tuple(n for n, r in mine.items() if r.interval == interval)
            phases.append(Phase(f"{net}reg", net, interval, regularizers=lazy, main=False))  # type: ignore[arg-type]
    return phases


class PhaseDiscriminator(Discriminator):
    """D as the loss and regularizers of one phase see it: augmented, and computed once per batch.

    Calls on the phase's own ``real`` or ``fake`` tensors are memoised, so a regularizer that
    needs the logits the loss already computed (LeCam, consistency) costs no extra forward. A
    leaf input that requires grad (a gradient penalty's interpolate) goes to the uncompiled D:
    torch.compile's graphs have no double backward. After that, the phase's later calls go there
    too: the uncompiled BatchNorm's double-backward node saves the running statistics, which a
    compiled forward would then update in place under it.
    """

    def __init__(self, discriminator: Discriminator, eager: Discriminator | None) -> None:
        super().__init__()
        self.inner = discriminator
        self._eager = [eager or discriminator]  # a list: not registered as a second submodule
        self.augmentation: Augmentation | None = None
        self._memo: dict[int, tuple[Tensor, tuple[Tensor, Tensor]]] = {}
        self._eager_from_now = False
        self.num_classes = discriminator.num_classes
        self.labels: Tensor | None = None  # the phase's labels (B,), None when unlabelled

    def bind(self, *batches: Tensor, labels: Tensor | None = None) -> None:
        """Memoise D's outputs on these tensors (by identity) until the next ``bind``; ``labels``
        are the class of every image of the phase's batches."""
        self._memo = {id(t): (t, None) for t in batches}  # type: ignore[misc]
        self._eager_from_now = False
        self.labels = labels

    def labels_for(self, x: Tensor) -> Tensor | None:
        """The phase's labels for a batch ``x`` derived from its real and fake batches.

        A batch of ``k * B`` images (``torch.cat([real, fake])``) gets the labels repeated k times:
        real and fake share them. Anything else needs ``y`` passed explicitly."""
        labels = self.labels
        if labels is None or x.shape[0] == labels.shape[0]:
            return labels
        if x.shape[0] % labels.shape[0] == 0:
            return labels.repeat(x.shape[0] // labels.shape[0])
        if self.num_classes <= 0:
            return None  # an unconditional D does not need them
        raise GanzooError(
            f"the conditional discriminator got {x.shape[0]} images but the step's labels are for "
            f"{labels.shape[0]}; pass the labels explicitly: discriminator(x, y)"
        )

    def output_for(self, batch: Tensor) -> tuple[Tensor, Tensor] | None:
        entry = self._memo.get(id(batch))
        return entry[1] if entry is not None and entry[0] is batch else None

    def forward_features(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        entry = self._memo.get(id(x)) if y is None else None  # explicit labels: not memoised
        if entry is not None and entry[0] is x and entry[1] is not None:
            return entry[1]
        labels = y if y is not None else self.labels_for(x)
        images = x
        if self.augmentation is not None:
            augment = self.augmentation.augment
            images = augment(x, **declared(augment, labels=labels))
        if x.is_leaf and x.requires_grad:
            self._eager_from_now = True
        net = self._eager[0] if self._eager_from_now else self.inner
        if self.num_classes > 0:
            if labels is None:
                raise GanzooError(
                    f"the discriminator is conditional but this run has no labels; use {LABELLED_DATA}"
                )
            out = net.forward_features(images, labels)
        else:
            out = net.forward_features(images)
        if entry is not None and entry[0] is x:
            self._memo[id(x)] = (x, out)
        return out

    def class_logits(self, features: Tensor) -> Tensor | None:
        net = self._eager[0] if self._eager_from_now else self.inner
        return net.class_logits(features)


@dataclass
class StepParts:
    """Everything the step runner needs, built once by the trainer."""

    generator: Generator  # the module (its weights, its EMA)
    discriminator: Discriminator
    generator_call: Generator  # what the step calls: a DDP wrapper or the module itself
    discriminator_call: Discriminator
    discriminator_eager: Discriminator | None  # D without torch.compile, for double backward
    loss: Loss
    regularizers: dict[str, Regularizer]
    augmentation: Augmentation | None
    optimizers: dict[str, torch.optim.Optimizer]  # "G", "D"
    scalers: dict[str, torch.amp.GradScaler]  # "G", "D": one per optimizer
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    ema: EMA | None
    entries: dict[str, Entry]  # provenance for error messages: "loss", "reg.NAME"
    autocast: Callable[[], AbstractContextManager[object]]
    no_sync: Callable[[nn.Module], AbstractContextManager[object]] = field(
        default=lambda module: contextlib.nullcontext()
    )
    d_steps: int = 1


class StepRunner:
    """Runs the phases of one generator step; returns the step's detached scalars."""

    def __init__(self, parts: StepParts) -> None:
        self.parts = parts
        self.phases = plan_phases(parts.regularizers, parts.d_steps)
        self.d_view = PhaseDiscriminator(parts.discriminator_call, parts.discriminator_eager)
        self.d_view.augmentation = parts.augmentation
        # what learns the step number and is checkpointed: "loss", "reg.NAME", "aug"
        self.components: dict[str, Stateful] = {
            "loss": parts.loss,
            **{f"reg.{n}": r for n, r in parts.regularizers.items()},
        }
        if parts.augmentation is not None:
            self.components["aug"] = parts.augmentation

    def run(
        self, step: int, next_real: Callable[[], tuple[Tensor, Tensor | None]]
    ) -> dict[str, Tensor]:
        """Generator step ``step`` (0-based); ``next_real`` yields the next real batch and its
        labels ``(B,)`` (None when the data is unlabelled), or just the batch."""
        for component in self.components.values():
            component.begin_step(step)
        scalars: dict[str, Tensor] = {}
        real = fake = labels = None
        for phase in self.phases:
            if step % phase.interval:
                continue
            if phase.name == "Dmain":
                real, labels, fake = self._discriminator_updates(phase, next_real, scalars)
            elif phase.net == "D":  # Dreg: on Dmain's last batches
                self._update(phase, real, fake.detach(), labels, scalars)  # type: ignore[arg-type, union-attr]
            else:  # Gmain reuses Dmain's fake batch and its graph; a lazy Greg draws its own
                if fake is None:
                    fake = self._generate(real.shape[0], labels, grad=True)  # type: ignore[union-attr]
                self._update(phase, real, fake, labels, scalars)  # type: ignore[arg-type]
                fake = None  # its graph was consumed by the backward
        with warnings.catch_warnings():
            # an fp16 step skipped for inf gradients makes the scheduler warn that it stepped
            # before its optimizer: expected, and harmless (the loss scale is being found)
            warnings.simplefilter("ignore", UserWarning)
            for scheduler in self.parts.schedulers.values():
                scheduler.step()
        if self.parts.ema is not None:
            self.parts.ema.update(self.parts.generator, step)
        return scalars

    def _generate(self, n: int, labels: Tensor | None, *, grad: bool) -> Tensor:
        z = self.parts.generator.sample_latent(n, device=self._device())
        conditional = self.parts.generator.num_classes > 0
        with self.parts.autocast(), torch.set_grad_enabled(grad):
            if conditional:  # (B, Z), (B,) -> (B, C, H, W)
                return self.parts.generator_call(z, labels)
            return self.parts.generator_call(z)  # (B, C, H, W)

    def _device(self) -> torch.device:
        return next(self.parts.generator.parameters()).device

    def _discriminator_updates(
        self,
        phase: Phase,
        next_real: Callable[[], tuple[Tensor, Tensor | None]],
        scalars: dict[str, Tensor],
    ) -> tuple[Tensor, Tensor | None, Tensor]:
        for i in range(phase.repeat):
            real, labels = split_batch(next_real())  # a bare tensor: unlabelled
            # the last D update keeps G's graph: Gmain reuses this fake batch
            fake = self._generate(real.shape[0], labels, grad=i == phase.repeat - 1)
            real_logits = self._update(phase, real, fake.detach(), labels, scalars)
            if self.parts.augmentation is not None and real_logits is not None:
                self.parts.augmentation.observe(real_logits)
        return real, labels, fake

    def _update(
        self,
        phase: Phase,
        real: Tensor,
        fake: Tensor,
        labels: Tensor | None,
        scalars: dict[str, Tensor],
    ) -> Tensor | None:
        """One optimizer step of ``phase.net`` on this phase's objective; returns D's detached
        logits on ``real`` where the objective computed them (ADA's overfitting heuristic)."""
        parts = self.parts
        net = parts.discriminator if phase.net == "D" else parts.generator
        frozen = parts.generator if phase.net == "D" else parts.discriminator
        frozen_call = parts.generator_call if phase.net == "D" else parts.discriminator_call
        optimizer, scaler = parts.optimizers[phase.net], parts.scalers[phase.net]
        self.d_view.bind(real, fake, labels=labels)
        # the other network's weights are constants here: no gradients for them (saves a third
        # of D's backward in G's step) and no gradient sync under DDP
        frozen.requires_grad_(False)
        try:
            with parts.autocast(), parts.no_sync(frozen_call):
                objective = self._objective(phase, real, fake, labels, scalars)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(objective).backward()
            real_out = self.d_view.output_for(real)
        finally:
            frozen.requires_grad_(True)
            self.d_view.bind()
        scaler.step(optimizer)
        scaler.update()
        for reg in parts.regularizers.values():
            if reg.target in (phase.net, "both"):
                reg.after_step(net)
        return real_out[0].detach() if real_out is not None else None

    def _objective(
        self,
        phase: Phase,
        real: Tensor,
        fake: Tensor,
        labels: Tensor | None,
        scalars: dict[str, Tensor],
    ) -> Tensor:
        total: Tensor | None = None
        if phase.main:
            name = "discriminator_loss" if phase.net == "D" else "generator_loss"
            method = getattr(self.parts.loss, name)
            value = method(self.d_view, real, fake, **declared(method, labels=labels))
            total = self._scalar(value, "loss", name)
            scalars[f"{phase.net.lower()}_loss"] = total.detach()
        for name in phase.regularizers:
            penalty = self.parts.regularizers[name].penalty
            extras = declared(penalty, labels=labels, net=phase.net)
            value = penalty(self.d_view, real, fake, **extras)
            if value is None:
                continue
            value = self._scalar(value, f"reg.{name}", "penalty")
            both = self.parts.regularizers[name].target == "both"  # a value per network
            scalars[f"reg_{name}_{phase.net.lower()}" if both else f"reg_{name}"] = value.detach()
            term = value * phase.gain
            total = term if total is None else total + term
        if total is None:  # a phase whose regularizers only act after the step (clip)
            total = torch.zeros((), device=real.device, requires_grad=True)
        return total

    def _scalar(self, value: object, key: str, method: str) -> Tensor:
        """A plugin's loss or penalty must be a scalar tensor; say which plugin broke that."""
        if isinstance(value, Tensor) and value.ndim == 0:
            return value
        entry = self.parts.entries[key]
        kind = "loss" if key == "loss" else "regularizer"
        got = (
            f"a tensor of shape {tuple(value.shape)}"
            if isinstance(value, Tensor)
            else type(value).__name__
        )
        raise GanzooError(
            f"{kind} '{entry.qualified_name}' (plugin {entry.plugin}, {entry.distribution}): "
            f"{method} returned {got}; it must return a scalar tensor (reduce with .mean())"
        )
