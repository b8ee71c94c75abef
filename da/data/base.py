"""The interface every domain implements: a configured object that loads a :class:`DomainData`.

A domain's yaml (``conf/domain/<name>.yaml``) instantiates one of these classes, so ``source=cr``
and ``target=cr`` resolve to the same loader and the user's own domains plug in the same way.
"""

from __future__ import annotations

import abc
import os

import numpy as np

from da.data.splits import limit, stratified_split
from da.data.types import DomainData, Split
from da.errors import ConfigError, DataError


class DomainSource(abc.ABC):
    """A domain loader.

    Args:
        name: the domain name used in run names and result tables.
        split_seed: seed of the train/test split for corpora without an official one, and of
            ``max_examples`` subsampling. Kept apart from the run seed so the test set stays the
            same across seeds and methods.
        test_fraction: share of the examples held out as the test part when there is no
            official split.
        max_examples: if set, keep a stratified subset of at most this many examples in each
            part (for quick runs and tests).
    """

    modality: str = "text"
    #: True: :meth:`load` depends only on the settings (``vars(self)``) and the files it reads
    #: through :func:`da.data.io.read_bytes`, so sweep jobs of one process may share its result
    #: (:mod:`da.data.memo`). Off unless a class declares it.
    memoizable: bool = False
    #: Where the original data can be downloaded (named in "dataset missing" errors).
    home: str = ""
    #: Whether :meth:`load` gives a labeled test part (``False``: a target declared unlabeled,
    #: whose test part is empty; see :class:`da.data.files.TextFile`).
    has_test_labels: bool = True
    #: The user's own file (``file``, ``features``): ``predictions=auto`` writes predictions.csv.
    own_file: bool = False

    def __init__(
        self,
        name: str,
        split_seed: int = 0,
        test_fraction: float = 0.3,
        max_examples: int | None = None,
    ) -> None:
        if max_examples is not None and max_examples < 1:
            raise ConfigError(f"{name}.max_examples must be a positive number of examples or null "
                              f"(all of them), got {max_examples}.")
        if not 0.0 < test_fraction < 1.0:
            raise ConfigError(f"{name}.test_fraction must be in (0, 1), got {test_fraction}.")
        self.name = name
        self.split_seed = split_seed
        self.test_fraction = test_fraction
        self.max_examples = max_examples

    def load(self, data_dir: str | os.PathLike | None = None) -> DomainData:
        """Read the files under ``data_dir`` and return the (optionally subsampled) domain."""
        train, test, notes = self.read_parts(data_dir)
        for part, split in (("training", train), ("test", test)):
            if len(split) == 0 and (part == "training" or self.has_test_labels):
                raise DataError(f"domain '{self.name}' has no examples in its {part} part "
                                f"({notes or 'as read from its files'}); check its data files.")
        train = limit(train, self.max_examples, self.split_seed, self.name)
        test = limit(test, self.max_examples, self.split_seed, self.name)
        return DomainData(self.name, self.modality, train, test, notes=notes)

    def read_parts(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        """``(train, test, notes)``; the default splits :meth:`read_all` with a seeded split."""
        everything = self.read_all(data_dir)
        train_idx, test_idx = stratified_split(everything.y, self.test_fraction, self.split_seed)
        notes = (
            f"no official split: stratified {1 - self.test_fraction:.0%}/{self.test_fraction:.0%} "
            f"train/test split with split_seed={self.split_seed}"
        )
        return everything.subset(train_idx), everything.subset(test_idx), notes

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        """Every labeled example of a corpus that has no official split."""
        raise NotImplementedError(f"{type(self).__name__} must implement read_all or read_parts")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def labeled_texts(pos: list[str], neg: list[str]) -> Split:
    """A text split from positive and negative examples (labels: 0 = negative, 1 = positive)."""
    labels = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
    return Split(list(neg) + list(pos), labels)
