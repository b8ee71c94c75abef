"""Shuffling that a resumed run repeats exactly.

PyTorch's default ``RandomSampler`` draws its order from the global random state, which a run
restarted from a checkpoint does not share with the run that was killed. :class:`EpochShuffle`
derives each order from ``(seed, epoch, draw)`` only, so epoch ``k`` sees the same batches whether
the run got there in one go or was resumed from the checkpoint of epoch ``k - 1``.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


class EpochShuffle(Sampler[int]):
    """A fresh permutation of ``range(n)`` for every epoch (and every pass within one).

    Lightning calls :meth:`set_epoch` at the start of each training epoch. Within an epoch a
    shorter loader may be iterated several times (``max_size_cycle``); pass ``d`` of epoch ``e``
    uses the permutation seeded by ``(seed, e, d)``.

    Args:
        n: dataset length.
        seed: the run seed.
        epoch: the epoch of the first pass (the trainer's current epoch when resuming).
    """

    def __init__(self, n: int, seed: int, epoch: int = 0) -> None:
        self.n, self.seed, self.epoch, self.draws = n, seed, epoch, 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:  # the same epoch again (resume) keeps the pass count
            self.epoch, self.draws = epoch, 0

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(
            (self.seed * 1_000_003 + self.epoch * 10_007 + self.draws) % 2**63)
        self.draws += 1
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self) -> int:
        return self.n


class LengthBuckets(Sampler[list[int]]):
    """Shuffled batches of examples of similar length, so that padding to the longest example
    of a batch wastes little (text batches padded per batch: tokens, prefix states).

    Each pass draws the permutation of :class:`EpochShuffle` (seeded by ``(seed, epoch, pass)``,
    so resumed runs repeat it), cuts it into pools of ``pool`` batches, sorts each pool by length
    (stable), cuts it into batches and shuffles the order of all batches. Every example is served
    once per pass and the number of batches is ``ceil(n / batch_size)``, as without buckets.

    Args:
        lengths: length of each example (tokens, or characters as a proxy).
        batch_size: examples per batch.
        seed, epoch: as for :class:`EpochShuffle`.
        pool: batches per pool: larger pools pad less, smaller ones keep batches more random.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, epoch: int = 0,
                 pool: int = 50) -> None:
        self.lengths = torch.as_tensor(np.asarray(lengths, dtype=np.int64))
        self.batch_size, self.pool = batch_size, max(1, pool)
        self.order = EpochShuffle(len(self.lengths), seed, epoch)

    def set_epoch(self, epoch: int) -> None:
        self.order.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(
            (self.order.seed * 1_000_003 + self.order.epoch * 10_007 + self.order.draws) % 2**63
            + 1)
        order = torch.tensor(list(iter(self.order)), dtype=torch.long)
        batches = []
        for pool in order.split(self.batch_size * self.pool):
            by_length = pool[torch.sort(self.lengths[pool], stable=True).indices]
            batches += [b.tolist() for b in by_length.split(self.batch_size)]
        return iter([batches[i] for i in torch.randperm(len(batches), generator=generator)])

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)
