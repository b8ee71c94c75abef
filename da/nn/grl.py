"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016, Eq. 13).

Forward: ``R(x) = x``. Backward: ``dR/dx = -λ I``. The coefficient λ is an argument of each call,
so the schedule that sets it lives with the caller (it reads training progress), never in a hidden
step counter inside the layer.
"""

from __future__ import annotations

import torch
from torch import nn


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad_output, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the incoming gradient by ``-coeff``."""
    return _ReverseGrad.apply(x, float(coeff))


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse`; ``coeff`` is passed per call."""

    def forward(self, x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
        return grad_reverse(x, coeff)
