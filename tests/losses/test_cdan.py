"""CDAN and CDAN+E (da/losses/cdan.py) against the float64 NumPy reference of
tests/losses/reference.py (the discriminator re-evaluated from its extracted weights, the
randomized map from its extracted random matrices): value, reversed gradient, the multilinear and
randomized maps, the entropy weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import CDANLoss
from da.schedules import GaninSchedule
from tests.losses.inputs import (CONDITIONAL_SHAPES, as_numpy, call_conditional,
                                 conditional_batches, make_cdan)
from tests.losses.reference import np_cdan, np_multilinear


def assert_matches_reference(loss: CDANLoss, batches, entropy: bool) -> None:
    """Value, discriminator accuracy and the reversed feature gradient against np_cdan."""
    f_s, f_t, l_s, l_t = batches
    f_s.requires_grad_(True), f_t.requires_grad_(True)
    value = call_conditional(loss, f_s, f_t, l_s, l_t)
    ref, acc, grad_ref = np_cdan(loss, *as_numpy(f_s, f_t, l_s, l_t), entropy)
    assert value.item() == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert float(loss.diagnostics["disc_acc"]) == pytest.approx(acc)
    value.backward()
    # the reversal: the features get −λ · ∂ℓ/∂f (λ = 1 here)
    grad = torch.cat([f_s.grad, f_t.grad]).numpy()
    np.testing.assert_allclose(grad, -grad_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("m,n,d,k", CONDITIONAL_SHAPES)
@pytest.mark.parametrize("hidden", [(), (8,), (6, 5)])
def test_cdan_matches_numpy_reference(m, n, d, k, hidden, entropy):
    loss = make_cdan(d, k, entropy, hidden)
    assert not loss.randomized
    assert_matches_reference(loss, conditional_batches(m, n, d, k), entropy)


@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("m,n,d,k", [(5, 7, 4, 3), (1, 1, 2, 2), (4, 4, 3, 2)])
def test_randomized_cdan_matches_numpy_reference(m, n, d, k, entropy):
    loss = make_cdan(d, k, entropy, randomized=True, random_dim=16)
    assert loss.randomized and loss.random_f.shape == (d, 16) and loss.random_g.shape == (k, 16)
    assert_matches_reference(loss, conditional_batches(m, n, d, k, seed=1), entropy)


def test_multilinear_map_layout():
    f = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    g = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    h = make_cdan(3, 2).conditioning_map(f, g)
    np.testing.assert_allclose(h.numpy(), [[0.25, 0.5, 0.75, 0.75, 1.5, 2.25]])
    np.testing.assert_allclose(h.numpy(), np_multilinear(f.numpy(), g.numpy()))


def test_randomized_map_selected_by_threshold_and_shapes():
    small = CDANLoss(in_dim=50, num_classes=2)                 # 100 <= 4096: exact map
    assert not small.randomized and small.discriminator[0].in_features == 100
    big = CDANLoss(in_dim=2048, num_classes=3)                 # 6144 > 4096: randomized
    assert big.randomized and big.discriminator[0].in_features == 1024
    assert big.random_f.shape == (2048, 1024) and big.random_g.shape == (3, 1024)
    edge = CDANLoss(in_dim=2048, num_classes=2)                # 4096 is not above the threshold
    assert not edge.randomized
    custom = CDANLoss(in_dim=10, num_classes=3, max_multilinear_dim=20, random_dim=7)
    assert custom.randomized and custom.discriminator[0].in_features == 7
    f, g = torch.randn(5, 10), torch.softmax(torch.randn(5, 3), 1)
    assert custom.conditioning_map(f, g).shape == (5, 7)


def test_random_matrices_are_seeded_fixed_buffers():
    a = CDANLoss(in_dim=8, num_classes=3, randomized=True, random_dim=32, seed=5)
    b = CDANLoss(in_dim=8, num_classes=3, randomized=True, random_dim=32, seed=5)
    c = CDANLoss(in_dim=8, num_classes=3, randomized=True, random_dim=32, seed=6)
    assert torch.equal(a.random_f, b.random_f) and torch.equal(a.random_g, b.random_g)
    assert not torch.equal(a.random_f, c.random_f)
    names = {name for name, _ in a.named_parameters()}
    assert not any("random" in name for name in names)               # never trained
    assert {"random_f", "random_g"} <= set(a.state_dict())            # saved with the model
    big = CDANLoss(in_dim=256, num_classes=8, randomized=True, random_dim=1024)
    values = torch.cat([big.random_f.flatten(), big.random_g.flatten()])
    assert abs(values.mean().item()) < 0.02 and abs(values.std().item() - 1.0) < 0.02


def test_randomized_map_preserves_inner_products_in_expectation():
    # E <T⊙(f, g), T⊙(f', g')> = <f, f'> <g, g'> = <T⊗(f, g), T⊗(f', g')>
    f = torch.tensor([[1.0, -0.5, 2.0, 0.3], [0.2, 1.5, -1.0, 0.7]], dtype=torch.float64)
    g = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], dtype=torch.float64)
    exact = make_cdan(4, 3).conditioning_map(f, g)
    rand = make_cdan(4, 3, randomized=True, random_dim=200_000, seed=3).conditioning_map(f, g)
    assert (rand[0] @ rand[1]).item() == pytest.approx((exact[0] @ exact[1]).item(), rel=0.05)
    assert (rand[0] @ rand[0]).item() == pytest.approx((exact[0] @ exact[0]).item(), rel=0.05)


@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("randomized", [False, True])
def test_cdan_zero_last_layer_gives_log2(entropy, randomized):
    loss = make_cdan(4, 3, entropy, randomized=randomized, random_dim=8)
    with torch.no_grad():
        loss.discriminator[-1].weight.zero_()
        loss.discriminator[-1].bias.zero_()
    value = call_conditional(loss, *conditional_batches(5, 3, 4, 3))
    assert value.item() == pytest.approx(math.log(2.0), rel=1e-12)


def test_entropy_weights_range_and_normalization():
    loss = make_cdan(3, 4, entropy=True)
    f_s, f_t, _, _ = conditional_batches(2, 2, 3, 4)
    uniform = torch.zeros(2, 4, dtype=torch.float64)
    confident = torch.tensor([[50.0, 0, 0, 0], [0, 50.0, 0, 0]], dtype=torch.float64)
    call_conditional(loss, f_s, f_t, uniform, confident)
    assert float(loss.diagnostics["weight_min"]) == pytest.approx(1.0 + 1.0 / 4.0)  # e^{−log 4}
    assert float(loss.diagnostics["weight_max"]) == pytest.approx(2.0, abs=1e-12)   # H = 0


def test_cdan_e_with_uniform_weights_and_equal_batches_equals_cdan():
    # equal predictions -> equal weights; with m = n the per-domain normalization is the mean
    f_s, f_t, _, _ = conditional_batches(4, 4, 3, 2)
    logits = torch.zeros(4, 2, dtype=torch.float64)
    plain = call_conditional(make_cdan(3, 2, entropy=False), f_s, f_t, logits, logits)
    weighted = call_conditional(make_cdan(3, 2, entropy=True), f_s, f_t, logits, logits)
    assert weighted.item() == pytest.approx(plain.item(), rel=1e-12)


def test_cdan_e_balances_unequal_domains():
    # m ≠ n: CDAN+E gives each domain half of the weight, CDAN weights examples equally
    loss_e, loss = make_cdan(3, 2, entropy=True), make_cdan(3, 2, entropy=False)
    f_s, f_t, _, _ = conditional_batches(2, 6, 3, 2)
    zeros_s, zeros_t = (torch.zeros(b, 2, dtype=torch.float64) for b in (2, 6))
    assert call_conditional(loss_e, f_s, f_t, zeros_s, zeros_t).item() != pytest.approx(
        call_conditional(loss, f_s, f_t, zeros_s, zeros_t).item(), rel=1e-6)


@pytest.mark.parametrize("entropy", [False, True])
def test_cdan_predictions_are_detached_and_discriminator_trained(entropy):
    loss = make_cdan(4, 3, entropy)
    f_s, f_t, l_s, l_t = conditional_batches(5, 4, 4, 3)
    for t in (f_s, f_t, l_s, l_t):
        t.requires_grad_(True)
    call_conditional(loss, f_s, f_t, l_s, l_t).backward()
    assert l_s.grad is None and l_t.grad is None
    assert f_s.grad.abs().sum() > 0 and f_t.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in loss.discriminator.parameters())


def test_cdan_value_independent_of_progress_but_gradient_scaled():
    loss = make_cdan(4, 3, coeff=GaninSchedule(1.0, 10.0))
    f_s, f_t, l_s, l_t = conditional_batches(5, 4, 4, 3)
    grads, values = [], []
    for progress in (0.1, 1.0):
        x_s = f_s.clone().requires_grad_(True)
        value = call_conditional(loss, x_s, f_t, l_s, l_t, progress=progress)
        value.backward()
        values.append(value.item())
        grads.append(x_s.grad.clone())
        assert loss.diagnostics["grl_coeff"] == pytest.approx(GaninSchedule(1.0, 10.0)(progress))
    assert values[0] == pytest.approx(values[1], rel=1e-12)
    ratio = GaninSchedule(1.0, 10.0)(0.1) / GaninSchedule(1.0, 10.0)(1.0)
    torch.testing.assert_close(grads[0], grads[1] * ratio)


def test_cdan_rejects_wrong_sizes():
    loss = make_cdan(4, 3)
    f_s, f_t, l_s, l_t = conditional_batches(2, 2, 4, 2)
    with pytest.raises(ValueError, match="3 classes"):
        call_conditional(loss, f_s, f_t, l_s, l_t)
    with pytest.raises(ValueError):
        CDANLoss(in_dim=4, num_classes=0)
