"""Domain-adversarial loss (DANN; Ganin et al., JMLR 2016, Eq. 18 / Algorithm 1).

A discriminator ``D`` predicts the domain (source 0, target 1) of gradient-reversed features:

    ℓ_DANN = −(1/(m+n)) [Σ_i log(1 − σ(D(R_λ(s_i)))) + Σ_j log σ(D(R_λ(t_j)))]

``D`` descends ℓ_DANN; through the reversal ``R_λ`` (identity forward, ``−λ·grad`` backward) the
encoder ascends it. λ follows a schedule of training progress, by default Ganin's
``2/(1+exp(−10 p)) − 1``. The loss owns its discriminator, so its parameters are optimized with
the model. Diagnostics: ``grl_coeff`` (λ) and ``disc_acc`` (domain accuracy of ``D``).

``objective="confusion"`` replaces the encoder's side of the game (``D``'s stays ℓ_DANN): instead
of ascending ℓ_DANN, which rewards features that ``D`` classifies confidently *wrong* (the two
domains swap sides of ``D``'s boundary and stay separable), the encoder descends the domain
confusion loss of Tzeng et al. (ICCV 2015, Eq. 5), the cross-entropy of ``D``'s output against
the uniform domain label ½:

    ℓ = ℓ_DANN(D on detached features) + λ · mean_i BCE(D(f_i), ½)   (no gradient to D from it)

which is smallest where ``D`` cannot tell the domains apart, not where it is fooled.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss
from da.nn.grl import grad_reverse
from da.nn.mlp import mlp
from da.schedules import GaninSchedule

#: the encoder's objectives of :class:`DANNLoss`
OBJECTIVES = ("reversal", "confusion")


class DANNLoss(AlignmentLoss):
    """Domain classifier on reversed features.

    Args:
        in_dim: feature size (``${encoder.out_dim}`` in config).
        hidden_dims: discriminator hidden sizes (``[]`` = logistic regression, as in the shallow
            DANN of the paper's Amazon experiments).
        coeff: schedule ``λ(progress)`` of the reversal coefficient.
        dropout: discriminator dropout.
        objective: the encoder's objective: ``"reversal"`` (the paper's gradient reversal) or
            ``"confusion"`` (the uniform-label domain confusion loss).
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int] = (100,),
                 coeff: Callable[[float], float] | None = None, dropout: float = 0.0,
                 objective: str = "reversal") -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"DANN objective must be one of {list(OBJECTIVES)}, got "
                             f"'{objective}'")
        self.discriminator = mlp(in_dim, list(hidden_dims), 1, "relu", dropout)
        self.coeff = coeff if coeff is not None else GaninSchedule()
        self.objective = objective

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, progress: float = 1.0,
                **kwargs) -> torch.Tensor:
        lam = self.coeff(progress)
        features = torch.cat([f_s, f_t])
        domains = torch.cat([f_s.new_zeros(f_s.shape[0]), f_t.new_ones(f_t.shape[0])])
        if self.objective == "reversal":
            logits = self.discriminator(grad_reverse(features, lam)).squeeze(-1)
            loss = F.binary_cross_entropy_with_logits(logits, domains)
        else:  # D learns on detached features; the encoder sees D through detached weights
            logits = self.discriminator(features.detach()).squeeze(-1)
            frozen = {name: p.detach() for name, p in self.discriminator.named_parameters()}
            confused = torch.func.functional_call(self.discriminator, frozen, (features,))
            loss = (F.binary_cross_entropy_with_logits(logits, domains)
                    + lam * F.binary_cross_entropy_with_logits(
                        confused.squeeze(-1), torch.full_like(domains, 0.5)))
        with torch.no_grad():
            accuracy = ((logits > 0).float() == domains).float().mean()
        self.diagnostics = {"grl_coeff": lam, "disc_acc": accuracy}
        return loss
