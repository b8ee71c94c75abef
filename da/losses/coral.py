"""Deep CORAL (Sun & Saenko, ECCV 2016 workshops, Eq. 1).

    ℓ_CORAL = ||C_S − C_T||²_F / (4 d²),   C = (Xᵀ X − (1ᵀ X)ᵀ (1ᵀ X) / n) / (n − 1)

with ``X`` the ``(n, d)`` features of a domain. A batch of one example has covariance 0 (the
``n − 1`` divisor is kept at least 1), so the loss stays finite.

The value scales with the fourth power of the features: on small features (e.g. an MLP on
L2-normalized sentence embeddings) it is ~1e-9 and training ignores it. ``scale_invariant=True``
divides the features by their pooled RMS deviation ``σ`` before the covariances:

    ℓ = ||C_S − C_T||²_F / (4 d² σ⁴),   σ² = (tr C_S + tr C_T) / (2 d)

which is unchanged when all features are multiplied by a constant. ``σ`` is part of the graph: with
it detached, shrinking the features would always lower the loss and the features collapse to 0.
"""

from __future__ import annotations

import torch

from da.losses.base import AlignmentLoss


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Unbiased feature covariance ``(d, d)`` of the rows of ``x`` (0 for a single row)."""
    centered = x - x.mean(0, keepdim=True)
    return centered.T @ centered / max(x.shape[0] - 1, 1)


def coral(f_s: torch.Tensor, f_t: torch.Tensor, scale_invariant: bool = False) -> torch.Tensor:
    """``||cov(f_s) − cov(f_t)||²_F / (4 d²)``, divided by ``σ⁴`` if ``scale_invariant``."""
    d = f_s.shape[1]
    c_s, c_t = covariance(f_s), covariance(f_t)
    loss = (c_s - c_t).pow(2).sum() / (4.0 * d * d)
    if scale_invariant:
        variance = (torch.diagonal(c_s).sum() + torch.diagonal(c_t).sum()) / (2 * d)
        loss = loss / variance.clamp_min(1e-12).pow(2)
    return loss


class CORALLoss(AlignmentLoss):
    """Second-order statistics alignment: squared Frobenius distance of the covariances.

    Args:
        scale_invariant: divide by ``σ⁴`` (the pooled feature variance, squared; see above).
    """

    def __init__(self, scale_invariant: bool = False) -> None:
        super().__init__()
        self.scale_invariant = bool(scale_invariant)

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return coral(f_s, f_t, self.scale_invariant)
