"""Batch nuclear-norm maximization (da/losses/bnm.py) against the float64 NumPy reference of
tests/losses/reference.py (``np.linalg.svd``): value, analytic gradient, its extremes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import BNMLoss
from tests.losses.inputs import LOGIT_SHAPES, call_on_logits, one_hot_logits, random_logits
from tests.losses.reference import np_bnm, np_bnm_grad


@pytest.mark.parametrize("n,k", LOGIT_SHAPES)
def test_bnm_matches_reference(n, k):
    z = random_logits(n, k, seed=10 + n * k).requires_grad_(True)
    value = call_on_logits(BNMLoss(), z)
    np.testing.assert_allclose(value.item(), np_bnm(z.detach().numpy()), rtol=1e-10)
    value.backward()
    np.testing.assert_allclose(z.grad.numpy(), np_bnm_grad(z.detach().numpy()),
                               rtol=1e-6, atol=1e-12)


def test_bnm_extremes():
    # confident and diverse: one-hot rows spread evenly over k classes -> σ_i = sqrt(n/k)
    diverse = one_hot_logits([0, 1, 2, 0, 1, 2], 3)
    assert call_on_logits(BNMLoss(), diverse).item() == pytest.approx(-math.sqrt(6 * 3) / 6,
                                                                      rel=1e-10)
    # collapsed onto one class: rank 1 -> −sqrt(n)/n, a higher (worse) loss
    collapsed = one_hot_logits([1] * 6, 3)
    assert call_on_logits(BNMLoss(), collapsed).item() == pytest.approx(-math.sqrt(6) / 6,
                                                                        rel=1e-10)
    # uniform predictions: A = 1/k everywhere, rank 1, ‖A‖_* = sqrt(n k)/k
    uniform = torch.zeros(6, 3, dtype=torch.float64)
    assert call_on_logits(BNMLoss(), uniform).item() == pytest.approx(-math.sqrt(18) / 3 / 6,
                                                                      rel=1e-10)
