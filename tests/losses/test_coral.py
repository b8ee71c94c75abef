"""CORAL (da/losses/coral.py) against the float64 NumPy reference of tests/losses/reference.py:
value, gradient, the scale-invariant variant, zero for equal covariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.losses import CORALLoss
from da.losses.coral import coral, covariance
from tests.losses.inputs import FEATURE_SHAPES, call_on_features, feature_batches
from tests.losses.reference import np_coral, np_coral_grad, np_cov


@pytest.mark.parametrize("m,n,d", FEATURE_SHAPES)
def test_coral_matches_numpy_reference(m, n, d):
    f_s, f_t = feature_batches(m, n, d, seed=m * 10 + n)
    np.testing.assert_allclose(covariance(f_s).numpy(), np_cov(f_s.numpy()), rtol=1e-5, atol=1e-12)
    expected = np_coral(f_s.numpy(), f_t.numpy())
    np.testing.assert_allclose(coral(f_s, f_t).item(), expected, rtol=1e-5, atol=1e-14)
    np.testing.assert_allclose(call_on_features(CORALLoss(), f_s, f_t).item(), expected,
                               rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("m,n,d", FEATURE_SHAPES)
def test_scale_invariant_coral_matches_numpy_reference(m, n, d):
    f_s, f_t = feature_batches(m, n, d, seed=m * 10 + n + 1)
    xs, xt = f_s.numpy().astype(np.float64), f_t.numpy().astype(np.float64)
    sigma2 = (np.trace(np_cov(xs)) + np.trace(np_cov(xt))) / (2 * d)
    expected = np_coral(xs, xt) / max(sigma2, 1e-12) ** 2
    got = call_on_features(CORALLoss(scale_invariant=True), f_s, f_t).item()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-12)


def test_scale_invariant_coral_ignores_the_feature_scale_and_still_has_gradients():
    f_s, f_t = feature_batches(32, 24, 16, seed=7)
    small = coral(f_s * 1e-3, f_t * 1e-3, scale_invariant=True)
    np.testing.assert_allclose(small.item(), coral(f_s, f_t, scale_invariant=True).item(),
                               rtol=1e-4)
    # the plain loss is 1e-12 times smaller there: what made CORAL a no-op on small features
    assert coral(f_s * 1e-3, f_t * 1e-3).item() < 1e-11 * coral(f_s, f_t).item()
    f_s, f_t = (f_s * 1e-3).requires_grad_(), (f_t * 1e-3).requires_grad_()
    coral(f_s, f_t, scale_invariant=True).backward()
    assert f_s.grad.abs().sum() > 0 and f_t.grad.abs().sum() > 0
    # invariant all the way into the gradient: none along the common scale of the features, so
    # training cannot lower the loss by shrinking them (Euler: <x, grad> = 0 for degree 0)
    radial = float((f_s.grad * f_s).sum() + (f_t.grad * f_t).sum())
    norm = float(torch.cat([f_s.grad, f_t.grad]).norm() * torch.cat([f_s, f_t]).norm())
    assert abs(radial) < 1e-4 * norm


def test_covariance_matches_numpy_cov():
    """Cross-check the hand-written reference against np.cov (rows = observations)."""
    x, _ = feature_batches(9, 1, 5, seed=11)
    np.testing.assert_allclose(covariance(x).numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(np_cov(x.numpy()), np.cov(x.numpy(), rowvar=False), rtol=1e-12)


@pytest.mark.parametrize("m,n,d", [(5, 7, 4), (6, 6, 4), (1, 8, 3)])
def test_coral_gradient_matches_reference(m, n, d):
    f_s, f_t = feature_batches(m, n, d, seed=5)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    call_on_features(CORALLoss(), f_s, f_t).backward()
    gs, gt = np_coral_grad(f_s.detach().numpy(), f_t.detach().numpy())
    np.testing.assert_allclose(f_s.grad.numpy(), gs, rtol=1e-5, atol=1e-14)
    np.testing.assert_allclose(f_t.grad.numpy(), gt, rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("m,n,d", [(6, 6, 4), (1, 1, 3), (7, 3, 2)])
def test_coral_identical_is_zero(m, n, d):
    x, _ = feature_batches(m, 1, d, seed=m)
    assert call_on_features(CORALLoss(), x, x.clone()).item() == pytest.approx(0.0, abs=1e-15)


def test_coral_same_covariance_different_mean_is_zero():
    x, _ = feature_batches(6, 1, 4, seed=8)
    assert call_on_features(CORALLoss(), x, x + 5.0).item() == pytest.approx(0.0, abs=1e-12)
