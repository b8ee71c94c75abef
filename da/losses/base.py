"""The alignment-loss contract.

An alignment loss is an ``nn.Module`` called with keyword arguments only::

    loss = criterion(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s,
                     progress=progress)

* ``f_s`` ``(m, d)`` and ``f_t`` ``(n, d)``: source and target features (``m`` may differ from ``n``);
* ``logits_s`` ``(m, k)``, ``logits_t`` ``(n, k)``: classifier outputs;
* ``y_s`` ``(m,)``: source labels (target labels are never passed);
* ``progress``: training progress in ``[0, 1]`` for any schedule the loss needs.

It takes what it needs, ignores the rest (``**kwargs``) and returns a scalar tensor. It may own
parameters (optimized with the model) and may fill ``self.diagnostics`` with floats or 0-d tensors that the
module logs as ``train/align/<key>``.
"""

from __future__ import annotations

import torch
from torch import nn


class AlignmentLoss(nn.Module):
    """Base class: subclasses implement :meth:`forward` with the keyword contract above."""

    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: dict[str, float | torch.Tensor] = {}

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, **kwargs) -> torch.Tensor:
        raise NotImplementedError
