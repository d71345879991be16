"""DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).

One parametrised implementation for every size: the generator projects z to a ``base x base`` map
(base 4 for powers of two, 7 for 28x28) and doubles H, W with each stride-2 transposed conv while
halving channels; the discriminator mirrors it with stride-2 convs. With ``ngf = ndf = 64`` at 64x64
it is exactly the architecture of pytorch/examples' DCGAN (3,576,704 + 2,765,568 parameters); the
paper's Figure 1 draws a wider generator (1024 channels at 4x4, i.e. ``ngf = 128``).

Class-conditional mode (``conditional=True``) for labelled data with K classes:

- G: the label enters at the input, its one-hot code concatenated to z (Mirza & Osindero 2014,
  "Conditional Generative Adversarial Nets"; ACGAN's generator too): ``K * width * base^2`` more
  weights in the projection (28x28, ngf 64, K 10: 62,720). And every BatchNorm becomes a
  class-conditional BatchNorm (de Vries et al. 2017, "Modulating early visual processing by
  language"; Miyato & Koyama 2018 use it in G): normalise without an affine, then
  ``gamma[y] * x + beta[y]`` from two ``(K, C)`` embeddings, ``2 K C - 2 C`` more parameters per
  normalised layer (3,456). Measured: with conditional BatchNorm alone, DCGAN's two normalised
  layers at 28x28 steered the class too weakly (36% of generated images classified as their
  label after 2 epochs with a projection D, 12% with ACGAN; benchmarks/README.md, section 8).
- D, ``d_conditioning="projection"`` (Miyato & Koyama 2018, "cGANs with Projection
  Discriminator", eq. 3): ``logit = psi(phi(x)) + <embed(y), phi(x)>``, with ``phi(x)`` the
  flattened last feature map ``(B, F)`` and ``embed`` a ``(K, F)`` table: ``K F`` parameters
  (28x28, ndf 64: F = 128 * 7 * 7 = 6,272, so 62,720).
- D, ``d_conditioning="classifier"`` (ACGAN, Odena et al. 2017, "Conditional Image Synthesis with
  Auxiliary Classifier GANs"): the adversarial logit stays unconditional and a linear head gives
  class logits ``(B, K)`` from the same features: ``(F + 1) K`` parameters. Train it with
  ``--reg acgan`` (or ``--preset acgan``).

Two capacity levers built for the quality study (benchmarks/README.md section 12; not yet screened):

- ``g_extra_layers`` / ``d_extra_layers``: stride-1 3x3 conv + BatchNorm + activation layers at
  G's last hidden resolution and D's first, the ``n_extra_layers`` option of the DCGAN code of
  Chintala et al. (dcgan.torch) and of Arjovsky et al. 2017's WGAN code. Each keeps H, W and the
  channel count, so it deepens the net without widening it.
- ``d_mbstd``: the minibatch standard-deviation feature of Karras et al. 2018 ("Progressive
  Growing of GANs", Sec. 3): D sees how much its last feature map varies across a group of images,
  a cheap signal against a G that collapses to few modes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo import (
    Architecture,
    Discriminator,
    Generator,
    ImageSpec,
    LeakyReLU,
    UsageError,
)
from ganzoo.errors import UnknownNameError
from ganzoo.labels import LABELLED_DATA
from ganzoo.layers import BatchNormLeakyReLU

SIZES_HELP = "28 or a power of two from 16 to 1024 (e.g. 32, 64, 128)"
D_CONDITIONING = ("projection", "classifier")
#: D's normalisation: the paper's BatchNorm, or spectral norm on every layer (SN-DCGAN)
D_NORMS = ("batch", "spectral")
#: the most extra layers (and the largest minibatch-std group) a DCGAN takes
MAX_EXTRA = 64


def layout(size: int) -> tuple[int, int]:
    """``(base, n_blocks)``: the smallest feature map and the number of stride-2 (de)conv blocks."""
    if size == 28:
        return 7, 2  # 7 -> 14 -> 28
    if 16 <= size <= 1024 and size & (size - 1) == 0:
        return 4, int(math.log2(size // 4))  # 4 -> 8 -> ... -> size
    raise UsageError(f"DCGAN does not support image size {size}; supported: {SIZES_HELP}")


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv/linear weights ~ N(0, 0.02), BatchNorm gamma ~ N(1, 0.02), beta = 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose affine is chosen by the class: ``gamma[y] * BN(x) + beta[y]``
    (de Vries et al. 2017). ``(B, C, H, W)``, labels ``(B,)`` -> ``(B, C, H, W)``."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)  # DCGAN init: N(1, 0.02), like BN's
        self.beta = nn.Embedding(num_classes, channels)  # zeros
        nn.init.normal_(self.gamma.weight, 1.0, 0.02)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        gamma, beta = self.gamma(y)[:, :, None, None], self.beta(y)[:, :, None, None]
        return self.bn(x) * gamma + beta  # (B, C, H, W)


def batch_norm(channels: int, num_classes: int) -> nn.Module:
    return (
        ConditionalBatchNorm2d(channels, num_classes) if num_classes else nn.BatchNorm2d(channels)
    )


def minibatch_stddev(h: Tensor, group: int) -> Tensor:
    """Karras et al. 2018's minibatch standard deviation of ``h`` ``(B, C, H, W)`` ->
    ``(B, 1, H, W)``: images ``i, i + B/g, ...`` form groups of ``g``; each group's per-feature
    std is averaged over C, H, W and broadcast back to its members. A batch that ``group`` does not
    divide uses the largest common divisor (a group of 1 has std 0)."""
    b, c, height, width = h.shape
    g = math.gcd(b, group)
    y = h.float().view(g, b // g, c, height, width)  # (g, B/g, C, H, W): one group per column
    y = (y.var(0, unbiased=False) + 1e-8).sqrt()  # (B/g, C, H, W)
    y = y.mean((1, 2, 3)).to(h.dtype)  # (B/g,)
    return y.view(1, b // g, 1, 1, 1).expand(g, -1, 1, height, width).reshape(b, 1, height, width)


def extra_conv(channels: int) -> nn.Conv2d:
    """An extra layer's conv: stride-1 3x3, ``(B, C, H, W) -> (B, C, H, W)``."""
    return nn.Conv2d(channels, channels, 3, 1, 1, bias=False)


