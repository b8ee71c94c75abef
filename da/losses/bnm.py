"""Batch nuclear-norm maximization (BNM; Cui et al., "Towards Discriminability and Diversity:
Batch Nuclear-norm Maximization under Label Insufficient Situations", CVPR 2020).

With ``A = softmax(logits_t)`` the ``(n, k)`` target prediction matrix of a batch,

    ℓ_BNM = −||A||_* / n,     ||A||_* = Σ_i σ_i(A)   (sum of singular values)

Maximizing the nuclear norm raises both the discriminability (confident rows: larger Frobenius
norm) and the diversity (more predicted classes: larger rank) of the target predictions. It reads
only ``logits_t`` ``(n, k)`` → scalar in ``[−√(min(n, k) / n), 0)``. The authors' code averages
the singular values instead (``−mean σ_i``, a ``min(n, k)/n`` rescaling); this follows the paper.
``torch.linalg.svdvals`` has stable gradients even for repeated singular values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss


def batch_nuclear_norm(logits: torch.Tensor) -> torch.Tensor:
    """``||softmax(logits)||_* / n`` for ``(n, k)`` logits."""
    probabilities = F.softmax(logits, dim=1)
    return torch.linalg.svdvals(probabilities).sum() / logits.shape[0]


class BNMLoss(AlignmentLoss):
    """Negative batch nuclear norm of the target predictions (see module docstring)."""

    def forward(self, *, logits_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return -batch_nuclear_norm(logits_t)
