"""Entropy minimization on the target (Grandvalet & Bengio, "Semi-supervised Learning by Entropy
Minimization", NIPS 17, 2005).

With ``p = softmax(logits_t)`` the ``(n, k)`` target class probabilities,

    ℓ_ent = −(1/n) Σ_j Σ_c p_jc log p_jc

the mean Shannon entropy (nats) of the target predictions: minimizing it pushes the decision
boundary away from dense target regions. It reads only ``logits_t`` ``(n, k)`` → scalar in
``[0, log k]``; ``log p`` comes from ``log_softmax``, so saturated logits stay finite.

Alone it has a trivial minimum: every target example confidently in one class. ``diversity=β``
subtracts β times the entropy of the mean prediction ``p̄ = (1/n) Σ_j p_j``,

    ℓ = ℓ_ent − β · (−Σ_c p̄_c log p̄_c)

the information-maximization objective (Gomes, Krause & Perona, NIPS 2010; used by SHOT, Liang
et al., ICML 2020), which rewards confident *and* class-diverse predictions. ``β = 0`` is plain
entropy minimization.
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
    """Mean entropy of the target predictions, minus ``diversity`` × the entropy of their mean.

    Args:
        diversity: β ≥ 0, weight of the class-diversity term (see module docstring).
    """

    def __init__(self, diversity: float = 0.0) -> None:
        super().__init__()
        if diversity < 0:
            raise ValueError(f"EntropyLoss diversity must be >= 0, got {diversity}")
        self.diversity = float(diversity)

    def forward(self, *, logits_t: torch.Tensor, **kwargs) -> torch.Tensor:
        loss = prediction_entropy(logits_t).mean()
        if self.diversity:
            mean_p = F.softmax(logits_t, dim=1).mean(0)
            loss = loss + self.diversity * (mean_p * mean_p.clamp_min(1e-12).log()).sum()
        return loss
