"""Entropy minimization (da/losses/entropy.py) against the float64 NumPy reference of
tests/losses/reference.py: value, analytic gradient, its extremes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import EntropyLoss
from tests.losses.inputs import LOGIT_SHAPES, call_on_logits, one_hot_logits, random_logits
from tests.losses.reference import np_entropy_grad, np_entropy_loss


@pytest.mark.parametrize("n,k", LOGIT_SHAPES)
def test_entropy_matches_reference(n, k):
    z = random_logits(n, k, seed=n * k).requires_grad_(True)
    value = call_on_logits(EntropyLoss(), z)
    np.testing.assert_allclose(value.item(), np_entropy_loss(z.detach().numpy()), rtol=1e-10)
    value.backward()
    np.testing.assert_allclose(z.grad.numpy(), np_entropy_grad(z.detach().numpy()),
                               rtol=1e-8, atol=1e-14)


def test_entropy_extremes():
    confident = one_hot_logits([0, 2, 1], 3)
    assert call_on_logits(EntropyLoss(), confident).item() == pytest.approx(0.0, abs=1e-12)
    uniform = torch.zeros(5, 4, dtype=torch.float64)
    assert call_on_logits(EntropyLoss(), uniform).item() == pytest.approx(math.log(4), rel=1e-12)
