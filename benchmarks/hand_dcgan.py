"""DCGAN training written by hand in plain PyTorch: the baseline ganzoo's trainer is timed against.

Written in the style of pytorch/examples ``dcgan/main.py`` (``nn.Sequential`` generator and
discriminator, ``weights_init`` applied with ``.apply``, Adam(2e-4, (0.5, 0.999)), one D step on a
real batch and ``fake.detach()``, then one G step on the same ``fake``). This file must not import
ganzoo: it is what a user would write without it.

Two differences from pytorch/examples, both to compute exactly what ganzoo computes:

* D ends in its last conv (a logit), and the loss is ``BCEWithLogitsLoss`` instead of ``Sigmoid`` +
  ``BCELoss`` (same math, numerically stabler, and allowed under autocast);
* the D loss is ``errD_real + errD_fake`` with one ``backward`` (pytorch/examples calls ``backward``
  twice, accumulating the same gradients).

Layout for size 2^k (base map 4x4) and 28 (base map 7x7), as in the DCGAN paper at 64x64:
G: ConvT(nz -> ngf*2^(n-1), base) BN ReLU, (ConvT 4/2/1 halving channels, BN, ReLU) * (n-1),
ConvT(ngf -> nc, 4/2/1) Tanh; D: Conv(nc -> ndf, 4/2/1) LReLU(0.2), (Conv 4/2/1 doubling, BN,
LReLU) * (n-1), Conv(ndf*2^(n-1) -> 1, base).

Standalone: ``python benchmarks/hand_dcgan.py --size 64 --steps 10`` prints img/s.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from dataclasses import dataclass

import torch
from torch import nn


def layout(size: int) -> tuple[int, int]:
    """``(base, n_blocks)``: 28 -> 7x7 and 2 blocks; 2^k -> 4x4 and k-2 blocks."""
    if size == 28:
        return 7, 2
    if 16 <= size <= 1024 and size & (size - 1) == 0:
        return 4, int(math.log2(size // 4))
    raise ValueError(f"size must be 28 or a power of two from 16 to 1024, got {size}")


def make_generator(size: int, nc: int = 3, nz: int = 100, ngf: int = 64) -> nn.Sequential:
    base, n = layout(size)
    width = ngf * 2 ** (n - 1)
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(nz, width, base, 1, 0, bias=False),  # (B, nz, 1, 1) -> (B, w, b, b)
        nn.BatchNorm2d(width),
        nn.ReLU(True),
    ]
    for _ in range(n - 1):
        layers += [
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width // 2),
            nn.ReLU(True),
        ]
        width //= 2
    layers += [nn.ConvTranspose2d(width, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def make_discriminator(size: int, nc: int = 3, ndf: int = 64) -> nn.Sequential:
    base, n = layout(size)
    layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    width = ndf
    for _ in range(n - 1):
        layers += [
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, True),
        ]
        width *= 2
    layers += [nn.Conv2d(width, 1, base, 1, 0, bias=False)]  # (B, 1, 1, 1) logits
    return nn.Sequential(*layers)


def weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@dataclass(frozen=True)
class HandOptions:
    """How the hand loop runs: autocast dtype (None: fp32), whether G and D are compiled, and how."""

    autocast_dtype: torch.dtype | None = None
    compile: bool = False
    compile_mode: str = "default"  # reduce-overhead: CUDA graphs


class HandDCGAN:
    """G, D, their optimizers and the training step; ``images`` is an in-memory (N, C, H, W) tensor."""

    def __init__(
        self,
        images: torch.Tensor,
        batch_size: int = 64,
        nz: int = 100,
        device: str | torch.device = "cpu",
        options: HandOptions = HandOptions(),
    ) -> None:
        n_images, nc, size, _ = images.shape
        self.images, self.batch_size, self.nz = images, batch_size, nz
        self.device = torch.device(device)
        self.options = options
        self.netG = make_generator(size, nc, nz).to(self.device)
        self.netD = make_discriminator(size, nc).to(self.device)
        self.netG.apply(weights_init)
        self.netD.apply(weights_init)
        self.G, self.D = self.netG, self.netD
        if options.compile:
            mode = options.compile_mode
            self.G = torch.compile(self.netG, mode=mode)
            self.D = torch.compile(self.netD, mode=mode)
        self.criterion = nn.BCEWithLogitsLoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.batches_per_epoch = n_images // batch_size
        self.order = torch.randperm(n_images)
        self.cursor = 0

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.options.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.options.autocast_dtype)

    def next_batch(self) -> torch.Tensor:
        """A shuffled batch of real images, a fresh permutation every epoch (``drop_last``)."""
        if self.cursor == self.batches_per_epoch:
            self.order, self.cursor = torch.randperm(len(self.images)), 0
        start = self.cursor * self.batch_size
        self.cursor += 1
        return self.images[self.order[start : start + self.batch_size]].to(self.device)

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        b = real.shape[0]
        real_label = torch.full((b,), 1.0, device=self.device)
        fake_label = torch.full((b,), 0.0, device=self.device)
        noise = torch.randn(b, self.nz, 1, 1, device=self.device)

        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        with self.autocast():
            fake = self.G(noise)
            errD_real = self.criterion(self.D(real).view(-1), real_label)
            errD_fake = self.criterion(self.D(fake.detach()).view(-1), fake_label)
            errD = errD_real + errD_fake
        self.optimizerD.zero_grad()
        errD.backward()
        self.optimizerD.step()

        # (2) update G: maximize log(D(G(z))), on the same fake batch
        with self.autocast():
            errG = self.criterion(self.D(fake).view(-1), real_label)
        self.optimizerG.zero_grad()
        errG.backward()
        self.optimizerG.step()
        return errD.detach(), errG.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D")
    args = parser.parse_args()
    torch.manual_seed(0)
    images = torch.rand(16 * args.batch_size, args.channels, args.size, args.size) * 2 - 1
    options = HandOptions(torch.bfloat16 if args.bf16 else None, args.compile)
    loop = HandDCGAN(images, args.batch_size, options=options)
    for _ in range(args.warmup):
        loop.step()
    start = time.perf_counter()
    for _ in range(args.steps):
        d_loss, g_loss = loop.step()
    seconds = time.perf_counter() - start
    print(
        f"{args.size}x{args.size}: {args.steps * args.batch_size / seconds:.1f} img/s "
        f"(d_loss {d_loss.item():.3f}, g_loss {g_loss.item():.3f})"
    )


if __name__ == "__main__":
    main()
