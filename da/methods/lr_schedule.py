"""Learning-rate schedules of training progress.

:class:`AnnealedLR` is the annealing of Ganin et al., "Domain-Adversarial Training of Neural
Networks", JMLR 2016, Sec. 5.2.2, used with SGD (momentum 0.9) in their experiments:

    μ_p = μ_0 / (1 + α p)^β,   α = 10, β = 0.75,   p = step / total_steps ∈ [0, 1]

Every parameter group keeps its own ``μ_0`` (e.g. a backbone at a scaled rate), so the schedule
multiplies each group's initial rate by the same factor.
"""

from __future__ import annotations

import torch


class AnnealedLR(torch.optim.lr_scheduler.LambdaLR):
    """Ganin's ``(1 + α p)^(−β)`` factor on every group's initial learning rate.

    Args:
        optimizer: the optimizer whose groups are annealed.
        total_steps: optimizer steps of the whole run (``p = step / total_steps``); filled in by
            the LightningModule from the Trainer's estimate.
        alpha: α (10 in the paper).
        beta: β (0.75 in the paper).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, alpha: float = 10.0,
                 beta: float = 0.75) -> None:
        if total_steps < 1 or alpha < 0 or beta < 0:
            raise ValueError(f"AnnealedLR needs total_steps >= 1, alpha >= 0 and beta >= 0, got "
                             f"{total_steps}, {alpha}, {beta}")
        self.total_steps, self.alpha, self.beta = int(total_steps), float(alpha), float(beta)
        super().__init__(optimizer, self.factor)

    def factor(self, step: int) -> float:
        """``(1 + α · min(step / total_steps, 1))^(−β)``."""
        progress = min(step / self.total_steps, 1.0)
        return (1.0 + self.alpha * progress) ** (-self.beta)


def needs_total_steps(factory: object) -> bool:
    """Whether a (partial) scheduler factory still needs ``total_steps`` (e.g. AnnealedLR)."""
    func = getattr(factory, "func", factory)
    keywords = getattr(factory, "keywords", {}) or {}
    return isinstance(func, type) and issubclass(func, AnnealedLR) and "total_steps" not in keywords
