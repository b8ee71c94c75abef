"""Resuming a killed run, and randomness that does not depend on how the run got to a step.

A run killed mid-training (SIGKILL, a pre-empted SLURM job) restarts from the last checkpoint
(``<run dir>/checkpoints/last.ckpt``, written after every epoch) with ``resume=true`` in the same
run dir (``hydra.run.dir=<old run dir>``, or the same ``hydra.sweep.dir`` for a sweep). To end
with the same metrics as an uninterrupted run, everything random after the checkpoint must be a
function of what the checkpoint holds: the training order comes from
:class:`~da.data.sampling.EpochShuffle` (seed, epoch) and the global random state is re-seeded
before every step from (seed, step, rank) by :class:`StepSeed` (dropout masks, ...).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from da.errors import ConfigError

log = logging.getLogger(__name__)


class StepSeed(L.Callback):
    """Seed torch, NumPy and ``random`` before each training step from ``(seed, step, rank)``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        step_seed = (self.seed * 1_000_003 + trainer.global_step * 101
                     + trainer.global_rank) % 2**32
        # not torch.manual_seed: before CUDA is initialized it queues a lazy CUDA seeding call
        # with a formatted stack trace each time (~1 ms, and a queue that grows every step)
        torch.default_generator.manual_seed(step_seed)
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(step_seed)
        np.random.seed(step_seed)
        random.seed(step_seed)


def resume_checkpoint(resume: Any, trainer: L.Trainer) -> str | None:
    """The checkpoint ``trainer.fit`` should resume from, given the ``resume`` config value.

    ``false``/``null``: none. ``true``: ``last.ckpt`` of this run's checkpoint folder if it exists
    (else a fresh start, logged), so a whole sweep can be re-launched with ``resume=true``. A path:
    that ``.ckpt`` file, or a run dir holding ``checkpoints/last.ckpt``; it must exist.
    """
    if resume in (None, False):
        return None
    if resume is True:
        callback = trainer.checkpoint_callback
        if callback is None or callback.dirpath is None:
            raise ConfigError("resume=true needs the checkpoint callback (callbacks=default) "
                              "that writes checkpoints/last.ckpt; or give resume=<path.ckpt>.")
        last = Path(callback.dirpath) / "last.ckpt"
        if not last.is_file():
            log.info("resume=true: no %s yet, starting from scratch", last)
            return None
        log.info("resuming from %s", last)
        return str(last)
    path = Path(str(resume)).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    if not path.is_file():
        raise ConfigError(f"resume={resume}: no checkpoint at {path}; give a .ckpt file or a run "
                          f"dir with checkpoints/last.ckpt, or resume=true.")
    log.info("resuming from %s", path)
    return str(path)
