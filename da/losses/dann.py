"""Domain-adversarial loss (DANN; Ganin et al., JMLR 2016, Eq. 18 / Algorithm 1).

A discriminator ``D`` predicts the domain (source 0, target 1) of gradient-reversed features:

    ℓ_DANN = −(1/(m+n)) [Σ_i log(1 − σ(D(R_λ(s_i)))) + Σ_j log σ(D(R_λ(t_j)))]

``D`` descends ℓ_DANN; through the reversal ``R_λ`` (identity forward, ``−λ·grad`` backward) the
encoder ascends it. λ follows a schedule of training progress, by default Ganin's
``2/(1+exp(−10 p)) − 1``. The loss owns its discriminator, so its parameters are optimized with
the model. Diagnostics: ``grl_coeff`` (λ) and ``disc_acc`` (domain accuracy of ``D``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss
from da.nn.grl import grad_reverse
from da.nn.mlp import mlp
from da.schedules import GaninSchedule


class DANNLoss(AlignmentLoss):
    """Domain classifier on reversed features.

    Args:
        in_dim: feature size (``${encoder.out_dim}`` in config).
        hidden_dims: discriminator hidden sizes (``[]`` = logistic regression, as in the shallow
            DANN of the paper's Amazon experiments).
        coeff: schedule ``λ(progress)`` of the reversal coefficient.
        dropout: discriminator dropout.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int] = (100,),
                 coeff: Callable[[float], float] | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.discriminator = mlp(in_dim, list(hidden_dims), 1, "relu", dropout)
        self.coeff = coeff if coeff is not None else GaninSchedule()

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, progress: float = 1.0,
                **kwargs) -> torch.Tensor:
        lam = self.coeff(progress)
        features = grad_reverse(torch.cat([f_s, f_t]), lam)
        logits = self.discriminator(features).squeeze(-1)
        domains = torch.cat([f_s.new_zeros(f_s.shape[0]), f_t.new_ones(f_t.shape[0])])
        loss = F.binary_cross_entropy_with_logits(logits, domains)
        with torch.no_grad():
            accuracy = ((logits > 0).float() == domains).float().mean()
        self.diagnostics = {"grl_coeff": lam, "disc_acc": accuracy}
        return loss
