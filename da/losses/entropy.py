"""Entropy minimization on the target (Grandvalet & Bengio, "Semi-supervised Learning by Entropy
Minimization", NIPS 17, 2005).

With ``p = softmax(logits_t)`` the ``(n, k)`` target class probabilities,

    ℓ_ent = −(1/n) Σ_j Σ_c p_jc log p_jc

the mean Shannon entropy (nats) of the target predictions: minimizing it pushes the decision
boundary away from dense target regions. It reads only ``logits_t`` ``(n, k)`` → scalar in
``[0, log k]``; ``log p`` comes from ``log_softmax``, so saturated logits stay finite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss


def prediction_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Per-row entropy ``−Σ_c p_c log p_c`` of ``softmax(logits)``, shape ``(n,)``."""
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(1)


class EntropyLoss(AlignmentLoss):
    """Mean entropy of the target predictions (see module docstring)."""

    def forward(self, *, logits_t: torch.Tensor, **kwargs) -> torch.Tensor:
        return prediction_entropy(logits_t).mean()
