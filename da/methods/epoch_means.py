"""Per-epoch means of step values, kept on the module instead of logged every step.

Lightning's ``self.log(..., on_epoch=True)`` costs ~0.5 ms per call on CPU (it walks and
copies its result collection); with 7 training metrics per step that is most of the step time
of a small model. :class:`EpochMeans` keeps running weighted sums of detached tensors and the
module logs their means once per epoch — the same numbers ``on_epoch=True`` gives (means
weighted by batch size), for ~0.01 ms per step.
"""

from __future__ import annotations

from typing import Mapping

import torch


class EpochMeans:
    """Running ``Σ w·v / Σ w`` per name."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.weights: dict[str, float] = {}

    def add(self, values: Mapping[str, torch.Tensor | float], weight: float = 1.0) -> None:
        for name, value in values.items():
            value = torch.as_tensor(value).detach().float() * weight
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.weights[name] = self.weights.get(name, 0.0) + weight

    def pop(self) -> dict[str, torch.Tensor]:
        """The means so far; starts a new epoch."""
        means = {name: total / self.weights[name] for name, total in self.sums.items()}
        self.sums, self.weights = {}, {}
        return means
