"""Multi-kernel maximum mean discrepancy (Gretton et al., JMLR 2012; Long et al., DAN, ICML 2015).

With ``k = (1/K) Σ_m exp(−||a − b||² / (2 (m σ)²))``, σ² the median squared distance of the pooled
batch and ``m`` the multipliers, the unbiased estimate of MMD² is

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(s_i, s_j) + 1/(n(n−1)) Σ_{i≠j} k(t_i, t_j) − 2 · mean k(s_i, t_j)

(Gretton et al. 2012, Lemma 6; :func:`da.losses.kernels.unbiased_mmd2`). When ``m = n`` the
cross term averages over ``i ≠ j`` only, as in their Eq. 3; this is still unbiased and makes the
estimate exactly 0 for identical batches. With a batch of one example a domain's within-term falls
back to ``k(x, x) = 1``.
Shapes: ``f_s`` ``(m, d)``, ``f_t`` ``(n, d)`` → scalar (it can be slightly negative).
"""

from __future__ import annotations

from typing import Sequence

import torch

from da.losses.base import AlignmentLoss
from da.losses.kernels import (median_sq_dist, multi_gaussian_kernel, pairwise_sq_dists,
                               unbiased_mmd2)


def mmd2_unbiased(f_s: torch.Tensor, f_t: torch.Tensor,
                  multipliers: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> torch.Tensor:
    """Unbiased multi-kernel MMD² between the rows of ``f_s`` and ``f_t`` (see module docstring)."""
    m = f_s.shape[0]
    z = torch.cat([f_s, f_t])
    sq = pairwise_sq_dists(z, z)
    return unbiased_mmd2(multi_gaussian_kernel(sq, median_sq_dist(sq), multipliers), m)


class MMDLoss(AlignmentLoss):
    """Multi-kernel Gaussian MMD² between source and target features.

    Args:
        multipliers: bandwidth multipliers applied to the median-heuristic σ.
    """

    def __init__(self, multipliers: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> None:
        super().__init__()
        if not multipliers or min(multipliers) <= 0:
            raise ValueError(f"MMD multipliers must be a non-empty list of positives, got {multipliers}")
        self.multipliers = tuple(float(m) for m in multipliers)

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return mmd2_unbiased(f_s, f_t, self.multipliers)
