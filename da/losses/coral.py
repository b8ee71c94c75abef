"""Deep CORAL (Sun & Saenko, ECCV 2016 workshops, Eq. 1).

    ℓ_CORAL = ||C_S − C_T||²_F / (4 d²),   C = (Xᵀ X − (1ᵀ X)ᵀ (1ᵀ X) / n) / (n − 1)

with ``X`` the ``(n, d)`` features of a domain. A batch of one example has covariance 0 (the
``n − 1`` divisor is kept at least 1), so the loss stays finite.
"""

from __future__ import annotations

import torch

from da.losses.base import AlignmentLoss


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Unbiased feature covariance ``(d, d)`` of the rows of ``x`` (0 for a single row)."""
    centered = x - x.mean(0, keepdim=True)
    return centered.T @ centered / max(x.shape[0] - 1, 1)


def coral(f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
    """``||cov(f_s) − cov(f_t)||²_F / (4 d²)``."""
    d = f_s.shape[1]
    return (covariance(f_s) - covariance(f_t)).pow(2).sum() / (4.0 * d * d)


class CORALLoss(AlignmentLoss):
    """Second-order statistics alignment: squared Frobenius distance of the covariances."""

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return coral(f_s, f_t)
