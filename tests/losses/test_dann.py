"""DANN (da/losses/dann.py) against the float64 NumPy reference of tests/losses/reference.py (its
discriminator re-evaluated from the extracted weights): the value, the reversed gradient on the
features, the discriminator's own gradient, and the λ schedule (default: Ganin's)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from da.losses import DANNLoss
from da.schedules import Constant, GaninSchedule
from tests.losses.inputs import FEATURE_SHAPES, call_on_features, feature_batches, make_dann
from tests.losses.reference import (np_dann, np_dann_feature_grad, np_disc_forward,
                                    np_disc_params)


@pytest.mark.parametrize("hidden", [(8,), (), (6, 5)])
@pytest.mark.parametrize("m,n,d", FEATURE_SHAPES)
def test_dann_matches_numpy_reference(m, n, d, hidden):
    f_s, f_t = feature_batches(m, n, d, seed=m + n)
    loss_fn = make_dann(d, hidden, coeff=Constant(0.7), seed=m * n)
    layers = np_disc_params(loss_fn.discriminator)
    assert len(layers) == len(hidden) + 1
    expected, acc = np_dann(layers, f_s.numpy(), f_t.numpy())
    loss = call_on_features(loss_fn, f_s, f_t)
    assert loss.dim() == 0
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    assert loss_fn.diagnostics["grl_coeff"] == pytest.approx(0.7)
    np.testing.assert_allclose(float(loss_fn.diagnostics["disc_acc"]), acc, atol=1e-12)


@pytest.mark.parametrize("progress", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("hidden", [(8,), ()])
def test_dann_feature_gradient_matches_reference(progress, hidden):
    """Default schedule: the features receive −λ(p) · ∂BCE/∂x; the discriminator gets +∂BCE/∂θ."""
    m, n, d = 5, 7, 4
    f_s, f_t = feature_batches(m, n, d, seed=2)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    loss_fn = make_dann(d, hidden, coeff=None, seed=1)
    layers = np_disc_params(loss_fn.discriminator)
    loss = call_on_features(loss_fn, f_s, f_t, progress=progress)
    loss.backward()
    lam = 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
    assert loss_fn.diagnostics["grl_coeff"] == pytest.approx(lam, abs=1e-12)
    gs, gt = np_dann_feature_grad(layers, f_s.detach().numpy(), f_t.detach().numpy(), lam)
    np.testing.assert_allclose(f_s.grad.numpy(), gs, rtol=1e-5, atol=1e-14)
    np.testing.assert_allclose(f_t.grad.numpy(), gt, rtol=1e-5, atol=1e-14)
    # the discriminator itself descends the BCE (no reversal on its own parameters)
    if not hidden:
        x = np.concatenate([f_s.detach().numpy(), f_t.detach().numpy()])
        y = np.concatenate([np.zeros(m), np.ones(n)])
        logits, _ = np_disc_forward(layers, x)
        r = (1.0 / (1.0 + np.exp(-logits)) - y) / (m + n)
        lin = loss_fn.discriminator[0]
        np.testing.assert_allclose(lin.weight.grad.numpy()[0], r @ x, rtol=1e-5, atol=1e-14)
        np.testing.assert_allclose(lin.bias.grad.numpy()[0], r.sum(), rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("hidden", [(8,), (), (4, 3)])
@pytest.mark.parametrize("m,n", [(5, 7), (6, 6), (1, 1)])
def test_dann_zero_last_layer_gives_log2(hidden, m, n):
    f_s, f_t = feature_batches(m, n, 4, seed=4)
    loss_fn = make_dann(4, hidden, coeff=Constant(1.0))
    with torch.no_grad():
        loss_fn.discriminator[-1].weight.zero_()
        loss_fn.discriminator[-1].bias.zero_()
    loss = call_on_features(loss_fn, f_s, f_t)
    assert loss.item() == pytest.approx(math.log(2.0), rel=1e-12)
    # logits are exactly 0 -> "> 0" predicts source (0) everywhere -> accuracy = m / (m + n)
    assert float(loss_fn.diagnostics["disc_acc"]) == pytest.approx(m / (m + n))


def test_dann_identical_inputs_is_not_zero():
    x, _ = feature_batches(6, 1, 4, seed=9)
    loss = call_on_features(make_dann(4, (8,), coeff=Constant(1.0)), x, x.clone())
    assert loss.item() > 0.1


def test_dann_discriminator_params_get_gradients():
    f_s, f_t = feature_batches(5, 7, 4, seed=22)
    loss_fn = make_dann(4, (8,), coeff=Constant(1.0))
    call_on_features(loss_fn, f_s, f_t).backward()
    for name, p in loss_fn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dann_value_independent_of_progress_but_gradient_scaled():
    """λ only scales the reversed gradient; the loss value does not depend on it."""
    f_s, f_t = feature_batches(5, 7, 4, seed=33)
    loss_fn = make_dann(4, (8,), coeff=GaninSchedule())
    grads, values = [], []
    for p in (0.0, 0.3, 1.0):
        x = f_s.clone().requires_grad_(True)
        loss = call_on_features(loss_fn, x, f_t, progress=p)
        loss.backward()
        values.append(loss.item())
        grads.append(x.grad.clone())
        loss_fn.zero_grad()
    assert values[0] == values[1] == values[2]
    assert torch.count_nonzero(grads[0]) == 0  # λ(0) = 0
    lam = [GaninSchedule()(p) for p in (0.3, 1.0)]
    torch.testing.assert_close(grads[1] / lam[0], grads[2] / lam[1], rtol=1e-10, atol=1e-14)


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


def test_dann_default_schedule_is_ganin():
    loss_fn = DANNLoss(in_dim=3, hidden_dims=[4]).double()
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    for p in (0.0, 0.25, 1.0):
        loss_fn(f_s=x, f_t=x, progress=p)
        assert loss_fn.diagnostics["grl_coeff"] == pytest.approx(GaninSchedule()(p), abs=1e-15)


def test_dann_confusion_objective_gradients():
    """objective=confusion: D's gradient is that of the plain domain BCE on detached features;
    the encoder's is λ · d/df mean BCE(D(f), 1/2) (Tzeng et al. 2015), computed independently."""
    torch.manual_seed(0)
    f_s, f_t = torch.randn(5, 4, requires_grad=True), torch.randn(3, 4, requires_grad=True)
    loss = DANNLoss(in_dim=4, hidden_dims=[6], objective="confusion",
                    coeff=lambda p: 0.7)
    loss(f_s=f_s, f_t=f_t).backward()
    reference = copy.deepcopy(loss.discriminator)
    for p in reference.parameters():
        p.grad = None
    x = torch.cat([f_s, f_t]).detach().requires_grad_(True)
    domains = torch.cat([torch.zeros(5), torch.ones(3)])
    F.binary_cross_entropy_with_logits(reference(x.detach()).squeeze(-1), domains).backward()
    for mine, theirs in zip(loss.discriminator.parameters(), reference.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad)  # nothing from the confusion term
    confusion = F.binary_cross_entropy_with_logits(reference(x).squeeze(-1),
                                                   torch.full((8,), 0.5))
    (grad,) = torch.autograd.grad(0.7 * confusion, x)
    torch.testing.assert_close(torch.cat([f_s.grad, f_t.grad]), grad)
    with pytest.raises(ValueError, match="objective"):
        DANNLoss(in_dim=4, objective="fool")
