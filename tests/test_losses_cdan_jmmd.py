"""CDAN / CDAN+E and JMMD against independent float64 NumPy references.

As in tests/test_losses.py: the references are written from the formulas in the module
docstrings (da/losses/cdan.py, da/losses/jmmd.py), the discriminator is re-evaluated in NumPy from
its extracted weights, the randomized map from its extracted random matrices, and kernel sums over
``i ≠ j`` use explicit masks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import CDANLoss, JMMDLoss
from da.losses.mmd import mmd2_unbiased
from da.schedules import Constant, GaninSchedule
from tests.test_losses import (MULTIPLIERS, np_disc_forward, np_disc_params, np_kernel,
                               np_mean_i_ne_j, np_median_sq_bandwidth, np_sq_dists)

SHAPES = [(5, 7, 4, 3), (6, 6, 4, 2), (3, 4, 3, 4), (1, 1, 2, 2), (1, 6, 3, 3), (6, 1, 3, 3)]


def _inputs(m: int, n: int, d: int, k: int, seed: int = 0, scale: float = 2.0):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.randn(m, d, generator=g, dtype=torch.float64)
    f_t = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + 0.5
    logits_s = torch.randn(m, k, generator=g, dtype=torch.float64) * scale
    logits_t = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    return f_s, f_t, logits_s, logits_t


def _call(loss, f_s, f_t, logits_s, logits_t, progress: float = 1.0):
    y_s = torch.zeros(f_s.shape[0], dtype=torch.long)
    return loss(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s,
                progress=progress)


def _cdan(d: int, k: int, entropy: bool = False, hidden=(8,), seed: int = 0, **kw) -> CDANLoss:
    coeff = kw.pop("coeff", Constant(1.0))
    torch.manual_seed(seed)
    return CDANLoss(in_dim=d, num_classes=k, hidden_dims=hidden, entropy_conditioning=entropy,
                    coeff=coeff, **kw).double()


# --------------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------------

def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_multilinear(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """vec(g ⊗ f), class-major: entry c·d + j = g_c f_j."""
    n, d = f.shape
    out = np.zeros((n, g.shape[1] * d))
    for b in range(n):
        for c in range(g.shape[1]):
            for j in range(d):
                out[b, c * d + j] = g[b, c] * f[b, j]
    return out


def np_entropy_weights(g: np.ndarray) -> np.ndarray:
    h = -np.sum(np.where(g > 0, g * np.log(np.maximum(g, 1e-300)), 0.0), axis=1)
    return 1.0 + np.exp(-h)


def np_example_weights(g: np.ndarray, m: int, entropy: bool) -> np.ndarray:
    """Per-example weights a_b with ℓ = Σ_b a_b ℓ_b."""
    n_all = len(g)
    if not entropy:
        return np.full(n_all, 1.0 / n_all)
    w = np_entropy_weights(g)
    w_s, w_t = w[:m] / w[:m].sum(), w[m:] / w[m:].sum()
    a = np.concatenate([w_s, w_t])
    return a / a.sum()  # the sum is 2: ½ of each domain's weighted mean


def np_cdan(loss: CDANLoss, xs, xt, ls, lt, entropy: bool):
    """(value, disc_acc, dℓ/d(features)) of CDAN / CDAN+E at λ = coeff."""
    layers = np_disc_params(loss.discriminator)
    f = np.concatenate([xs, xt])
    g = np_softmax(np.concatenate([ls, lt]))
    m = len(xs)
    if loss.randomized:
        r_f = loss.random_f.double().numpy()
        r_g = loss.random_g.double().numpy()
        a_f, a_g = f @ r_f, g @ r_g
        h = a_f * a_g / math.sqrt(r_f.shape[1])
    else:
        h = np_multilinear(f, g)
    y = np.concatenate([np.zeros(m), np.ones(len(xt))])
    logits, pre = np_disc_forward(layers, h)
    per_example = y * np.logaddexp(0.0, -logits) + (1 - y) * np.logaddexp(0.0, logits)
    a = np_example_weights(g, m, entropy)
    value = float(np.sum(a * per_example))
    acc = float(np.mean((logits > 0).astype(float) == y))
    # backward: ∂ℓ/∂logit_b = a_b (σ(l_b) − y_b), then through the ReLU MLP to h
    grad = (a * (1.0 / (1.0 + np.exp(-logits)) - y))[:, None]
    for i in range(len(layers) - 1, -1, -1):
        grad = grad @ layers[i][0]
        if i > 0:
            grad = grad * (pre[i - 1] > 0)
    if loss.randomized:
        grad_f = (grad * a_g / math.sqrt(r_f.shape[1])) @ r_f.T
    else:
        d = f.shape[1]
        grad_f = np.stack([sum(g[:, c:c + 1] * grad[:, c * d:(c + 1) * d]
                               for c in range(g.shape[1]))])[0]
    return value, acc, grad_f


def np_jmmd2(layers_s, layers_t, multipliers) -> float:
    m, n = len(layers_s[0]), len(layers_t[0])
    k_ss, k_tt, k_st = np.ones((m, m)), np.ones((n, n)), np.ones((m, n))
    for zs, zt, mults in zip(layers_s, layers_t, multipliers):
        sigma2 = np_median_sq_bandwidth(np.concatenate([zs, zt]))
        k_ss = k_ss * np_kernel(np_sq_dists(zs, zs), sigma2, mults)
        k_tt = k_tt * np_kernel(np_sq_dists(zt, zt), sigma2, mults)
        k_st = k_st * np_kernel(np_sq_dists(zs, zt), sigma2, mults)
    within_s = 1.0 if m == 1 else np_mean_i_ne_j(k_ss)
    within_t = 1.0 if n == 1 else np_mean_i_ne_j(k_tt)
    cross = np_mean_i_ne_j(k_st) if m == n and m >= 2 else float(k_st.mean())
    return within_s + within_t - 2.0 * cross


def _np(*tensors):
    return [t.detach().double().numpy() for t in tensors]


# --------------------------------------------------------------------------------------------
# CDAN
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("m,n,d,k", SHAPES)
@pytest.mark.parametrize("hidden", [(), (8,), (6, 5)])
def test_cdan_matches_numpy_reference(m, n, d, k, hidden, entropy):
    loss = _cdan(d, k, entropy, hidden)
    assert not loss.randomized
    f_s, f_t, l_s, l_t = _inputs(m, n, d, k)
    f_s.requires_grad_(True), f_t.requires_grad_(True)
    value = _call(loss, f_s, f_t, l_s, l_t)
    ref, acc, grad_ref = np_cdan(loss, *_np(f_s, f_t, l_s, l_t), entropy)
    assert value.item() == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert float(loss.diagnostics["disc_acc"]) == pytest.approx(acc)
    value.backward()
    # the reversal: the features get −λ · ∂ℓ/∂f (λ = 1 here)
    grad = torch.cat([f_s.grad, f_t.grad]).numpy()
    np.testing.assert_allclose(grad, -grad_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("m,n,d,k", [(5, 7, 4, 3), (1, 1, 2, 2), (4, 4, 3, 2)])
def test_randomized_cdan_matches_numpy_reference(m, n, d, k, entropy):
    loss = _cdan(d, k, entropy, randomized=True, random_dim=16)
    assert loss.randomized and loss.random_f.shape == (d, 16) and loss.random_g.shape == (k, 16)
    f_s, f_t, l_s, l_t = _inputs(m, n, d, k, seed=1)
    f_s.requires_grad_(True), f_t.requires_grad_(True)
    value = _call(loss, f_s, f_t, l_s, l_t)
    ref, acc, grad_ref = np_cdan(loss, *_np(f_s, f_t, l_s, l_t), entropy)
    assert value.item() == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert float(loss.diagnostics["disc_acc"]) == pytest.approx(acc)
    value.backward()
    np.testing.assert_allclose(torch.cat([f_s.grad, f_t.grad]).numpy(), -grad_ref,
                               rtol=1e-9, atol=1e-12)


def test_multilinear_map_layout():
    f = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    g = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    h = _cdan(3, 2).conditioning_map(f, g)
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
    exact = _cdan(4, 3).conditioning_map(f, g)
    rand = _cdan(4, 3, randomized=True, random_dim=200_000, seed=3).conditioning_map(f, g)
    assert (rand[0] @ rand[1]).item() == pytest.approx((exact[0] @ exact[1]).item(), rel=0.05)
    assert (rand[0] @ rand[0]).item() == pytest.approx((exact[0] @ exact[0]).item(), rel=0.05)


@pytest.mark.parametrize("entropy", [False, True])
@pytest.mark.parametrize("randomized", [False, True])
def test_cdan_zero_last_layer_gives_log2(entropy, randomized):
    loss = _cdan(4, 3, entropy, randomized=randomized, random_dim=8)
    with torch.no_grad():
        loss.discriminator[-1].weight.zero_()
        loss.discriminator[-1].bias.zero_()
    value = _call(loss, *_inputs(5, 3, 4, 3))
    assert value.item() == pytest.approx(math.log(2.0), rel=1e-12)


def test_entropy_weights_range_and_normalization():
    loss = _cdan(3, 4, entropy=True)
    f_s, f_t, _, _ = _inputs(2, 2, 3, 4)
    uniform = torch.zeros(2, 4, dtype=torch.float64)
    confident = torch.tensor([[50.0, 0, 0, 0], [0, 50.0, 0, 0]], dtype=torch.float64)
    _call(loss, f_s, f_t, uniform, confident)
    assert float(loss.diagnostics["weight_min"]) == pytest.approx(1.0 + 1.0 / 4.0)  # e^{−log 4}
    assert float(loss.diagnostics["weight_max"]) == pytest.approx(2.0, abs=1e-12)   # H = 0


def test_cdan_e_with_uniform_weights_and_equal_batches_equals_cdan():
    # equal predictions -> equal weights; with m = n the per-domain normalization is the mean
    f_s, f_t, _, _ = _inputs(4, 4, 3, 2)
    logits = torch.zeros(4, 2, dtype=torch.float64)
    plain = _call(_cdan(3, 2, entropy=False), f_s, f_t, logits, logits)
    weighted = _call(_cdan(3, 2, entropy=True), f_s, f_t, logits, logits)
    assert weighted.item() == pytest.approx(plain.item(), rel=1e-12)


def test_cdan_e_balances_unequal_domains():
    # m ≠ n: CDAN+E gives each domain half of the weight, CDAN weights examples equally
    loss_e, loss = _cdan(3, 2, entropy=True), _cdan(3, 2, entropy=False)
    f_s, f_t, _, _ = _inputs(2, 6, 3, 2)
    zeros_s, zeros_t = (torch.zeros(b, 2, dtype=torch.float64) for b in (2, 6))
    assert _call(loss_e, f_s, f_t, zeros_s, zeros_t).item() != pytest.approx(
        _call(loss, f_s, f_t, zeros_s, zeros_t).item(), rel=1e-6)


@pytest.mark.parametrize("entropy", [False, True])
def test_cdan_predictions_are_detached_and_discriminator_trained(entropy):
    loss = _cdan(4, 3, entropy)
    f_s, f_t, l_s, l_t = _inputs(5, 4, 4, 3)
    for t in (f_s, f_t, l_s, l_t):
        t.requires_grad_(True)
    _call(loss, f_s, f_t, l_s, l_t).backward()
    assert l_s.grad is None and l_t.grad is None
    assert f_s.grad.abs().sum() > 0 and f_t.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in loss.discriminator.parameters())


def test_cdan_value_independent_of_progress_but_gradient_scaled():
    loss = _cdan(4, 3, coeff=GaninSchedule(1.0, 10.0))
    f_s, f_t, l_s, l_t = _inputs(5, 4, 4, 3)
    grads, values = [], []
    for progress in (0.1, 1.0):
        x_s = f_s.clone().requires_grad_(True)
        value = _call(loss, x_s, f_t, l_s, l_t, progress=progress)
        value.backward()
        values.append(value.item())
        grads.append(x_s.grad.clone())
        assert loss.diagnostics["grl_coeff"] == pytest.approx(GaninSchedule(1.0, 10.0)(progress))
    assert values[0] == pytest.approx(values[1], rel=1e-12)
    ratio = GaninSchedule(1.0, 10.0)(0.1) / GaninSchedule(1.0, 10.0)(1.0)
    torch.testing.assert_close(grads[0], grads[1] * ratio)


def test_cdan_rejects_wrong_sizes():
    loss = _cdan(4, 3)
    f_s, f_t, l_s, l_t = _inputs(2, 2, 4, 2)
    with pytest.raises(ValueError, match="3 classes"):
        _call(loss, f_s, f_t, l_s, l_t)
    with pytest.raises(ValueError):
        CDANLoss(in_dim=4, num_classes=0)


# --------------------------------------------------------------------------------------------
# JMMD
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("m,n,d,k", SHAPES + [(7, 5, 3, 2)])
@pytest.mark.parametrize("pred_mults", [(1.0,), (0.5, 1.0, 2.0)])
def test_jmmd_matches_numpy_reference(m, n, d, k, pred_mults):
    loss = JMMDLoss(prediction_multipliers=pred_mults)
    f_s, f_t, l_s, l_t = _inputs(m, n, d, k, scale=1.0)
    value = _call(loss, f_s, f_t, l_s, l_t)
    xs, xt, ls, lt = _np(f_s, f_t, l_s, l_t)
    ref = np_jmmd2([xs, np_softmax(ls)], [xt, np_softmax(lt)], [MULTIPLIERS, pred_mults])
    assert value.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n,d,k", [(2, 3, 2), (5, 4, 3), (8, 2, 4)])
def test_jmmd_identical_batches_is_zero(n, d, k):
    f, _, logits, _ = _inputs(n, n, d, k)
    value = _call(JMMDLoss(), f, f.clone(), logits, logits.clone())
    assert abs(value.item()) < 1e-12


def test_jmmd_with_constant_predictions_is_feature_mmd():
    # equal predictions everywhere: the prediction kernel is 1, JMMD = MMD of the features
    f_s, f_t, _, _ = _inputs(5, 7, 4, 3)
    zeros_s, zeros_t = (torch.zeros(b, 3, dtype=torch.float64) for b in (5, 7))
    value = _call(JMMDLoss(), f_s, f_t, zeros_s, zeros_t)
    assert value.item() == pytest.approx(mmd2_unbiased(f_s, f_t, MULTIPLIERS).item(), rel=1e-12)


def test_jmmd_sees_prediction_shift_that_feature_mmd_misses():
    # same features, different conditional predictions: JMMD > 0 while the feature MMD is 0
    f, _, noise, _ = _inputs(20, 20, 3, 2, scale=0.5)
    shift = torch.tensor([2.0, -2.0], dtype=torch.float64)
    value = _call(JMMDLoss(), f, f.clone(), noise + shift, noise - shift)
    assert value.item() > 1e-3
    assert abs(mmd2_unbiased(f, f.clone()).item()) < 1e-12


def test_jmmd_gradients_reach_features_and_logits():
    f_s, f_t, l_s, l_t = _inputs(5, 4, 3, 3)
    for t in (f_s, f_t, l_s, l_t):
        t.requires_grad_(True)
    _call(JMMDLoss(), f_s, f_t, l_s, l_t).backward()
    for t in (f_s, f_t, l_s, l_t):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_jmmd_rejects_bad_multipliers():
    with pytest.raises(ValueError):
        JMMDLoss(multipliers=[])
    with pytest.raises(ValueError):
        JMMDLoss(prediction_multipliers=[0.0])


# --------------------------------------------------------------------------------------------
# Degenerate inputs: every new loss stays finite (values and gradients)
# --------------------------------------------------------------------------------------------

LOSSES = {
    "cdan": lambda: _cdan(3, 2),
    "cdan_e": lambda: _cdan(3, 2, entropy=True),
    "cdan_random": lambda: _cdan(3, 2, randomized=True, random_dim=8),
    "cdan_e_random": lambda: _cdan(3, 2, entropy=True, randomized=True, random_dim=8),
    "jmmd": lambda: JMMDLoss(),
}


def _degenerate_cases():
    z = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    one = lambda *s: torch.ones(*s, dtype=torch.float64)  # noqa: E731
    sat = torch.tensor([[1e4, -1e4]], dtype=torch.float64)
    return {
        "batch_of_one": (one(1, 3), -one(1, 3), z(1, 2), one(1, 2)),
        "constant_features": (one(4, 3), one(3, 3), z(4, 2), z(3, 2)),
        "zero_features": (z(4, 3), z(4, 3), z(4, 2), z(4, 2)),
        "saturated_logits": (one(2, 3), z(3, 3), sat.repeat(2, 1), -sat.repeat(3, 1)),
        "one_vs_many": (one(1, 3), torch.randn(5, 3, dtype=torch.float64), sat, z(5, 2)),
    }


@pytest.mark.parametrize("case", list(_degenerate_cases()))
@pytest.mark.parametrize("name", list(LOSSES))
def test_degenerate_inputs_finite(name, case):
    f_s, f_t, l_s, l_t = (t.clone().requires_grad_(True) for t in _degenerate_cases()[case])
    value = _call(LOSSES[name](), f_s, f_t, l_s, l_t)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for t in (f_s, f_t, l_s, l_t):
        assert t.grad is None or torch.isfinite(t.grad).all()


@pytest.mark.parametrize("name", list(LOSSES))
def test_float32_batch_of_one_finite(name):
    loss = LOSSES[name]().float()
    f_s, f_t = torch.randn(1, 3, requires_grad=True), torch.randn(1, 3, requires_grad=True)
    value = loss(f_s=f_s, f_t=f_t, logits_s=torch.randn(1, 2), logits_t=torch.randn(1, 2),
                 y_s=torch.zeros(1, dtype=torch.long), progress=0.3)
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(f_s.grad).all() and torch.isfinite(f_t.grad).all()
