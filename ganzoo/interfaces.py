"""The interfaces a plugin implements: Architecture (a Generator/Discriminator pair), Loss, Dataset.

Everything concrete in ganzoo, the built-in DCGAN and losses included, arrives through these classes
and the registry; the trainer knows nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ImageSpec:
    """The shape of the images a model pair works on: ``(channels, size, size)``."""

    channels: int
    size: int


class Generator(nn.Module, ABC):
    """Maps latent vectors to images.

    Implement ``forward(z)``: ``z`` of shape ``(B, latent_dim)`` -> images ``(B, C, H, W)`` in
    ``[-1, 1]`` (end in ``tanh``). Set ``self.latent_dim`` in ``__init__``.
    """

    latent_dim: int

    @abstractmethod
    def forward(self, z: Tensor) -> Tensor:  # (B, latent_dim) -> (B, C, H, W)
        """Generate a batch of images in ``[-1, 1]`` from latent vectors."""

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
    """

    @abstractmethod
    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` ``(B, C, H, W)`` -> ``(logits (B,), features (B, F))``."""

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B,)
        return self.forward_features(x)[0]


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


class Loss(ABC):
    """An adversarial objective.

    The trainer hands every loss the discriminator and both batches, so logit-only losses (BCE,
    LSGAN, hinge), feature-based ones (MMD, feature matching) and ones that need D and the images
    (WGAN-GP, R1) all fit the same two calls. Both return a finite scalar tensor to minimise.
    Constructor keyword arguments are the loss parameters (``--set loss.params.NAME=VALUE``).
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


@dataclass(frozen=True)
class DataRequest:
    """What the trainer asks a dataset for."""

    root: Path | None
    image_size: int
    channels: int
    split: str = "train"
    download: bool = True


class Dataset(ABC):
    """A source of training images.

    ``load`` returns a ``torch.utils.data.Dataset`` whose items are float tensors ``(C, H, W)`` in
    ``[-1, 1]`` with the requested channels and size. Constructor keyword arguments are the dataset
    parameters (``--set data.params.NAME=VALUE``).
    """

    #: channels of the images as stored (1 grey, 3 RGB); used when the user does not ask for any.
    default_channels: ClassVar[int] = 3
    #: the size training uses when the user does not ask for one.
    default_size: ClassVar[int] = 32

    @abstractmethod
    def load(self, request: DataRequest) -> torch.utils.data.Dataset[Tensor]:
        """Return the images for ``request``; raise :class:`ganzoo.GanzooError` when they are missing."""
