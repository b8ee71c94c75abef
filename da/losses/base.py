"""The alignment-loss contract.

An alignment loss is an ``nn.Module`` called with keyword arguments only::

    loss = criterion(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s,
                     progress=progress)

* ``f_s`` ``(m, d)`` and ``f_t`` ``(n, d)``: source and target features (``m`` may differ from ``n``);
* ``logits_s`` ``(m, k)``, ``logits_t`` ``(n, k)``: classifier outputs;
* ``y_s`` ``(m,)``: source labels (target labels are never passed);
* ``progress``: training progress in ``[0, 1]`` for any schedule the loss needs.

It takes what it needs, ignores the rest (``**kwargs``) and returns a scalar (0-d) tensor; the
training step stops with an error naming the loss class if it does not, or if the value is
NaN/Inf. It may own parameters (optimized with the model) and may fill ``self.diagnostics`` with
floats or 0-d tensors that the module logs as ``train/align/<key>``.

``supports_gather`` (class attribute, default ``True``) says whether the loss may be computed on
the global batch gathered from all DDP ranks (``method.gather: true``, docs/MULTIGPU.md). Set it
to ``False`` for a loss that must only see this rank's examples (e.g. one that keeps per-rank
state or indexes a rank-local memory bank); ``gather: true`` with such a loss is a config error.

:class:`AlignmentCriterion` spells this contract as a :class:`typing.Protocol` for type checkers;
:class:`AlignmentLoss` is a convenient base class that satisfies it. See docs/EXTENDING.md for a
loss written outside the package.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class AlignmentCriterion(Protocol):
    """What `AlignmentModule` calls: keyword arguments in, a scalar tensor out.

    Any callable with this signature fits (an ``nn.Module`` so that its parameters, if any, are
    trained with the model). An optional ``diagnostics: dict[str, float | torch.Tensor]``
    attribute, refreshed on each call, is logged as ``train/align/<key>``.
    """

    def __call__(self, *, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor,
                 logits_t: torch.Tensor, y_s: torch.Tensor, progress: float,
                 **kwargs: Any) -> torch.Tensor:
        """Return the alignment loss, a 0-d tensor differentiable w.r.t. what it reads."""
        ...


class AlignmentLoss(nn.Module):
    """Base class: subclasses implement :meth:`forward` with the keyword contract above."""

    #: whether the loss may be computed on the batch gathered from all ranks (``method.gather``)
    supports_gather: bool = True

    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: dict[str, float | torch.Tensor] = {}

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, **kwargs) -> torch.Tensor:
        raise NotImplementedError
