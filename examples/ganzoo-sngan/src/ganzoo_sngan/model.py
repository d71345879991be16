"""SNGAN: a ResNet generator and a spectrally normalised ResNet discriminator.

Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks", arXiv:1802.05957,
appendix B.4 (the ResNet models for CIFAR-10 and STL-10), generalised over the image size:

Generator, for ``size = base * 2^n`` (base 4, or 7 for 28x28)::

    z (B, latent_dim) -> Linear -> (B, width, base, base)
    n x UpBlock: BN, ReLU, 2x nearest upsample, conv3x3, BN, ReLU, conv3x3 (+ upsampled 1x1 shortcut)
    BN, ReLU, conv3x3 -> (B, C, size, size), tanh

Discriminator (spectral norm on every conv and linear layer, no BatchNorm)::

    x (B, C, size, size)
    DownBlock (the paper's "optimized" first block): conv3x3, ReLU, conv3x3, 2x2 average pool
    DownBlock ... while the map is larger than 8x8: ReLU, conv3x3, ReLU, conv3x3, average pool
    2 x Block at the last resolution: ReLU, conv3x3, ReLU, conv3x3 (+ identity shortcut)
    ReLU, global sum pooling -> features (B, width) -> SN Linear -> logits (B,)

At 32x32 that is exactly the paper's CIFAR-10 discriminator (two downsampling blocks to 8x8, then
two plain blocks). The paper's CIFAR-10 generator has 256 channels and its discriminator 128; here
one ``width`` sets both (128 by default).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo import Architecture, Discriminator, Generator, ImageSpec, UsageError

#: supported image size -> (base, upsampling blocks of the generator)
SIZES: dict[int, tuple[int, int]] = {16: (4, 2), 28: (7, 2), 32: (4, 3), 64: (4, 4)}
CHANNELS = (1, 3)


def check_spec(spec: ImageSpec) -> None:
    """Raise :class:`ganzoo.UsageError` naming what is supported unless ``spec`` is."""
    if spec.size not in SIZES:
        raise UsageError(
            f"sngan does not support image size {spec.size}; supported sizes: "
            f"{', '.join(map(str, SIZES))}"
        )
    if spec.channels not in CHANNELS:
        raise UsageError(f"sngan supports 1 or 3 channels, got {spec.channels}")


def _xavier(module: nn.Conv2d | nn.Linear, gain: float = 1.0) -> nn.Module:
    nn.init.xavier_uniform_(module.weight, gain)
    if module.bias is not None:
        nn.init.zeros_(module.bias)
    return module


def conv(c_in: int, c_out: int, kernel: int, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _xavier(nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2), gain)  # type: ignore[return-value]


class UpBlock(nn.Module):
    """``(B, c_in, s, s)`` -> ``(B, c_out, 2s, 2s)``: BN-ReLU-up-conv-BN-ReLU-conv + shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(c_in), conv(c_in, c_out, 3)
        self.bn2, self.conv2 = nn.BatchNorm2d(c_out), conv(c_out, c_out, 3)
        self.shortcut = conv(c_in, c_out, 1, gain=1.0) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    """``(B, c_in, s, s)`` -> ``(B, c_out, s/2, s/2)`` (or ``s`` without ``down``), all convs SN.

    ``first``: the paper's optimized block for the image itself: no ReLU before the first conv, and
    the shortcut pools before its 1x1 conv.
    """

    def __init__(
        self, c_in: int, c_out: int, *, down: bool, first: bool, n_power_iterations: int
    ) -> None:
        super().__init__()
        self.down, self.first = down, first

        def sn(module: nn.Module) -> nn.Module:
            return spectral_norm(module, n_power_iterations=n_power_iterations)

        self.conv1, self.conv2 = sn(conv(c_in, c_out, 3)), sn(conv(c_out, c_out, 3))
        learnable = c_in != c_out or down
        self.shortcut = sn(conv(c_in, c_out, 1, gain=1.0)) if learnable else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.first:  # pool, then 1x1 conv: the same result at a quarter of the cost
            skip = self.shortcut(F.avg_pool2d(x, 2) if self.down else x)
        else:
            skip = self.shortcut(x)
            skip = F.avg_pool2d(skip, 2) if self.down else skip
        return h + skip


class SNGANGenerator(Generator):
    """z ``(B, latent_dim)`` -> images ``(B, C, size, size)`` in [-1, 1]."""

    def __init__(self, spec: ImageSpec, latent_dim: int = 128, width: int = 128) -> None:
        super().__init__()
        check_spec(spec)
        self.latent_dim, self.width = latent_dim, width
        self.base, n_blocks = SIZES[spec.size]
        self.project = _xavier(nn.Linear(latent_dim, width * self.base * self.base))
        self.blocks = nn.Sequential(*(UpBlock(width, width) for _ in range(n_blocks)))
        self.out_bn = nn.BatchNorm2d(width)
        self.out_conv = conv(width, spec.channels, 3, gain=1.0)

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(-1, self.width, self.base, self.base)  # (B, width, base, base)
        h = self.blocks(h)  # (B, width, size, size)
        return self.out_conv(F.relu(self.out_bn(h))).tanh()  # (B, C, size, size)


class SNGANDiscriminator(Discriminator):
    """images ``(B, C, size, size)`` -> logits ``(B,)`` and features ``(B, width)``."""

    def __init__(self, spec: ImageSpec, width: int = 128, n_power_iterations: int = 1) -> None:
        super().__init__()
        check_spec(spec)
        blocks: list[nn.Module] = []
        size, c_in = spec.size, spec.channels
        while size > 8 or not blocks:  # downsample to 8x8 (7x7 from 28)
            blocks.append(
                DownBlock(
                    c_in, width, down=True, first=not blocks, n_power_iterations=n_power_iterations
                )
            )
            size, c_in = size // 2, width
        for _ in range(2):
            blocks.append(
                DownBlock(
                    width, width, down=False, first=False, n_power_iterations=n_power_iterations
                )
            )
        self.blocks = nn.Sequential(*blocks)
        self.classify = spectral_norm(
            _xavier(nn.Linear(width, 1)), n_power_iterations=n_power_iterations
        )

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling: (B, width)
        return self.classify(h).flatten(), h  # (B,), (B, width)


class SNGAN(Architecture):
    """SNGAN (Miyato et al. 2018): ResNet G with BatchNorm, ResNet D with spectral norm.

    Args:
        latent_dim: size of z (128 in the paper).
        width: channels of every residual block of G and D (the paper: 256 in G, 128 in D).
        n_power_iterations: power-iteration steps per forward pass that estimate each layer's
            spectral norm (1 in the paper: the estimate is refined across training steps).
    """

    def __init__(
        self, latent_dim: int = 128, width: int = 128, n_power_iterations: int = 1
    ) -> None:
        for name, value in (
            ("latent_dim", latent_dim),
            ("width", width),
            ("n_power_iterations", n_power_iterations),
        ):
            if value < 1:
                raise UsageError(f"sngan {name} must be >= 1, got {value}")
        self.latent_dim, self.width, self.n_power_iterations = latent_dim, width, n_power_iterations

    def build(self, spec: ImageSpec) -> tuple[SNGANGenerator, SNGANDiscriminator]:
        check_spec(spec)
        generator = SNGANGenerator(spec, self.latent_dim, self.width)
        discriminator = SNGANDiscriminator(spec, self.width, self.n_power_iterations)
        return generator, discriminator
