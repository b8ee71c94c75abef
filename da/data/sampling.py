"""Shuffling that a resumed run repeats exactly.

PyTorch's default ``RandomSampler`` draws its order from the global random state, which a run
restarted from a checkpoint does not share with the run that was killed. :class:`EpochShuffle`
derives each order from ``(seed, epoch, draw)`` only, so epoch ``k`` sees the same batches whether
the run got there in one go or was resumed from the checkpoint of epoch ``k - 1``.
"""

from __future__ import annotations

from typing import Iterator

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
