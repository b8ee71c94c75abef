"""MMD (da/losses/mmd.py) against the float64 NumPy reference of tests/losses/reference.py: the
value and its gradient (the median bandwidth detached), zero for identical batches, batches of one
example, unequal batch sizes, distributions told apart."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import MMDLoss
from da.losses.kernels import pairwise_sq_dists
from da.losses.mmd import mmd2_unbiased
from tests.losses.inputs import FEATURE_SHAPES, call_on_features, feature_batches
from tests.losses.reference import (MULTIPLIERS, np_kernel, np_mean_i_ne_j, np_median_sq_bandwidth,
                                    np_mmd2, np_mmd2_grad, np_sq_dists)


def test_reference_median_convention_differs_from_numpy_median():
    """The lower-middle convention is what torch.median does (guards the reference's comment)."""
    vals = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert vals.median().item() == 2.0
    assert np.sort(vals.numpy())[(4 - 1) // 2] == 2.0
    assert np.median(vals.numpy()) == 2.5


@pytest.mark.parametrize("m,n,d", FEATURE_SHAPES)
def test_mmd_matches_numpy_reference(m, n, d):
    f_s, f_t = feature_batches(m, n, d, seed=m * 100 + n)
    expected = np_mmd2(f_s.numpy(), f_t.numpy())
    np.testing.assert_allclose(mmd2_unbiased(f_s, f_t, MULTIPLIERS).item(), expected,
                               rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(call_on_features(MMDLoss(MULTIPLIERS), f_s, f_t).item(), expected,
                               rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("multipliers", [(1.0,), (0.5, 2.0), (0.1, 1.0, 3.0)])
def test_mmd_matches_numpy_reference_other_multipliers(multipliers):
    f_s, f_t = feature_batches(5, 7, 4, seed=3)
    expected = np_mmd2(f_s.numpy(), f_t.numpy(), multipliers)
    np.testing.assert_allclose(call_on_features(MMDLoss(multipliers), f_s, f_t).item(), expected,
                               rtol=1e-5)


@pytest.mark.parametrize("m,n,d", [(5, 7, 4), (6, 6, 4), (3, 4, 3), (1, 8, 3)])
def test_mmd_gradient_matches_reference_with_detached_bandwidth(m, n, d):
    """The bandwidth is a constant of the step: the gradient has no ∂σ²/∂x term."""
    f_s, f_t = feature_batches(m, n, d, seed=7 + m)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    call_on_features(MMDLoss(MULTIPLIERS), f_s, f_t).backward()
    gs, gt = np_mmd2_grad(f_s.detach().numpy(), f_t.detach().numpy())
    np.testing.assert_allclose(f_s.grad.numpy(), gs, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(f_t.grad.numpy(), gt, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("n,d", [(6, 4), (2, 3), (20, 8)])
def test_mmd_identical_batches_is_zero(n, d):
    x, _ = feature_batches(n, 1, d, seed=n)
    assert abs(call_on_features(MMDLoss(), x, x.clone()).item()) < 1e-10


def test_mmd_identical_batches_nonzero_without_eq3():
    """Guard: the same batch with the full-mean cross term (Lemma 6) would not be 0, so the zero
    above really comes from the i != j cross term."""
    x, _ = feature_batches(6, 1, 4, seed=6)
    xn = x.numpy()
    sigma2 = np_median_sq_bandwidth(np.concatenate([xn, xn]))
    k = np_kernel(np_sq_dists(xn, xn), sigma2)
    lemma6 = 2 * np_mean_i_ne_j(k) - 2 * k.mean()
    assert abs(lemma6) > 1e-3


def test_mmd_one_vs_one_closed_form():
    """m = n = 1: both within terms are k(x, x) = 1, so MMD² = 2 − 2 k(s, t); with a single
    pair σ² = ||s − t||², hence k(s, t) = mean_μ exp(−1 / (2 μ²))."""
    f_s, f_t = feature_batches(1, 1, 3, seed=1)
    k = np.mean([math.exp(-1.0 / (2 * mu * mu)) for mu in MULTIPLIERS])
    assert call_on_features(MMDLoss(), f_s, f_t).item() == pytest.approx(2 - 2 * k, rel=1e-10)


def test_mmd_constant_identical_features_is_zero():
    """All rows equal on both sides: every distance is 0, every kernel value 1, MMD² = 0."""
    x = torch.full((6, 4), 2.0, dtype=torch.float64)
    assert abs(call_on_features(MMDLoss(), x, x.clone()).item()) < 1e-10


def test_mmd_separates_different_distributions():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 2, generator=g, dtype=torch.float64)
    b = torch.randn(50, 2, generator=g, dtype=torch.float64)
    c = torch.randn(50, 2, generator=g, dtype=torch.float64) + 3.0
    same = call_on_features(MMDLoss(), a, b).item()
    diff = call_on_features(MMDLoss(), a, c).item()
    assert diff > 0.3
    assert abs(same) < 0.05
    assert diff > 10 * abs(same)
    np.testing.assert_allclose(diff, np_mmd2(a.numpy(), c.numpy()), rtol=1e-5)


def test_mmd_unequal_batch_sizes():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(30, 3, generator=g, dtype=torch.float64)
    b = torch.randn(70, 3, generator=g, dtype=torch.float64)
    c = torch.randn(70, 3, generator=g, dtype=torch.float64) + 3.0
    same = call_on_features(MMDLoss(), a, b).item()
    diff = call_on_features(MMDLoss(), a, c).item()
    assert diff > 10 * abs(same) and diff > 0.3
    np.testing.assert_allclose(same, np_mmd2(a.numpy(), b.numpy()), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(diff, np_mmd2(a.numpy(), c.numpy()), rtol=1e-5)


def test_mmd_grows_with_shift():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(40, 2, generator=g, dtype=torch.float64)
    base = torch.randn(40, 2, generator=g, dtype=torch.float64)
    values = [call_on_features(MMDLoss(), a, base + s).item() for s in (0.0, 1.0, 2.0, 4.0)]
    assert all(x < y for x, y in zip(values, values[1:])), values


def test_mmd_rejects_bad_multipliers():
    with pytest.raises(ValueError):
        MMDLoss([])
    with pytest.raises(ValueError):
        MMDLoss([1.0, 0.0])
    with pytest.raises(ValueError):
        MMDLoss([-1.0])


# Regression: pairwise distances once used the |a|²+|b|²−2ab expansion on uncentered rows, whose
# float32 residue (~1e-6 · |x|²) on identical rows wrecked the median bandwidth: identical float32 batches got MMD² up
# to ~1 and a 1-example domain's within-term was not k(x, x) = 1.
_ROW32 = (torch.arange(10, dtype=torch.float32) / 7).unsqueeze(0)


@pytest.mark.parametrize("m", [1, 5])
def test_mmd_identical_duplicated_rows_float32_is_zero(m):
    x = _ROW32.repeat(m, 1)
    assert abs(call_on_features(MMDLoss(), x, x.clone()).item()) < 1e-5


def test_pairwise_sq_dists_match_explicit_differences_far_from_the_origin():
    """The fast (matrix-product) distances equal explicit differences, also for rows sharing a
    large offset, where the uncentered expansion loses the small distances to rounding."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(40, 30, generator=g, dtype=torch.float64) * 0.01 + 50.0
    b = torch.randn(25, 30, generator=g, dtype=torch.float64) * 0.01 + 50.0
    exact = (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1)
    fast = pairwise_sq_dists(a.float(), b.float()).double()
    assert torch.allclose(fast, exact, rtol=1e-3, atol=0)
    a32 = a.float()
    self_sq = pairwise_sq_dists(a32, a32)
    assert torch.all(self_sq.diagonal() == 0)
