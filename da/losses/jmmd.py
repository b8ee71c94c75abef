"""Joint maximum mean discrepancy (JMMD; Long et al., "Deep Transfer Learning with Joint
Adaptation Networks", ICML 2017, Eq. 8–9).

The joint distribution of the layers ``Z = (z¹, z²) = (f, softmax(logits))`` is compared through
the product of per-layer kernels,

    K(a, b) = Π_l k_l(a^l, b^l),   k_l(x, y) = (1/|M_l|) Σ_{μ∈M_l} exp(−||x − y||² / (2 (μ σ_l)²)),

where ``σ_l²`` is the median squared distance of layer ``l`` over the pooled source + target batch
(detached, :func:`da.losses.kernels.median_sq_dist`) and ``M_l`` the bandwidth multipliers of the
layer (default: ``0.25 … 4`` on the features, a single kernel on the predictions, as in the paper's
"multiple Gaussian kernels for the feature layer, a single one for the classifier layer").

The estimate is the **unbiased quadratic-time** one (:func:`da.losses.kernels.unbiased_mmd2`, as
in :mod:`da.losses.mmd` with ``K`` in place of the single-layer kernel), not the paper's
linear-time Eq. 9:

    JMMD²_u = 1/(m(m−1)) Σ_{i≠i'} K(s_i, s_i') + 1/(n(n−1)) Σ_{j≠j'} K(t_j, t_j')
              − 2 · mean_{i,j} K(s_i, t_j)

with the cross term over ``i ≠ j`` when ``m = n`` (Gretton et al. 2012, Eq. 3; exactly 0 for
identical batches) and ``k(x, x) = 1`` as the within term of a one-example domain. Mini-batches
are small, so the quadratic estimate costs little and has a much lower variance than Eq. 9.
The softmax outputs are not detached: the loss also trains the classifier, as in JAN.
Shapes: ``f_s`` ``(m, d)``, ``f_t`` ``(n, d)``, ``logits_s`` ``(m, k)``, ``logits_t`` ``(n, k)``
→ scalar (it can be slightly negative).
"""

from __future__ import annotations

from typing import Sequence

import torch

from da.losses.base import AlignmentLoss
from da.losses.kernels import (median_sq_dist, multi_gaussian_kernel, pairwise_sq_dists,
                               unbiased_mmd2)


def _check_multipliers(name: str, multipliers: Sequence[float]) -> tuple[float, ...]:
    if not multipliers or min(multipliers) <= 0:
        raise ValueError(f"JMMD {name} must be a non-empty list of positives, got {multipliers}")
    return tuple(float(m) for m in multipliers)


def jmmd2_unbiased(layers_s: Sequence[torch.Tensor], layers_t: Sequence[torch.Tensor],
                   multipliers: Sequence[Sequence[float]]) -> torch.Tensor:
    """Unbiased JMMD² with the product of per-layer multi-Gaussian kernels (module docstring).

    ``layers_s[l]`` ``(m, d_l)`` and ``layers_t[l]`` ``(n, d_l)``; ``multipliers[l]`` per layer.
    """
    if not (len(layers_s) == len(layers_t) == len(multipliers)) or not layers_s:
        raise ValueError("JMMD needs the same non-zero number of source layers, target layers "
                         "and multiplier lists")
    m = layers_s[0].shape[0]
    joint = None
    for z_s, z_t, mults in zip(layers_s, layers_t, multipliers):
        z = torch.cat([z_s, z_t])
        sq = pairwise_sq_dists(z, z)
        k = multi_gaussian_kernel(sq, median_sq_dist(sq), mults)
        joint = k if joint is None else joint * k
    return unbiased_mmd2(joint, m)


class JMMDLoss(AlignmentLoss):
    """JAN's joint MMD² over (features, softmax predictions).

    Args:
        multipliers: bandwidth multipliers of the feature-layer kernels (median-heuristic σ).
        prediction_multipliers: bandwidth multipliers of the prediction-layer kernels.
    """

    def __init__(self, multipliers: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
                 prediction_multipliers: Sequence[float] = (1.0,)) -> None:
        super().__init__()
        self.multipliers = _check_multipliers("multipliers", multipliers)
        self.prediction_multipliers = _check_multipliers("prediction_multipliers",
                                                         prediction_multipliers)

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor,
                logits_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return jmmd2_unbiased([f_s, torch.softmax(logits_s, 1)], [f_t, torch.softmax(logits_t, 1)],
                              [self.multipliers, self.prediction_multipliers])
