"""The interfaces a plugin implements: Architecture (a Generator/Discriminator pair), Loss,
Regularizer, Augmentation, Dataset and Preset.

Everything concrete in ganzoo, the built-in DCGAN and losses included, arrives through these classes
and the registry; the trainer knows nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ImageSpec:
    """The images a model pair works on: ``(channels, size, size)``, and their classes.

    ``num_classes`` is the number of labels the dataset carries (0: unlabelled). A conditional
    architecture builds label-taking networks for it; an unconditional one ignores it.
    """

    channels: int
    size: int
    num_classes: int = 0


class Generator(nn.Module, ABC):
    """Maps latent vectors (and, when conditional, class labels) to images.

    Implement ``forward(z)``: ``z`` of shape ``(B, latent_dim)`` -> images ``(B, C, H, W)`` in
    ``[-1, 1]`` (end in ``tanh``). Set ``self.latent_dim`` in ``__init__``. A conditional generator
    sets ``self.num_classes = K > 0`` and implements ``forward(z, y)`` with labels ``y`` ``(B,)``
    (int64 in ``[0, K)``); ganzoo passes ``y`` only to generators with ``num_classes > 0``, so an
    unconditional ``forward(z)`` keeps working unchanged.
    """

    latent_dim: int
    #: > 0: ``forward`` takes class labels ``y`` (a conditional generator)
    num_classes: int = 0

    @abstractmethod
    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:  # (B, Z), (B,) -> (B, C, H, W)
        """Generate a batch of images in ``[-1, 1]`` from latent vectors (and labels)."""

    def sample_labels(
        self,
        n: int,
        *,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor | None:
        """``n`` labels drawn uniformly from ``[0, num_classes)``: ``(n,)`` int64; None if unconditional."""
        if self.num_classes <= 0:
            return None
        return torch.randint(self.num_classes, (n,), generator=generator).to(device)

    def sample_latent(
        self,
        n: int,
        *,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw ``n`` latent vectors from the prior, N(0, I) unless overridden: ``(n, latent_dim)``."""
        return torch.randn(n, self.latent_dim, device=device, generator=generator)


