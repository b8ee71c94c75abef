"""Encoder features and class logits of a trained module on (a subset of) one data part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from torch.utils.data import DataLoader, Subset

from da.data.batching import ArrayDataset
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


def class_logits(module: Any, features: torch.Tensor) -> torch.Tensor:
    """Logits the module predicts from encoder features: ``head(f)``, or for a module with two
    heads (MCD: ``head_logits`` + ``ensemble``) the ensemble of both."""
    if hasattr(module, "head_logits") and hasattr(module, "ensemble"):
        return module.ensemble(*module.head_logits(features))
    return module.head(features)


def check_module(module: Any) -> None:
    """Raise a ConfigError if the module has no ``encoder`` and ``head`` to read features from."""
    if not (hasattr(module, "encoder") and hasattr(module, "head")):
        raise ConfigError(f"model selection and diagnostics need a module with `encoder` and "
                          f"`head` (AlignmentModule and its subclasses); "
                          f"{type(module).__name__} has not: set selection=last "
                          f"validators.enabled=false diagnostics.a_distance=false "
                          f"diagnostics.embedding_plot=false.")


def _batches(datamodule: DomainPairDataModule, part: str, index: np.ndarray,
             batch_size: int) -> Iterator[tuple[Any, torch.Tensor]]:
    """``(inputs, labels)`` batches of rows ``index``: tensor parts are sliced directly, others
    go through a DataLoader with the datamodule's collate function (text, token states)."""
    split = datamodule.parts[part]
    labels = torch.as_tensor(split.y)
    if isinstance(split.x, torch.Tensor) and datamodule.collate_fn is None:
        for start in range(0, len(index), batch_size):
            rows = torch.as_tensor(index[start:start + batch_size])
            yield split.x[rows], labels[rows]
        return
    dataset = Subset(ArrayDataset(split.x, labels), index.tolist())
    yield from DataLoader(dataset, batch_size=batch_size, shuffle=False,
                          collate_fn=datamodule.collate_fn)


@torch.no_grad()
def collect(module: Any, datamodule: DomainPairDataModule, part: str, index: np.ndarray,
            batch_size: int = 256) -> Outputs:
    """Features, logits and labels of rows ``index`` of ``datamodule.parts[part]``.

    The module is put in eval mode for the pass and restored afterwards; the labels are those
    stored with the part (for the target training part they are never used for selection).
    """
    check_module(module)
    was_training = module.training
    module.eval()
    feats, logits, labels = [], [], []
    try:
        for x, y in _batches(datamodule, part, index, max(batch_size, datamodule.batch_size)):
            f = module.encoder(move_data_to_device(x, module.device))
            feats.append(f.float().cpu())
            logits.append(class_logits(module, f).float().cpu())
            labels.append(y)
    finally:
        module.train(was_training)
    if not labels:
        return Outputs(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32),
                       np.zeros(0, np.int64))
    return Outputs(torch.cat(feats).numpy(), torch.cat(logits).numpy(), torch.cat(labels).numpy())
