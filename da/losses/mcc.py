"""Minimum class confusion (MCC; Jin et al., "Minimum Class Confusion for Versatile Domain
Adaptation", ECCV 2020, Sec. 3).

For target logits ``Z`` ``(B, k)`` and temperature ``T`` (2.5 in the paper):

    Ŷ_ij  = exp(Z_ij / T) / Σ_j' exp(Z_ij' / T)                        temperature scaling
    H_i   = −Σ_j Ŷ_ij log Ŷ_ij                                          uncertainty
    W_ii  = B (1 + exp(−H_i)) / Σ_i' (1 + exp(−H_i'))                    example weights
    C_jj' = Ŷ_·jᵀ W Ŷ_·j'                                               class correlation
    C̃_jj' = C_jj' / Σ_j'' C_jj''                                        category normalization
    ℓ_MCC = (1/k) Σ_j Σ_{j'≠j} |C̃_jj'|

Shapes: ``logits_t`` ``(B, k)`` → scalar in ``[0, 1)``. The weights ``W`` are constants of
the step (detached, as in the authors' code); all entries of ``C̃`` are non-negative, so
``|·|`` is the identity. ``C`` is symmetric, so the row normalization above and the column
normalization of the authors' code give the same ℓ_MCC. A class with no probability mass
at all (row sum 0 after underflow) has an all-zero row; its denominator is kept ≥ 1e-12.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss


def class_confusion(logits: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """``ℓ_MCC`` of ``(B, k)`` logits (see the module docstring)."""
    batch, classes = logits.shape
    log_p = F.log_softmax(logits / temperature, dim=1)
    p = log_p.exp()
    with torch.no_grad():
        entropy = -(p * log_p).sum(1)
        weight = 1.0 + torch.exp(-entropy)
        weight = batch * weight / weight.sum()
    confusion = (p * weight.unsqueeze(1)).T @ p
    confusion = confusion / confusion.sum(1, keepdim=True).clamp_min(1e-12)
    return (confusion.sum() - confusion.trace()) / classes


class MCCLoss(AlignmentLoss):
    """Class confusion of the target predictions (see module docstring).

    Args:
        temperature: the temperature ``T`` of Eq. 1 (the paper uses 2.5 on every benchmark).
    """

    def __init__(self, temperature: float = 2.5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"MCC temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, *, logits_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return class_confusion(logits_t, self.temperature)
