"""Seeded, stratified splits, shared by every corpus that ships without an official split."""

from __future__ import annotations

import numpy as np

from da.data.types import Split
from da.errors import ConfigError


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified ``(train, test)`` split with ``test_fraction`` of the rows in test.

    The same ``(labels, test_fraction, seed)`` always gives the same split, so the test set of a
    domain stays fixed across runs and methods.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    index = np.arange(len(y))
    from sklearn.model_selection import train_test_split  # ~1 s to import: only when used
    train, test = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


def limit(split: Split, max_examples: int | None, seed: int, name: str = "domain") -> Split:
    """A stratified subset of at most ``max_examples`` rows (all rows if ``None`` or larger)."""
    if max_examples is None or len(split) <= max_examples:
        return split
    n_classes = len(np.unique(split.y))
    if max_examples < n_classes:
        raise ConfigError(f"{name}.max_examples={max_examples} is fewer than its {n_classes} "
                          f"classes: a stratified subset needs at least one example per class; "
                          f"raise it to >= {n_classes} or null.")
    keep, _ = stratified_split(split.y, 1.0 - max_examples / len(split), seed)
    return split.subset(keep)
