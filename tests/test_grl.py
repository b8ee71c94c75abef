"""Gradient reversal layer, DANN's reversed encoder gradient, and the λ schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from da.losses import DANNLoss
from da.nn.grl import GradientReversal, grad_reverse
from da.schedules import Constant, GaninSchedule

LAMBDAS = [0.0, 0.5, 1.0, 2.0]


def _x(shape=(4, 3), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


# --------------------------------------------------------------------------------------------
# 6. GRL: identity forward, −λ·grad backward
# --------------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("hidden", [(8,), ()])
@pytest.mark.parametrize("m,n", [(5, 7), (6, 6)])
def test_dann_encoder_gradient_is_exact_negative_of_plain_bce(hidden, m, n):
    """With λ = 1, the gradient on the features is exactly minus that of the same BCE without
    reversal, while the discriminator's own gradients are identical (it is not reversed)."""
    torch.manual_seed(0)
    loss_fn = DANNLoss(in_dim=4, hidden_dims=hidden, coeff=Constant(1.0)).double()
    g = torch.Generator().manual_seed(m * n)
    f_s = torch.randn(m, 4, generator=g, dtype=torch.float64)
    f_t = torch.randn(n, 4, generator=g, dtype=torch.float64) + 0.7

    xs, xt = f_s.clone().requires_grad_(True), f_t.clone().requires_grad_(True)
    reversed_loss = loss_fn(f_s=xs, f_t=xt, progress=0.3)
    reversed_loss.backward()
    disc_grads_reversed = [p.grad.clone() for p in loss_fn.parameters()]
    loss_fn.zero_grad()

    ys, yt = f_s.clone().requires_grad_(True), f_t.clone().requires_grad_(True)
    logits = loss_fn.discriminator(torch.cat([ys, yt])).squeeze(-1)
    domains = torch.cat([torch.zeros(m), torch.ones(n)]).double()
    plain_loss = F.binary_cross_entropy_with_logits(logits, domains)
    plain_loss.backward()

    assert reversed_loss.item() == plain_loss.item()
    assert xs.grad.abs().sum() > 0
    assert torch.equal(xs.grad, -ys.grad)
    assert torch.equal(xt.grad, -yt.grad)
    for a, p in zip(disc_grads_reversed, loss_fn.parameters()):
        assert torch.equal(a, p.grad)


def test_dann_labels_source_zero_target_one():
    """A discriminator with logit = +large for target-like features must have a small loss."""
    loss_fn = DANNLoss(in_dim=1, hidden_dims=[], coeff=Constant(1.0)).double()
    with torch.no_grad():
        loss_fn.discriminator[0].weight.fill_(20.0)
        loss_fn.discriminator[0].bias.zero_()
    f_s = -torch.ones(3, 1, dtype=torch.float64)  # logits −20 -> predicted source (0)
    f_t = torch.ones(4, 1, dtype=torch.float64)  # logits +20 -> predicted target (1)
    loss = loss_fn(f_s=f_s, f_t=f_t)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-20.0)), rel=1e-9)
    assert float(loss_fn.diagnostics["disc_acc"]) == 1.0
    swapped = loss_fn(f_s=f_t, f_t=f_s)
    assert swapped.item() == pytest.approx(20.0 + math.log1p(math.exp(-20.0)), rel=1e-9)
    assert float(loss_fn.diagnostics["disc_acc"]) == 0.0


# --------------------------------------------------------------------------------------------
# 7. Schedules
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1.0, 0.1, 2.5])
def test_ganin_schedule_endpoints(value):
    s = GaninSchedule(value=value)
    assert s(0.0) == 0.0
    assert s(1.0) == pytest.approx(value * (2.0 / (1.0 + math.exp(-10.0)) - 1.0), rel=1e-12)
    assert s(0.5) == pytest.approx(value * (2.0 / (1.0 + math.exp(-5.0)) - 1.0), rel=1e-12)


def test_ganin_schedule_monotone_and_bounded():
    s = GaninSchedule(value=1.0)
    ps = np.linspace(0.0, 1.0, 201)
    vals = np.array([s(float(p)) for p in ps])
    assert np.all(np.diff(vals) > 0)
    assert vals.min() >= 0.0 and vals.max() < 1.0
    expected = 2.0 / (1.0 + np.exp(-10.0 * ps)) - 1.0
    np.testing.assert_allclose(vals, expected, rtol=1e-12, atol=1e-15)


def test_ganin_schedule_gamma_and_clamping():
    s = GaninSchedule(value=1.0, gamma=3.0)
    assert s(1.0) == pytest.approx(2.0 / (1.0 + math.exp(-3.0)) - 1.0)
    assert s(-0.5) == s(0.0) == 0.0
    assert s(1.7) == s(1.0)


@pytest.mark.parametrize("kwargs", [dict(value=-0.1), dict(gamma=0.0), dict(gamma=-1.0)])
def test_ganin_schedule_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        GaninSchedule(**kwargs)


def test_constant_schedule():
    c = Constant(0.3)
    assert c(0.0) == c(0.5) == c(1.0) == 0.3
    assert Constant(0.0)(0.7) == 0.0
    assert Constant()(0.2) == 1.0


@pytest.mark.parametrize("value", [-1.0, -1e-9])
def test_constant_rejects_negative(value):
    with pytest.raises(ValueError):
        Constant(value)


def test_dann_default_schedule_is_ganin():
    loss_fn = DANNLoss(in_dim=3, hidden_dims=[4]).double()
    x = _x((2, 3), seed=9)
    for p in (0.0, 0.25, 1.0):
        loss_fn(f_s=x, f_t=x, progress=p)
        assert loss_fn.diagnostics["grl_coeff"] == pytest.approx(GaninSchedule()(p), abs=1e-15)
