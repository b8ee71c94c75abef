"""Seeded float64 batches for the loss tests, and calls with the full keyword contract of
da/losses/base.py (not a test module).

Three kinds of input, after what the losses read: features (MMD, CORAL, DANN), target logits
(entropy, BNM, MCC), features and logits (CDAN, JMMD).
"""

from __future__ import annotations

import torch
from torch import nn

from da.losses import CDANLoss, DANNLoss
from da.schedules import Constant


# --------------------------------------------------------------------------------------------
# Features: MMD, CORAL, DANN
# --------------------------------------------------------------------------------------------

# (m, n, d): unequal sizes; equal sizes (cross term over i != j); an odd number of pooled pairs
# (7 points -> 21 pairs, a unique median) next to even ones (12 points -> 66 pairs, where the
# lower-middle convention matters).
FEATURE_SHAPES = [(5, 7, 4), (6, 6, 4), (3, 4, 3), (1, 1, 2), (1, 8, 3), (8, 1, 3), (2, 2, 5)]


def feature_batches(m: int, n: int, d: int, seed: int = 0, shift: float = 0.5):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.randn(m, d, generator=g, dtype=torch.float64)
    f_t = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + shift
    return f_s, f_t


def call_on_features(loss: nn.Module, f_s: torch.Tensor, f_t: torch.Tensor,
                     **extra) -> torch.Tensor:
    """Call a loss with the full keyword contract of da/losses/base.py."""
    m, n, k = f_s.shape[0], f_t.shape[0], 3
    logits_s = torch.zeros(m, k, dtype=f_s.dtype)
    logits_t = torch.zeros(n, k, dtype=f_s.dtype)
    y_s = torch.zeros(m, dtype=torch.long)
    kwargs = dict(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s, progress=1.0)
    kwargs.update(extra)
    return loss(**kwargs)


def make_dann(d: int, hidden=(8,), coeff=None, seed: int = 0) -> DANNLoss:
    torch.manual_seed(seed)
    return DANNLoss(in_dim=d, hidden_dims=hidden, coeff=coeff).double()


# --------------------------------------------------------------------------------------------
# Target logits: entropy, BNM, MCC
# --------------------------------------------------------------------------------------------

# (n, k): more rows than classes, fewer rows than classes, a single row, binary.
LOGIT_SHAPES = [(8, 3), (3, 5), (1, 4), (6, 2), (16, 7)]


def random_logits(n: int, k: int, seed: int = 0, scale: float = 2.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g, dtype=torch.float64) * scale


def call_on_logits(loss, logits_t: torch.Tensor, **extra) -> torch.Tensor:
    """The full keyword contract of da/losses/base.py around target logits."""
    n, k = logits_t.shape
    dtype = logits_t.dtype
    kwargs = dict(f_s=torch.zeros(3, 4, dtype=dtype), f_t=torch.zeros(n, 4, dtype=dtype),
                  logits_s=torch.zeros(3, k, dtype=dtype), logits_t=logits_t,
                  y_s=torch.zeros(3, dtype=torch.long), progress=0.5)
    kwargs.update(extra)
    return loss(**kwargs)


def one_hot_logits(classes: list[int], k: int, margin: float = 1e4) -> torch.Tensor:
    z = torch.zeros(len(classes), k, dtype=torch.float64)
    z[torch.arange(len(classes)), torch.tensor(classes)] = margin
    return z


# --------------------------------------------------------------------------------------------
# Features and logits: CDAN, JMMD
# --------------------------------------------------------------------------------------------

# (m, n, d, k)
CONDITIONAL_SHAPES = [(5, 7, 4, 3), (6, 6, 4, 2), (3, 4, 3, 4), (1, 1, 2, 2), (1, 6, 3, 3),
                      (6, 1, 3, 3)]


def conditional_batches(m: int, n: int, d: int, k: int, seed: int = 0, scale: float = 2.0):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.randn(m, d, generator=g, dtype=torch.float64)
    f_t = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + 0.5
    logits_s = torch.randn(m, k, generator=g, dtype=torch.float64) * scale
    logits_t = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    return f_s, f_t, logits_s, logits_t


def call_conditional(loss, f_s, f_t, logits_s, logits_t, progress: float = 1.0):
    y_s = torch.zeros(f_s.shape[0], dtype=torch.long)
    return loss(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s,
                progress=progress)


def make_cdan(d: int, k: int, entropy: bool = False, hidden=(8,), seed: int = 0,
              **kw) -> CDANLoss:
    coeff = kw.pop("coeff", Constant(1.0))
    torch.manual_seed(seed)
    return CDANLoss(in_dim=d, num_classes=k, hidden_dims=hidden, entropy_conditioning=entropy,
                    coeff=coeff, **kw).double()


def as_numpy(*tensors):
    return [t.detach().double().numpy() for t in tensors]
