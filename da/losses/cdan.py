"""Conditional domain-adversarial loss (CDAN and CDAN+E; Long et al., NeurIPS 2018).

The discriminator ``D`` sees the features conditioned on the (detached) class predictions
``g = softmax(logits)`` through a multilinear map ``T``, behind a gradient reversal ``R_λ``:

    h_i = T(f_i, g_i),   T⊗(f, g) = vec(g ⊗ f) = [g_c · f_j]_{c, j}         (size k · d, Eq. 4)
    T⊙(f, g) = (R_f f) ⊙ (R_g g) / sqrt(d_out)                               (Eq. 5, randomized)

``T⊙`` replaces ``T⊗`` when ``d · k`` exceeds ``max_multilinear_dim`` (default 4096): ``R_f``
``(d, d_out)`` and ``R_g`` ``(k, d_out)`` are fixed standard-Gaussian matrices drawn once from
``seed`` and registered as buffers (saved with the model, never trained), ``d_out = random_dim``
(default 1024), so that ``E[<T⊙(f, g), T⊙(f', g')>] = <T⊗(f, g), T⊗(f', g')>``. The flattening
order of ``T⊗`` (class-major, ``index = c · d + j``) and the ``1/sqrt(d_out)`` scaling follow the
authors' code (thuml/CDAN, ``torch.bmm(softmax.unsqueeze(2), feature.unsqueeze(1))`` and
``RandomLayer``).

Domain labels are source 0, target 1 (as in :mod:`da.losses.dann`), ``ℓ_b = BCE(D(R_λ(h_b)), y_b)``:

    CDAN:    ℓ = (1/(m+n)) Σ_b ℓ_b
    CDAN+E:  w_b = 1 + exp(−H(g_b)),  H(g) = −Σ_c g_c log g_c,
             ℓ = ½ [Σ_{i∈S} (w_i / Σ_{i'∈S} w_{i'}) ℓ_i + Σ_{j∈T} (w_j / Σ_{j'∈T} w_{j'}) ℓ_j]

i.e. the weights are normalized to sum to one within each domain and the total is divided by
their sum (2), as in the authors' ``CDAN(..., entropy=...)``. Unlike the authors' code, which lets
the entropy weights pass a (reversed) gradient into the classifier, the weights here are constants
of the step (computed from the detached ``g``), as in most reimplementations. ``λ`` follows a
schedule of training progress (default Ganin's ``2/(1+exp(−10 p)) − 1``, the authors'
``calc_coeff``). Diagnostics: ``grl_coeff`` (λ), ``disc_acc`` (domain accuracy of ``D``) and,
for CDAN+E, ``weight_min``/``weight_max`` (the raw ``w_b`` range, in ``[1, 2]``).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from da.losses.base import AlignmentLoss
from da.nn.grl import grad_reverse
from da.nn.mlp import mlp
from da.schedules import GaninSchedule


def multilinear_map(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``vec(g ⊗ f)``: ``(N, d)``, ``(N, k)`` → ``(N, k · d)``, entry ``c · d + j = g_c f_j``."""
    return (g.unsqueeze(2) * f.unsqueeze(1)).reshape(f.shape[0], -1)


def entropy_weights(g: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``w = 1 + exp(−H(g))`` per row of probabilities ``g`` ``(N, k)`` → ``(N,)``."""
    h = -(g * torch.log(g.clamp_min(eps))).sum(1)
    return 1.0 + torch.exp(-h)


class CDANLoss(AlignmentLoss):
    """Domain discriminator on the multilinear map of features and predictions.

    Args:
        in_dim: feature size ``d`` (``${encoder.out_dim}`` in config).
        num_classes: number of classes ``k``; filled from the data by ``da.run.build.build_model``
            when the config leaves it missing (``???``).
        hidden_dims: discriminator hidden sizes.
        coeff: schedule ``λ(progress)`` of the reversal coefficient.
        dropout: discriminator dropout.
        entropy_conditioning: CDAN+E (entropy-weighted examples) instead of CDAN.
        randomized: ``None`` = use the randomized map when ``d · k > max_multilinear_dim``;
            ``True`` / ``False`` forces it on / off.
        max_multilinear_dim: the threshold on ``d · k``.
        random_dim: output size ``d_out`` of the randomized map.
        seed: seed of the fixed random matrices ``R_f``, ``R_g``.
    """

    def __init__(self, in_dim: int, num_classes: int, hidden_dims: Sequence[int] = (100,),
                 coeff: Callable[[float], float] | None = None, dropout: float = 0.0,
                 entropy_conditioning: bool = False, randomized: bool | None = None,
                 max_multilinear_dim: int = 4096, random_dim: int = 1024, seed: int = 0) -> None:
        super().__init__()
        if in_dim < 1 or num_classes < 1 or random_dim < 1:
            raise ValueError(f"CDAN needs in_dim, num_classes and random_dim >= 1, got "
                             f"{in_dim}, {num_classes}, {random_dim}")
        self.in_dim, self.num_classes = int(in_dim), int(num_classes)
        self.entropy_conditioning = bool(entropy_conditioning)
        self.randomized = (in_dim * num_classes > max_multilinear_dim if randomized is None
                           else bool(randomized))
        self.random_dim = int(random_dim)
        if self.randomized:
            gen = torch.Generator().manual_seed(int(seed))
            self.register_buffer("random_f", torch.randn(in_dim, random_dim, generator=gen))
            self.register_buffer("random_g", torch.randn(num_classes, random_dim, generator=gen))
            disc_in = random_dim
        else:
            self.random_f = self.random_g = None
            disc_in = in_dim * num_classes
        self.discriminator = mlp(disc_in, list(hidden_dims), 1, "relu", dropout)
        self.coeff = coeff if coeff is not None else GaninSchedule()

    def conditioning_map(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``T(f, g)``: the multilinear map, or its randomized version (see module docstring)."""
        if g.shape[1] != self.num_classes or f.shape[1] != self.in_dim:
            raise ValueError(f"CDAN was built for {self.in_dim} features x {self.num_classes} "
                             f"classes but got features {tuple(f.shape)}, logits {tuple(g.shape)}")
        if not self.randomized:
            return multilinear_map(f, g)
        r_f, r_g = self.random_f.to(f.dtype), self.random_g.to(g.dtype)
        return (f @ r_f) * (g @ r_g) / math.sqrt(self.random_dim)

    def forward(self, *, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor,
                logits_t: torch.Tensor, progress: float = 1.0, **kwargs) -> torch.Tensor:
        lam = self.coeff(progress)
        f = torch.cat([f_s, f_t])
        g = torch.softmax(torch.cat([logits_s, logits_t]).detach(), dim=1)
        h = grad_reverse(self.conditioning_map(f, g), lam)
        logits = self.discriminator(h).squeeze(-1)
        m = f_s.shape[0]
        domains = torch.cat([f_s.new_zeros(m), f_t.new_ones(f_t.shape[0])])
        diagnostics: dict[str, float | torch.Tensor] = {"grl_coeff": lam}
        if self.entropy_conditioning:
            w = entropy_weights(g)
            weights = torch.cat([w[:m] / w[:m].sum(), w[m:] / w[m:].sum()])
            per_example = F.binary_cross_entropy_with_logits(logits, domains, reduction="none")
            loss = (weights * per_example).sum() / weights.sum()
            diagnostics.update(weight_min=w.min(), weight_max=w.max())
        else:
            loss = F.binary_cross_entropy_with_logits(logits, domains)
        with torch.no_grad():
            diagnostics["disc_acc"] = ((logits > 0).float() == domains).float().mean()
        self.diagnostics = diagnostics
        return loss
