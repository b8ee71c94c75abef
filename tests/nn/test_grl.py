"""Gradient reversal layer (da/nn/grl.py): identity forward, −λ·grad backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.nn.grl import GradientReversal, grad_reverse


LAMBDAS = [0.0, 0.5, 1.0, 2.0]


def _x(shape=(4, 3), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("use_module", [False, True])
def test_grl_forward_is_identity(lam, use_module):
    x = _x().requires_grad_(True)
    y = GradientReversal()(x, lam) if use_module else grad_reverse(x, lam)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(y, x)
    assert y.requires_grad


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("use_module", [False, True])
def test_grl_backward_negates_and_scales(lam, use_module):
    x = _x(seed=1).requires_grad_(True)
    upstream = _x(seed=2)
    y = GradientReversal()(x, lam) if use_module else grad_reverse(x, lam)
    y.backward(upstream)
    expected = -lam * upstream.numpy()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("lam", LAMBDAS)
def test_grl_inside_a_chain(lam):
    """d/dx Σ sin(R_λ(x))² = −λ · 2 sin(x) cos(x), with the reversal in the middle of a graph."""
    x = _x(seed=3).requires_grad_(True)
    (torch.sin(grad_reverse(x * 1.0, lam)) ** 2).sum().backward()
    xn = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), -lam * 2 * np.sin(xn) * np.cos(xn),
                               rtol=1e-12, atol=1e-15)


def test_grl_default_coeff_is_one():
    x = _x(seed=4).requires_grad_(True)
    grad_reverse(x).sum().backward()
    assert torch.equal(x.grad, -torch.ones_like(x))
    x.grad = None
    GradientReversal()(x).sum().backward()
    assert torch.equal(x.grad, -torch.ones_like(x))


def test_grl_accepts_tensor_coefficient_and_float32():
    x = _x(seed=5, dtype=torch.float32).requires_grad_(True)
    grad_reverse(x, torch.tensor(0.5)).sum().backward()
    assert x.grad.dtype == torch.float32
    assert torch.equal(x.grad, torch.full_like(x, -0.5))


def test_grl_does_not_touch_other_branch():
    """Only the path through the reversal is negated."""
    x = _x(seed=6).requires_grad_(True)
    (grad_reverse(x, 1.0).sum() + x.sum()).backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
