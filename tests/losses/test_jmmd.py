"""JMMD (da/losses/jmmd.py) against the float64 NumPy reference of tests/losses/reference.py
(kernel sums over ``i ≠ j`` with explicit masks): value, zero for identical batches, what the
prediction kernel adds to the feature MMD, gradients."""

from __future__ import annotations

import pytest
import torch

from da.losses import JMMDLoss
from da.losses.mmd import mmd2_unbiased
from tests.losses.inputs import CONDITIONAL_SHAPES, as_numpy, call_conditional, conditional_batches
from tests.losses.reference import MULTIPLIERS, np_jmmd2, np_softmax


@pytest.mark.parametrize("m,n,d,k", CONDITIONAL_SHAPES + [(7, 5, 3, 2)])
@pytest.mark.parametrize("pred_mults", [(1.0,), (0.5, 1.0, 2.0)])
def test_jmmd_matches_numpy_reference(m, n, d, k, pred_mults):
    loss = JMMDLoss(prediction_multipliers=pred_mults)
    f_s, f_t, l_s, l_t = conditional_batches(m, n, d, k, scale=1.0)
    value = call_conditional(loss, f_s, f_t, l_s, l_t)
    xs, xt, ls, lt = as_numpy(f_s, f_t, l_s, l_t)
    ref = np_jmmd2([xs, np_softmax(ls)], [xt, np_softmax(lt)], [MULTIPLIERS, pred_mults])
    assert value.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n,d,k", [(2, 3, 2), (5, 4, 3), (8, 2, 4)])
def test_jmmd_identical_batches_is_zero(n, d, k):
    f, _, logits, _ = conditional_batches(n, n, d, k)
    value = call_conditional(JMMDLoss(), f, f.clone(), logits, logits.clone())
    assert abs(value.item()) < 1e-12


def test_jmmd_with_constant_predictions_is_feature_mmd():
    # equal predictions everywhere: the prediction kernel is 1, JMMD = MMD of the features
    f_s, f_t, _, _ = conditional_batches(5, 7, 4, 3)
    zeros_s, zeros_t = (torch.zeros(b, 3, dtype=torch.float64) for b in (5, 7))
    value = call_conditional(JMMDLoss(), f_s, f_t, zeros_s, zeros_t)
    assert value.item() == pytest.approx(mmd2_unbiased(f_s, f_t, MULTIPLIERS).item(), rel=1e-12)


def test_jmmd_sees_prediction_shift_that_feature_mmd_misses():
    # same features, different conditional predictions: JMMD > 0 while the feature MMD is 0
    f, _, noise, _ = conditional_batches(20, 20, 3, 2, scale=0.5)
    shift = torch.tensor([2.0, -2.0], dtype=torch.float64)
    value = call_conditional(JMMDLoss(), f, f.clone(), noise + shift, noise - shift)
    assert value.item() > 1e-3
    assert abs(mmd2_unbiased(f, f.clone()).item()) < 1e-12


def test_jmmd_gradients_reach_features_and_logits():
    f_s, f_t, l_s, l_t = conditional_batches(5, 4, 3, 3)
    for t in (f_s, f_t, l_s, l_t):
        t.requires_grad_(True)
    call_conditional(JMMDLoss(), f_s, f_t, l_s, l_t).backward()
    for t in (f_s, f_t, l_s, l_t):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_jmmd_rejects_bad_multipliers():
    with pytest.raises(ValueError):
        JMMDLoss(multipliers=[])
    with pytest.raises(ValueError):
        JMMDLoss(prediction_multipliers=[0.0])
