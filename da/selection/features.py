"""Encoder features and class logits of a trained module on (a subset of) one data part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device

from da.data.datamodule import DomainPairDataModule
from da.errors import ConfigError


@dataclass
class Outputs:
    """Per-example encoder features, class logits and (stored) labels of one data part."""

    features: np.ndarray
    logits: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def subset_index(n: int, max_samples: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``min(n, max_samples)`` of ``range(n)``."""
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))


def check_module(module: Any) -> None:
    """Raise a ConfigError if the module has no ``encoder`` and ``classify`` to read features
    and logits from."""
    if not (hasattr(module, "encoder") and hasattr(module, "classify")):
        raise ConfigError(f"model selection and diagnostics need a module with `encoder` and "
                          f"`classify` (AlignmentModule and its subclasses); "
                          f"{type(module).__name__} has not: set selection=last "
                          f"validators.enabled=false diagnostics.a_distance=false "
                          f"diagnostics.embedding_plot=false.")


@torch.no_grad()
def collect(module: Any, datamodule: DomainPairDataModule, part: str, index: np.ndarray,
            batch_size: int = 256) -> Outputs:
    """Features, logits and labels of rows ``index`` of ``datamodule.parts[part]``.

    The module is put in eval mode for the pass and restored afterwards; the labels are those
    stored with the part (for the target training part they are never used for selection).
    The global CPU random state is restored too (a DataLoader draws its base seed from it), so
    the pass leaves no trace in a training that does not re-seed before each step; da-train's
    own runs re-seed anyway (:class:`da.run.resume.StepSeed`).
    """
    check_module(module)
    was_training = module.training
    module.eval()
    feats, logits, labels = [], [], []
    try:
        with torch.random.fork_rng(devices=[]):
            loader = datamodule.loader(part, index=index,
                                       batch_size=max(batch_size, datamodule.batch_size))
            for x, y in loader:
                f = module.encoder(move_data_to_device(x, module.device))
                feats.append(f.float().cpu())
                logits.append(module.classify(f).float().cpu())
                labels.append(y)
    finally:
        module.train(was_training)
    if not labels:
        return Outputs(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32),
                       np.zeros(0, np.int64))
    return Outputs(torch.cat(feats).numpy(), torch.cat(logits).numpy(), torch.cat(labels).numpy())
