"""Deterministic, resumable batch order: epoch ``e`` is a permutation seeded by ``(seed, e)``.

Under DDP every rank computes the same permutation and reads its own slice of each global batch,
so N ranks with batch B see exactly the images one process with batch N*B would.

Resuming at ``(epoch, batch)`` regenerates the same permutation and skips what was consumed, so a
resumed run sees exactly the batches a straight run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class EpochBatchSampler(Sampler[list[int]]):
    """Yields index batches (``drop_last``) forever, epoch after epoch, from a given position."""

    def __init__(
        self, n: int, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1
    ) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.batch = 0, 0  # the position of the next batch

    @property
    def batches_per_epoch(self) -> int:
        """Steps per epoch: each consumes ``world_size`` batches, one per rank."""
        return self.n // (self.batch_size * self.world_size)

    def permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=generator)

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            order = self.permutation(self.epoch)
            while self.batch < self.batches_per_epoch:
                # rank r reads the r-th slice of global batch b (as DistributedSampler would)
                start = (self.batch * self.world_size + self.rank) * self.batch_size
                self.batch += 1
                yield order[start : start + self.batch_size].tolist()
            self.epoch, self.batch = self.epoch + 1, 0

    def __len__(self) -> int:  # infinite; DataLoader only needs it for len(loader)
        return self.batches_per_epoch


def batch_loader(dataset: Dataset, sampler: EpochBatchSampler, workers: int) -> DataLoader:
    """A DataLoader over ``sampler``; workers > 0 prefetch, which makes positions run ahead.

    The sampler's position counts batches handed to workers, not consumed ones, so the trainer
    tracks consumed batches itself (see ``Trainer.position``).
    """
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        # its own generator: otherwise each iterator draws its worker seed from the global RNG,
        # which would shift every later latent draw of a resumed run
        generator=torch.Generator().manual_seed(sampler.seed),
    )
