"""Schedules of training progress ``p ∈ [0, 1]`` for alignment weights and reversal coefficients.

The `AlignmentModule` computes ``p = step / total_steps`` and passes it down; nothing here keeps
a step counter.
"""

from __future__ import annotations

import math


class Constant:
    """``w(p) = value``."""

    def __init__(self, value: float = 1.0) -> None:
        if value < 0:
            raise ValueError(f"a schedule value must be >= 0, got {value}")
        self.value = float(value)

    def __call__(self, progress: float) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class GaninSchedule:
    """``w(p) = value · (2 / (1 + exp(-γ p)) − 1)``, rising from 0 to ≈ value.

    Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016, Sec. 5.2.2
    (γ = 10): damps the noisy domain signal early in training. ``gamma=None`` turns the ramp off
    (``w(p) = value`` throughout, as :class:`Constant`), so that a config can drop the ramp of a
    method file by overriding one key (MCD's paper setting, conf/recipe/adda_digits/mcd.yaml).
    """

    def __init__(self, value: float = 1.0, gamma: float | None = 10.0) -> None:
        if value < 0 or (gamma is not None and gamma <= 0):
            raise ValueError(f"GaninSchedule needs value >= 0 and gamma > 0 (or None: no ramp), "
                             f"got {value}, {gamma}")
        self.value = float(value)
        self.gamma = None if gamma is None else float(gamma)

    def __call__(self, progress: float) -> float:
        if self.gamma is None:
            return self.value
        p = min(max(progress, 0.0), 1.0)
        return self.value * (2.0 / (1.0 + math.exp(-self.gamma * p)) - 1.0)

    def __repr__(self) -> str:
        return f"GaninSchedule(value={self.value}, gamma={self.gamma})"
