"""A weighted sum of alignment losses, e.g. DANN + 0.1 · entropy (conf/method/dann_entropy.yaml).

    ℓ = Σ_c w_c(p) · ℓ_c(f_s, f_t, logits_s, logits_t, y_s, p)

Every component gets the full keyword contract of :mod:`da.losses.base` and returns a scalar;
a weight is a number or a schedule of training progress ``p`` (e.g. ``da.schedules.GaninSchedule``).
Components are registered as submodules, so their parameters (DANN's discriminator) are trained
with the model. Diagnostics are prefixed by the component name: ``<name>/loss`` (unweighted value),
``<name>/weight`` and every ``<name>/<key>`` the component reports, logged as
``train/align/<name>/<key>``.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import nn

from da.losses.base import AlignmentLoss

Weight = float | Callable[[float], float]


class WeightedSum(AlignmentLoss):
    """``Σ_c w_c(p) · ℓ_c`` over named component losses.

    Args:
        losses: ``{name: loss}``; names must be valid submodule names (no ``.``).
        weights: ``{name: number or schedule}``; a component without an entry has weight 1.
    """

    def __init__(self, losses: Mapping[str, nn.Module],
                 weights: Mapping[str, Weight] | None = None) -> None:
        super().__init__()
        losses = {str(name): loss for name, loss in dict(losses or {}).items()}
        weights = {str(name): w for name, w in dict(weights or {}).items()}
        if not losses:
            raise ValueError("WeightedSum needs at least one component loss in 'losses'")
        unknown = sorted(set(weights) - set(losses))
        if unknown:
            raise ValueError(f"WeightedSum weights {unknown} name no component loss; "
                             f"components: {sorted(losses)}")
        for name, loss in losses.items():
            if not callable(loss):
                raise ValueError(f"WeightedSum component '{name}' is {type(loss).__name__}, "
                                 f"not a loss (give it a _target_)")
        self.components = nn.ModuleDict(losses)
        self.weights = {name: weights.get(name, 1.0) for name in losses}

    def weight(self, name: str, progress: float) -> float:
        """The weight of component ``name`` at training progress ``progress``."""
        w = self.weights[name]
        return float(w(progress) if callable(w) else w)

    def forward(self, *, progress: float = 1.0, **kwargs) -> torch.Tensor:
        total, diagnostics = None, {}
        for name, loss in self.components.items():
            value = loss(progress=progress, **kwargs)
            weight = self.weight(name, progress)
            total = weight * value if total is None else total + weight * value
            diagnostics[f"{name}/loss"] = value.detach() if torch.is_tensor(value) else value
            diagnostics[f"{name}/weight"] = weight
            for key, item in (getattr(loss, "diagnostics", None) or {}).items():
                diagnostics[f"{name}/{key}"] = item
        self.diagnostics = diagnostics
        return total
