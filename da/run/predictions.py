"""``predictions.csv``: the tested model's class for every target example.

Written at the end of a run (``predictions=auto``: when the target is the user's own file, with
labels or without; ``true``: always; ``false``: never) by the model that was tested — the
checkpoint the selection rule chose, else the last — so the file and ``metrics.json`` describe
the same model. One row per example of the target's training part (for an unlabeled target,
every row of its file) and, where the target has one, of its labeled test part:

    part,row,text,predicted,p_negative,p_positive
    target_train,0,"a gorgeous, witty film",positive,0.0812,0.9188

``part``: ``target_train`` or ``target_test``; ``row``: the example's 0-based data row in the file
it was read from (its position in the part for built-in corpora); ``text``: only for text
domains; ``predicted``: the class name with the highest probability; ``p_<class>``: the softmax
probability of each class. True labels are not written: the file is the model's output, not an
evaluation.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from da.data.datamodule import DomainPairDataModule
from da.errors import ConfigError
from da.selection.features import collect

log = logging.getLogger(__name__)

FILENAME = "predictions.csv"
CHOICES = ("auto", True, False)


def wanted(setting: Any, datamodule: DomainPairDataModule) -> bool:
    """Whether ``predictions=<setting>`` writes the file for this run (see the module docstring)."""
    if setting not in CHOICES:
        raise ConfigError(f"predictions={setting!r}: choose auto (the user's own target files), "
                          f"true (always) or false (never).")
    if setting == "auto":
        return not datamodule.target_labeled or datamodule.target.own_file
    return bool(setting)


def load_tested_weights(module: torch.nn.Module, ckpt_path: str | None) -> None:
    """Put the weights of checkpoint ``ckpt_path`` into ``module`` (``None``: keep the last)."""
    if ckpt_path is not None:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state)


def probabilities(module: Any, datamodule: DomainPairDataModule, part: str) -> np.ndarray:
    """``(n, classes)`` softmax probabilities of ``module`` on every row of ``part``."""
    logits = collect(module, datamodule, part, np.arange(len(datamodule.parts[part]))).logits
    if len(logits) == 0:
        return np.zeros((0, datamodule.num_classes))
    return softmax(logits)


def softmax(logits: Any) -> np.ndarray:
    """Row-wise softmax in float64 (probabilities that sum to 1 to print precision)."""
    return torch.softmax(torch.as_tensor(np.asarray(logits), dtype=torch.float64), dim=1).numpy()


@dataclass
class Labelled:
    """One part's predictions: ``part`` name, probabilities ``(n, classes)``, each example's row
    in its file and, for text, the texts."""

    part: str
    probs: np.ndarray
    rows: np.ndarray
    texts: list[str] | None = None


def write_csv(path: Path, classes: list[str], parts: list[Labelled]) -> int:
    """Write the rows of ``parts`` in the format of the module docstring; returns the count."""
    text = any(p.texts is not None for p in parts)
    header = ["part", "row"] + (["text"] if text else []) + ["predicted"] + \
        [f"p_{name}" for name in classes]
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for p in parts:
            for i, probs in enumerate(p.probs):
                out.writerow([p.part, int(p.rows[i])] + ([p.texts[i]] if text else []) +
                             [classes[int(probs.argmax())]] + [f"{q:.6g}" for q in probs])
            count += len(p.probs)
    return count


def write_predictions(module: Any, datamodule: DomainPairDataModule, path: Path) -> int:
    """Write ``predictions.csv`` for the target parts of ``datamodule``; returns its row count."""
    parts = []
    for part in ("target_train", "target_test"):
        if part not in datamodule.parts:
            continue
        probs = probabilities(module, datamodule, part)
        raw = datamodule.target_raw if part == "target_train" else datamodule.target_test_raw
        rows = raw.rows if raw.rows is not None else np.arange(len(probs))
        parts.append(Labelled(part, probs, rows, raw.x if isinstance(raw.x, list) else None))
    count = write_csv(path, list(datamodule.classes), parts)
    log.info("wrote %d target predictions to %s", count, path)
    return count