class DCGANGenerator(Generator):
    """z ``(B, latent_dim)`` (and labels ``(B,)`` when ``num_classes > 0``) -> image
    ``(B, C, size, size)`` in [-1, 1]."""

    def __init__(
        self,
        spec: ImageSpec,
        latent_dim: int = 100,
        ngf: int = 64,
        projection: str = "conv",
        num_classes: int = 0,
        extra: int = 0,
    ) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        z_in = latent_dim + num_classes  # z and, when conditional, the label's one-hot code
        base, n_blocks = layout(spec.size)
        width = ngf * 2 ** (n_blocks - 1)  # channels of the base map, e.g. 512 at 64x64
        self.base, self.width = base, width
        if projection == "conv":  # (B, nz, 1, 1) -> (B, width, base, base)
            self.project: nn.Module = nn.ConvTranspose2d(z_in, width, base, 1, 0, bias=False)
        elif projection == "linear":  # TensorFlow DCGAN: (B, nz) -> (B, width * base * base)
            self.project = nn.Linear(z_in, width * base * base, bias=False)
        else:
            raise UsageError(f"unknown DCGAN projection '{projection}'; use 'conv' or 'linear'")
        self.projection = projection
        self.project_act = nn.Sequential(batch_norm(width, num_classes), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        for _ in range(n_blocks - 1):  # each block: (B, w, s, s) -> (B, w/2, 2s, 2s)
            blocks += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                batch_norm(width // 2, num_classes),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        # extra layers at the last hidden resolution (size/2): (B, ngf, s, s) -> same shape
        for _ in range(extra):
            blocks += [extra_conv(width), batch_norm(width, num_classes), nn.ReLU(inplace=True)]
        blocks += [nn.ConvTranspose2d(width, spec.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.num_classes:
            if y is None:
                raise UsageError("this DCGAN generator is class-conditional: call it as G(z, y)")
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], 1)  # (B, Z + K)
        if self.projection == "conv":
            x = self.project(z[:, :, None, None])  # (B, width, base, base)
        else:
            x = self.project(z).view(-1, self.width, self.base, self.base)
        if self.num_classes == 0:
            return self.blocks(self.project_act(x))  # (B, C, size, size)
        for layer in (*self.project_act, *self.blocks):
            x = layer(x, y) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x  # (B, C, size, size)


class DCGANDiscriminator(Discriminator):
    """image ``(B, C, size, size)`` -> logit ``(B,)``; features are the last map, flattened.

    ``conditioning="projection"``: labels ``(B,)`` enter by projection (Miyato & Koyama 2018);
    ``"classifier"``: an ACGAN head gives class logits (:meth:`class_logits`).
    """

    def __init__(
        self,
        spec: ImageSpec,
        ndf: int = 64,
        negative_slope: float = 0.2,
        fused: bool = True,
        conditioning: str = "none",
        norm: str = "batch",
        extra: int = 0,
        mbstd: int = 0,
    ) -> None:
        super().__init__()
        base, n_blocks = layout(spec.size)

        def activation(channels: int) -> nn.Module:  # BatchNorm's affine is fused when fused
            if norm == "spectral":
                return LeakyReLU(negative_slope, fused, inplace=True)
            return BatchNormLeakyReLU(channels, negative_slope, fused)

        layers: list[nn.Module] = []
        in_ch, width = spec.channels, ndf
        for i in range(n_blocks):  # each block: (B, c, s, s) -> (B, w, s/2, s/2)
            layers.append(nn.Conv2d(in_ch, width, 4, 2, 1, bias=False))
            if i == 0:  # no BatchNorm on the input block (paper, sec. 3)
                layers.append(LeakyReLU(negative_slope, fused, inplace=True))  # on conv's output
                for _ in range(extra):  # extra layers at the first resolution (size/2)
                    layers += [extra_conv(width), activation(width)]
            else:
                layers.append(activation(width))
            in_ch, width = width, width * 2
        self.features = nn.Sequential(*layers)  # -> (B, ndf * 2^(n-1), base, base)
        self.mbstd = mbstd  # group size; 0: off
        # -> (B, 1, 1, 1), from the last map and, with mbstd, its std channel
        self.classify = nn.Conv2d(in_ch + (mbstd > 0), 1, base, 1, 0, bias=False)
        self.conditioning = conditioning
        n_features = in_ch * base * base  # F
        if conditioning == "projection":
            self.num_classes = spec.num_classes
            self.embed = nn.Embedding(spec.num_classes, n_features)  # (K, F)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)  # N(0, 1) would swamp psi at the start
        elif conditioning == "classifier":
            self.aux = nn.Linear(n_features, spec.num_classes)  # ACGAN's head: (B, F) -> (B, K)
        self.norm = norm

    def apply_spectral_norm(self) -> None:
        """Divide every layer's weight by its largest singular value, estimated by one power
        iteration per forward (Miyato et al. 2018); call after initialisation."""
        for module in list(self.modules()):
            if isinstance(module, nn.Conv2d | nn.Linear | nn.Embedding):
                nn.utils.parametrizations.spectral_norm(module)

    def forward_features(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h = self.features(x)  # (B, C, base, base)
        head = torch.cat([h, minibatch_stddev(h, self.mbstd)], 1) if self.mbstd else h
        logits, features = self.classify(head).flatten(), h.flatten(1)  # (B,), (B, F)
        if self.conditioning == "projection":
            if y is None:
                raise UsageError("this DCGAN discriminator is class-conditional: call it with y")
            logits = logits + (self.embed(y) * features).sum(1)  # + <embed(y), phi(x)>
        return logits, features

    def class_logits(self, features: Tensor) -> Tensor | None:
        return self.aux(features) if self.conditioning == "classifier" else None


class DCGAN(Architecture):
    """Deep convolutional GAN (Radford et al. 2015) for 1- or 3-channel images of size 28 or 2^k.

    Args:
        latent_dim: size of z (100 in the paper).
        ngf: generator width; the base map has ``ngf * 2^(blocks-1)`` channels.
        ndf: discriminator width of the first block.
        projection: ``"conv"`` (transposed conv 1x1 -> base, the paper) or ``"linear"`` (TF DCGAN).
        negative_slope: the discriminator's LeakyReLU slope (0.2 in the paper).
        fused: route BatchNorm + LeakyReLU through the fused ``ganzoo::fused_leaky_relu`` op
            (Triton on CUDA); ``False`` uses plain ``BatchNorm2d`` and ``F.leaky_relu``. Both give
            the same function and the same state dict.
        conditional: class-conditional G (one-hot label beside z, conditional BatchNorm) and D
            (see ``d_conditioning``);
            needs labelled data.
        d_conditioning: how a conditional D uses labels: ``"projection"`` (projection
            discriminator) or ``"classifier"`` (ACGAN's auxiliary classifier; with --reg acgan).
        d_norm: ``"batch"`` (the paper's BatchNorm in D) or ``"spectral"``: no BatchNorm, and
            spectral normalisation on every layer of D (Miyato et al. 2018, "Spectral
            Normalization for Generative Adversarial Networks", their "standard CNN" D).
        g_extra_layers: stride-1 3x3 conv + BatchNorm + ReLU layers at G's last hidden resolution
            (dcgan.torch's ``n_extra_layers``); each adds ``9 ngf^2`` weights.
        d_extra_layers: the same in D (conv + BatchNorm + LeakyReLU) after its first block;
            ``9 ndf^2`` weights each.
        d_mbstd: group size of D's minibatch standard-deviation channel before its last layer
            (Karras et al. 2018 use 4); 0 turns it off.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        ngf: int = 64,
        ndf: int = 64,
        projection: str = "conv",
        negative_slope: float = 0.2,
        fused: bool = True,
        conditional: bool = False,
        d_conditioning: str = "projection",
        d_norm: str = "batch",
        g_extra_layers: int = 0,
        d_extra_layers: int = 0,
        d_mbstd: int = 0,
    ) -> None:
        if d_conditioning not in D_CONDITIONING:
            raise UnknownNameError("d_conditioning", d_conditioning, D_CONDITIONING)
        if d_norm not in D_NORMS:
            raise UnknownNameError("d_norm", d_norm, D_NORMS)
        if projection not in ("conv", "linear"):
            raise UsageError(f"unknown DCGAN projection '{projection}'; use 'conv' or 'linear'")
        for name, value in (("latent_dim", latent_dim), ("ngf", ngf), ("ndf", ndf)):
            if value < 1:
                raise UsageError(f"DCGAN {name} must be >= 1, got {value}")
        counts = {"g_extra_layers": g_extra_layers, "d_extra_layers": d_extra_layers}
        for name, value in {**counts, "d_mbstd": d_mbstd}.items():
            if not 0 <= value <= MAX_EXTRA:
                raise UsageError(f"DCGAN {name} must be from 0 to {MAX_EXTRA}, got {value}")
        self.latent_dim, self.ngf, self.ndf = latent_dim, ngf, ndf
        self.projection, self.negative_slope, self.fused = projection, negative_slope, fused
        self.conditional, self.d_conditioning = conditional, d_conditioning
        self.d_norm = d_norm
        self.g_extra_layers, self.d_extra_layers, self.d_mbstd = (
            g_extra_layers,
            d_extra_layers,
            d_mbstd,
        )

    def build(self, spec: ImageSpec) -> tuple[DCGANGenerator, DCGANDiscriminator]:
        if spec.channels not in (1, 3):
            raise UsageError(f"DCGAN supports 1 or 3 channels, got {spec.channels}")
        layout(spec.size)
        classes = spec.num_classes if self.conditional else 0
        if self.conditional and classes == 0:
            raise UsageError(
                "DCGAN with conditional=true needs labelled data, and this dataset has no labels; "
                f"use {LABELLED_DATA}"
            )
        conditioning = self.d_conditioning if self.conditional else "none"
        g = DCGANGenerator(
            spec, self.latent_dim, self.ngf, self.projection, classes, self.g_extra_layers
        )
        d = DCGANDiscriminator(
            spec,
            self.ndf,
            self.negative_slope,
            self.fused,
            conditioning,
            self.d_norm,
            self.d_extra_layers,
            self.d_mbstd,
        )
        g.apply(init_weights)
        d.apply(init_weights)
        if self.d_norm == "spectral":
            d.apply_spectral_norm()
        return g, d