class Discriminator(nn.Module, ABC):
    """Scores images with one logit each (no sigmoid: losses work on logits).

    Implement ``forward_features(x)``, returning ``(logits, features)``: logits ``(B,)`` and the
    penultimate features ``(B, F)`` that feature-based losses (MMD, feature matching) compare.
    A conditional discriminator (e.g. a projection discriminator) sets ``self.num_classes = K > 0``
    and implements ``forward_features(x, y)``; ganzoo passes ``y`` only when ``num_classes > 0``.
    A discriminator with an auxiliary classifier (ACGAN) implements :meth:`class_logits`.
    """

    #: > 0: ``forward_features`` takes class labels ``y`` ``(B,)``
    num_classes: int = 0

    @abstractmethod
    def forward_features(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x`` ``(B, C, H, W)`` (and labels ``(B,)``) -> ``(logits (B,), features (B, F))``."""

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:  # (B, C, H, W) -> (B,)
        return (self.forward_features(x) if y is None else self.forward_features(x, y))[0]

    def class_logits(self, features: Tensor) -> Tensor | None:
        """ACGAN (Odena et al. 2017): class logits ``(B, K)`` from ``forward_features``' features
        ``(B, F)``; None for a discriminator without an auxiliary classifier head."""
        return None


class Architecture(ABC):
    """Builds a matched Generator/Discriminator pair for an :class:`ImageSpec`.

    The constructor's keyword arguments are the plugin's parameters: users set them with
    ``--set model.params.NAME=VALUE`` or ``[model.params]`` in a config file, and ganzoo checks
    them against the signature, so give every parameter a default and a type annotation.
    """

    @abstractmethod
    def build(self, spec: ImageSpec) -> tuple[Generator, Discriminator]:
        """Return ``(generator, discriminator)`` for images of ``spec``.

        Raise :class:`ganzoo.UsageError` naming the supported sizes/channels for a spec you cannot
        build.
        """


class Stateful:
    """What the training step tells losses, regularizers and augmentations, and what it saves.

    Before every generator step the step runner calls :meth:`begin_step` with the step number
    (0-based), so ``self.step`` is always current (schedules, warm-ups). Anything the component
    learns while training (running averages, an adaptive probability) goes into
    :meth:`state_dict`: it is checkpointed with the run, so a resumed run continues bit-identically.
    :meth:`log_values` adds scalars to ``metrics.jsonl`` at every log interval.
    """

    step: int = 0

    def begin_step(self, step: int) -> None:
        """Called before generator step ``step``; override to update a schedule (call super)."""
        self.step = step

    def state_dict(self) -> dict[str, Any]:
        """Tensors and JSON values (numbers, strings, lists) to checkpoint; ``{}`` if stateless."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def log_values(self) -> dict[str, float]:
        """Scalars worth logging, e.g. ``{"ada_p": 0.12}``; keys become metrics columns."""
        return {}


class Loss(Stateful, ABC):
    """An adversarial objective.

    The trainer hands every loss the discriminator and both batches, so logit-only losses (BCE,
    LSGAN, hinge), feature-based ones (MMD, feature matching) and ones that need D and the images
    (WGAN-GP, R1) all fit the same two calls. Both return a finite scalar tensor to minimise.
    Constructor keyword arguments are the loss parameters (``--set loss.params.NAME=VALUE``).

    Labels: in a conditional run the discriminator handed over already knows the batch's labels
    (``discriminator(real)`` scores ``real`` against its classes), so a loss written for
    unconditional GANs trains conditional ones unchanged. A loss that needs the labels themselves
    declares a keyword-only parameter ``labels``; the runner then passes ``labels`` ``(B,)``, the
    class of both ``real[i]`` and ``fake[i]`` (fakes are generated for the real batch's labels), or
    None in an unconditional run.
    """

    @abstractmethod
    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        """D's loss. ``real`` and ``fake`` are ``(B, C, H, W)``; ``fake`` is already detached from G."""

    @abstractmethod
    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        """G's loss. ``fake`` carries G's graph; ``real`` is there for losses that compare batches."""


class LogitLoss(Loss):
    """Convenience base for losses that only look at D's logits: implement the two ``*_from_logits``."""

    @abstractmethod
    def d_loss_from_logits(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss from logits ``(B,)`` on real and fake images."""

    @abstractmethod
    def g_loss_from_logits(self, fake_logits: Tensor) -> Tensor:
        """G's loss from D's logits ``(B,)`` on fake images."""

    def discriminator_loss(
        self, discriminator: Discriminator, real: Tensor, fake: Tensor
    ) -> Tensor:
        return self.d_loss_from_logits(discriminator(real), discriminator(fake))

    def generator_loss(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        return self.g_loss_from_logits(discriminator(fake))


class Regularizer(Stateful, ABC):
    """A term added to D's or G's objective, or an action after an optimizer step.

    ``target`` names the network it regularises (``"D"``, ``"G"``, or ``"both"``: its penalty joins
    both networks' objectives, and it declares a keyword ``net`` to learn which one is asking).
    Like a loss, it may declare a keyword ``labels`` to receive the batch's labels. :meth:`penalty` returns a
    scalar added to that network's loss; the step runner calls it with the same arguments a
    :class:`Loss` gets (the discriminator sees augmented images when an augmentation is on, and
    calling it on ``real`` or ``fake`` again reuses the logits the loss already computed). With
    ``interval = N > 1`` the term is lazy (Karras et al. 2020, "Analyzing and Improving the Image
    Quality of StyleGAN"): computed every N-th step in a phase of its own, multiplied by N, and the
    target's optimizer runs with ``lr * N/(N+1)`` and ``beta ** (N/(N+1))``.
    :meth:`after_step` runs after every optimizer step of the target (e.g. weight clipping).
    Constructor keyword arguments are the parameters (``--set reg.NAME.PARAM=VALUE``).
    """

    target: ClassVar[Literal["D", "G", "both"]] = "D"
    #: compute the penalty every ``interval`` steps (1: with every step of the target)
    interval: int = 1

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor | None:
        """The term to add (a scalar), or None. For ``target = "D"`` ``fake`` is detached."""
        return None

    def after_step(self, module: nn.Module) -> None:
        """Called after each optimizer step of the target network (``module`` is G or D)."""


class Augmentation(Stateful, ABC):
    """A differentiable transform applied to every image the discriminator sees, real and fake.

    The step runner wraps D so that every call (the loss, every regularizer, in D's and G's
    steps) sees ``augment(x)``; gradients flow through it to G. :meth:`observe` receives D's
    logits on the real batch after each D update (adaptive schemes such as ADA use them).
    Constructor keyword arguments are the parameters (``--set aug.params.NAME=VALUE``).
    An augmentation never changes labels; one that wants them (class-aware policies) declares a
    keyword ``labels`` on :meth:`augment`.
    """

    @abstractmethod
    def augment(self, images: Tensor) -> Tensor:
        """``(B, C, H, W)`` in ``[-1, 1]`` -> transformed ``(B, C, H, W)``; differentiable."""

    def observe(self, real_logits: Tensor) -> None:
        """D's logits ``(B,)`` on the (augmented) real batch of a D update."""


@dataclass(frozen=True)
class Preset:
    """A named config fragment that reproduces a paper's (or a measured) recipe.

    ``config`` is a config tree like a TOML file's (``{"loss": {"name": "wgan-gp"},
    "train": {"d_steps": 5}, "optim": {"lr": 1e-4, "betas": [0.0, 0.9]}}``); ``--preset NAME``
    applies it above the defaults and below a config file, ``--set`` and flags. ``source`` says
    where the settings come from (a paper, or a measurement with its figure); ``measured``, what
    the recipe reached here and at which budget (``ganzoo list presets`` shows both).
    """

    config: Mapping[str, Any]
    source: str
    description: str = ""
    notes: dict[str, Any] = field(default_factory=dict)
    measured: str = ""


@dataclass(frozen=True)
class DataRequest:
    """What the trainer asks a dataset for."""

    root: Path | None
    image_size: int
    channels: int
    split: str = "train"
    download: bool = True


#: How labelled data looks, for dataset authors.
LABELS_DOC = """A labelled dataset's ``load`` returns a torch dataset whose items are ``(image, label)``
pairs (``label`` an int in ``[0, K)``) and which has ``classes``, the ``K`` class names (the
torchvision convention). Items that are plain image tensors, or no ``classes``, mean unlabelled.
A ``source`` attribute (a path, or a description) says where the data was read from: the run
records it and the start banner shows it."""


class Dataset(ABC):
    """A source of training images.

    ``load`` returns a ``torch.utils.data.Dataset`` whose items are float tensors ``(C, H, W)`` in
    ``[-1, 1]`` with the requested channels and size, or ``(image, label)`` pairs for labelled data,
    with the class names in its ``classes`` attribute (see :data:`LABELS_DOC`). Constructor keyword
    arguments are the dataset parameters (``--set data.params.NAME=VALUE``).
    """

    #: channels of the images as stored (1 grey, 3 RGB); used when the user does not ask for any.
    default_channels: ClassVar[int] = 3
    #: the size training uses when the user does not ask for one.
    default_size: ClassVar[int] = 32

    @abstractmethod
    def load(self, request: DataRequest) -> torch.utils.data.Dataset[Tensor]:
        """Return the images for ``request``; raise :class:`ganzoo.GanzooError` when they are missing."""
