"""Minimum class confusion (da/losses/mcc.py) against the float64 NumPy reference of
tests/losses/reference.py (explicit loops over classes): value, gradient (central finite
differences, example weights held constant), the temperature, its extremes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.losses import MCCLoss
from tests.losses.inputs import LOGIT_SHAPES, call_on_logits, one_hot_logits, random_logits
from tests.losses.reference import np_mcc, np_mcc_weights, numeric_grad


@pytest.mark.parametrize("temperature", [2.5, 1.0, 5.0])
@pytest.mark.parametrize("n,k", LOGIT_SHAPES)
def test_mcc_matches_reference(n, k, temperature):
    z = random_logits(n, k, seed=20 + n * k).requires_grad_(True)
    value = call_on_logits(MCCLoss(temperature), z)
    np.testing.assert_allclose(value.item(), np_mcc(z.detach().numpy(), temperature), rtol=1e-10)
    value.backward()
    zn = z.detach().numpy()
    fixed = np_mcc_weights(zn, temperature)  # the weights are constants of the step
    expected = numeric_grad(lambda v: np_mcc(v, temperature, fixed), zn)
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-5, atol=1e-9)


def test_mcc_default_temperature_is_the_papers():
    assert MCCLoss().temperature == 2.5
    z = random_logits(8, 3, seed=4)
    assert call_on_logits(MCCLoss(), z).item() == pytest.approx(np_mcc(z.numpy(), 2.5), rel=1e-10)


def test_mcc_extremes():
    # confident predictions never confuse two classes (even at T = 2.5 with a huge margin)
    confident = one_hot_logits([0, 1, 2, 1], 3)
    assert call_on_logits(MCCLoss(), confident).item() == pytest.approx(0.0, abs=1e-12)
    # uniform predictions: every normalized entry is 1/k -> (k − 1)/k
    assert call_on_logits(MCCLoss(), torch.zeros(5, 4, dtype=torch.float64)).item() == \
        pytest.approx(0.75)


def test_mcc_rejects_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        MCCLoss(0.0)
