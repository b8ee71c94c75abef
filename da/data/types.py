"""Plain containers for a loaded domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: Modalities a domain can have; encoders declare which ones they accept.
MODALITIES = ("text", "vectors", "images")
#: The label of an example whose class is unknown (a target declared unlabeled).
UNLABELED = -1


@dataclass
class Split:
    """Inputs and integer labels of one part of a domain.

    Attributes:
        x: a list of strings (text), a 2-D float array or scipy sparse matrix (vectors), or an
            ``(n, c, h, w)`` float array (images).
        y: integer class indices, shape ``(n,)``; :data:`UNLABELED` (-1) for a part without
            labels (a target declared unlabeled).
        rows: optional position of each example in the file it was read from (0-based data
            rows), carried through :meth:`subset`; ``predictions.csv`` names examples by it.
    """

    x: Any
    y: np.ndarray
    rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        n = self.x.shape[0] if hasattr(self.x, "shape") else len(self.x)
        if n != len(self.y):
            raise ValueError(f"{n} inputs but {len(self.y)} labels")
        if self.rows is not None:
            self.rows = np.asarray(self.rows, dtype=np.int64)
            if len(self.rows) != n:
                raise ValueError(f"{n} inputs but {len(self.rows)} row numbers")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: Sequence[int] | np.ndarray) -> "Split":
        """Rows ``index`` of this split (works for lists, arrays and sparse matrices)."""
        index = np.asarray(index, dtype=np.int64)
        rows = None if self.rows is None else self.rows[index]
        if isinstance(self.x, list):
            return Split([self.x[i] for i in index], self.y[index], rows)
        return Split(self.x[index], self.y[index], rows)


@dataclass
class DomainData:
    """One loaded domain: a training part and a test part.

    As a source domain, ``train`` is labeled training data (a validation part is carved from it).
    As a target domain, ``train`` is used *without its labels* and ``test`` is the held-out
    evaluation set. The two parts never share an example.

    Attributes:
        name: the domain name used in run names and tables (``bow_books``, ``cr``, ...).
        modality: one of :data:`MODALITIES`.
        train: the training part.
        test: the test part; empty when the domain has no labels to test on (a target declared
            unlabeled without ``test_path``).
        classes: class names; label ``i`` means ``classes[i]``; empty: not declared (an
            unlabeled target takes the source's).
        notes: how the split was made, for the run log.
        labeled: whether ``train`` has labels (``False``: every ``train.y`` is
            :data:`UNLABELED`).
    """

    name: str
    modality: str
    train: Split
    test: Split
    classes: list[str] = field(default_factory=lambda: ["negative", "positive"])
    notes: str = ""
    labeled: bool = True
