"""Plain containers for a loaded domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: Modalities a domain can have; encoders declare which ones they accept.
MODALITIES = ("text", "vectors", "images")


@dataclass
class Split:
    """Inputs and integer labels of one part of a domain.

    Attributes:
        x: a list of strings (text), a 2-D float array or scipy sparse matrix (vectors), or an
            ``(n, c, h, w)`` float array (images).
        y: integer class indices, shape ``(n,)``.
    """

    x: Any
    y: np.ndarray

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        n = self.x.shape[0] if hasattr(self.x, "shape") else len(self.x)
        if n != len(self.y):
            raise ValueError(f"{n} inputs but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: Sequence[int] | np.ndarray) -> "Split":
        """Rows ``index`` of this split (works for lists, arrays and sparse matrices)."""
        index = np.asarray(index, dtype=np.int64)
        if isinstance(self.x, list):
            return Split([self.x[i] for i in index], self.y[index])
        return Split(self.x[index], self.y[index])


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
        test: the test part.
        classes: class names; label ``i`` means ``classes[i]``.
        notes: how the split was made, for the run log.
    """

    name: str
    modality: str
    train: Split
    test: Split
    classes: list[str] = field(default_factory=lambda: ["negative", "positive"])
    notes: str = ""
