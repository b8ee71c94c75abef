"""Alignment losses (MMD, CORAL, DANN) against independent float64 NumPy references.

The references below are written from the formulas in the module docstrings, never by calling
the torch code: pairwise distances are computed from explicit differences (not the
``|a|² + |b|² − 2ab`` expansion), sums over ``i ≠ j`` use explicit masks, and the DANN
discriminator is re-evaluated in NumPy from its extracted weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from da.losses import CORALLoss, DANNLoss, MMDLoss
from da.losses.coral import coral, covariance
from da.losses.mmd import mmd2_unbiased
from da.schedules import Constant, GaninSchedule

MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)
# (m, n, d): unequal sizes; equal sizes (cross term over i != j); an odd number of pooled pairs
# (7 points -> 21 pairs, a unique median) next to even ones (12 points -> 66 pairs, where the
# lower-middle convention matters).
SHAPES = [(5, 7, 4), (6, 6, 4), (3, 4, 3), (1, 1, 2), (1, 8, 3), (8, 1, 3), (2, 2, 5)]


def _features(m: int, n: int, d: int, seed: int = 0, shift: float = 0.5):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.randn(m, d, generator=g, dtype=torch.float64)
    f_t = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + shift
    return f_s, f_t


def _call(loss: nn.Module, f_s: torch.Tensor, f_t: torch.Tensor, **extra) -> torch.Tensor:
    """Call a loss with the full keyword contract of da/losses/base.py."""
    m, n, k = f_s.shape[0], f_t.shape[0], 3
    logits_s = torch.zeros(m, k, dtype=f_s.dtype)
    logits_t = torch.zeros(n, k, dtype=f_s.dtype)
    y_s = torch.zeros(m, dtype=torch.long)
    kwargs = dict(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s, progress=1.0)
    kwargs.update(extra)
    return loss(**kwargs)


# --------------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------------

def np_sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = a[:, None, :] - b[None, :, :]
    return (diff * diff).sum(-1)


def np_median_sq_bandwidth(z: np.ndarray, eps: float = 1e-8) -> float:
    """σ² = median of the upper off-diagonal pairwise squared distances of the pooled batch.

    NumPy's median of an even count averages the two middle values, whereas ``torch.median``
    returns the lower of the two; the reference therefore takes the lower middle value
    ``sorted[(k - 1) // 2]`` explicitly so both agree on every batch size.
    """
    n = z.shape[0]
    if n < 2:
        return 1.0
    iu = np.triu_indices(n, k=1)
    vals = np.sort(np_sq_dists(z, z)[iu])
    return max(float(vals[(len(vals) - 1) // 2]), eps)


def np_kernel(sq: np.ndarray, sigma2: float, multipliers=MULTIPLIERS) -> np.ndarray:
    return np.mean([np.exp(-sq / (2.0 * mu * mu * sigma2)) for mu in multipliers], axis=0)


def np_mean_i_ne_j(k: np.ndarray) -> float:
    n = k.shape[0]
    mask = ~np.eye(n, dtype=bool)
    return float(k[mask].sum() / (n * (n - 1)))


def np_mmd2(xs: np.ndarray, xt: np.ndarray, multipliers=MULTIPLIERS) -> float:
    m, n = len(xs), len(xt)
    sigma2 = np_median_sq_bandwidth(np.concatenate([xs, xt]))
    k_ss = np_kernel(np_sq_dists(xs, xs), sigma2, multipliers)
    k_tt = np_kernel(np_sq_dists(xt, xt), sigma2, multipliers)
    k_st = np_kernel(np_sq_dists(xs, xt), sigma2, multipliers)
    # a single example: its within-domain term is k(x, x) = 1
    within_s = 1.0 if m == 1 else np_mean_i_ne_j(k_ss)
    within_t = 1.0 if n == 1 else np_mean_i_ne_j(k_tt)
    # Gretton 2012 Eq. 3 (m == n): cross term over i != j; for m == n == 1 there is no such
    # pair and the single k(s, t) is used; otherwise the full mean (Lemma 6).
    if m == n and m >= 2:
        cross = np_mean_i_ne_j(k_st)
    else:
        cross = float(k_st.mean())
    return within_s + within_t - 2.0 * cross


def np_mmd2_grad(xs: np.ndarray, xt: np.ndarray, multipliers=MULTIPLIERS):
    """Analytic gradient of MMD²_u w.r.t. both batches with σ² held constant (detached).

    MMD²_u = Σ_{a,b} W_ab k(z_a, z_b) over the pooled batch z, and for a ≠ b
    ∂k(z_a, z_b)/∂z_a = −mean_μ exp(−D_ab / (2 μ² σ²)) (z_a − z_b) / (μ² σ²).
    """
    m, n = len(xs), len(xt)
    z = np.concatenate([xs, xt])
    N = m + n
    sigma2 = np_median_sq_bandwidth(z)
    W = np.zeros((N, N))
    if m >= 2:
        W[:m, :m] = 1.0 / (m * (m - 1))
    if n >= 2:
        W[m:, m:] = 1.0 / (n * (n - 1))
    if m == n and m >= 2:
        W[:m, m:] = -2.0 / (m * (m - 1))
        W[np.arange(m), m + np.arange(m)] = 0.0
    else:
        W[:m, m:] = -2.0 / (m * n)
    np.fill_diagonal(W, 0.0)  # k(x, x) = 1 does not depend on x
    diff = z[:, None, :] - z[None, :, :]  # (N, N, d): z_a − z_b
    sq = (diff * diff).sum(-1)
    dk = np.zeros((N, N))
    for mu in multipliers:
        dk += -np.exp(-sq / (2 * mu * mu * sigma2)) / (mu * mu * sigma2)
    dk /= len(multipliers)
    # term W_ab k(z_a, z_b) contributes W_ab dk_ab (z_a − z_b) to z_a
    # and W_ab dk_ab (z_b − z_a) to z_b
    coef = (W + W.T) * dk
    grad = (coef[:, :, None] * diff).sum(1)
    return grad[:m], grad[m:]


def np_cov(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    c = x - x.mean(0, keepdims=True)
    return c.T @ c / max(n - 1, 1)


def np_coral(xs: np.ndarray, xt: np.ndarray) -> float:
    d = xs.shape[1]
    return float(((np_cov(xs) - np_cov(xt)) ** 2).sum() / (4.0 * d * d))


def np_coral_grad(xs: np.ndarray, xt: np.ndarray):
    """∂ℓ/∂X_s = X̄_s (C_s − C_t) / ((m − 1) d²), and symmetrically (negated) for X_t."""
    d = xs.shape[1]
    diff = np_cov(xs) - np_cov(xt)
    cs = xs - xs.mean(0, keepdims=True)
    ct = xt - xt.mean(0, keepdims=True)
    return (cs @ diff / (max(len(xs) - 1, 1) * d * d),
            -ct @ diff / (max(len(xt) - 1, 1) * d * d))


def np_disc_params(disc: nn.Sequential):
    """Extract (W, b) of every Linear layer and check the layout is Linear (ReLU Linear)*."""
    layers = []
    for i, mod in enumerate(disc):
        if isinstance(mod, nn.Linear):
            layers.append((mod.weight.detach().cpu().double().numpy().copy(),
                           mod.bias.detach().cpu().double().numpy().copy()))
        else:
            assert isinstance(mod, nn.ReLU), f"unexpected discriminator layer {i}: {mod}"
    return layers


def np_disc_forward(layers, x: np.ndarray):
    """Returns logits (N,) and the list of pre-activations for the backward pass."""
    h, pre = x, []
    for i, (w, b) in enumerate(layers):
        a = h @ w.T + b
        pre.append(a)
        h = np.maximum(a, 0.0) if i < len(layers) - 1 else a
    return h[:, 0], pre


def np_bce_with_logits(logits: np.ndarray, y: np.ndarray) -> float:
    # −[y log σ(l) + (1 − y) log(1 − σ(l))] = y·log(1 + e^{−l}) + (1 − y)·log(1 + e^{l})
    return float(np.mean(y * np.logaddexp(0.0, -logits) + (1 - y) * np.logaddexp(0.0, logits)))


def np_dann(layers, xs: np.ndarray, xt: np.ndarray):
    x = np.concatenate([xs, xt])
    y = np.concatenate([np.zeros(len(xs)), np.ones(len(xt))])
    logits, _ = np_disc_forward(layers, x)
    acc = float(np.mean((logits > 0).astype(float) == y))
    return np_bce_with_logits(logits, y), acc


def np_dann_feature_grad(layers, xs: np.ndarray, xt: np.ndarray, lam: float):
    """Gradient reaching the features: −λ · ∂BCE/∂x (reversal of the discriminator gradient)."""
    x = np.concatenate([xs, xt])
    N = len(x)
    y = np.concatenate([np.zeros(len(xs)), np.ones(len(xt))])
    logits, pre = np_disc_forward(layers, x)
    g = ((1.0 / (1.0 + np.exp(-logits)) - y) / N)[:, None]  # ∂BCE/∂logit, (N, 1)
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        g = g @ w  # to the input of layer i
        if i > 0:
            g = g * (pre[i - 1] > 0)
    g = -lam * g
    return g[: len(xs)], g[len(xs):]


def _dann(d: int, hidden=(8,), coeff=None, seed: int = 0) -> DANNLoss:
    torch.manual_seed(seed)
    return DANNLoss(in_dim=d, hidden_dims=hidden, coeff=coeff).double()


# --------------------------------------------------------------------------------------------
# 1. Each loss equals its NumPy reference
# --------------------------------------------------------------------------------------------

def test_reference_median_convention_differs_from_numpy_median():
    """The lower-middle convention is what torch.median does (guards the reference's comment)."""
    vals = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert vals.median().item() == 2.0
    assert np.sort(vals.numpy())[(4 - 1) // 2] == 2.0
    assert np.median(vals.numpy()) == 2.5


@pytest.mark.parametrize("m,n,d", SHAPES)
def test_mmd_matches_numpy_reference(m, n, d):
    f_s, f_t = _features(m, n, d, seed=m * 100 + n)
    expected = np_mmd2(f_s.numpy(), f_t.numpy())
    np.testing.assert_allclose(mmd2_unbiased(f_s, f_t, MULTIPLIERS).item(), expected,
                               rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(_call(MMDLoss(MULTIPLIERS), f_s, f_t).item(), expected,
                               rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("multipliers", [(1.0,), (0.5, 2.0), (0.1, 1.0, 3.0)])
def test_mmd_matches_numpy_reference_other_multipliers(multipliers):
    f_s, f_t = _features(5, 7, 4, seed=3)
    expected = np_mmd2(f_s.numpy(), f_t.numpy(), multipliers)
    np.testing.assert_allclose(_call(MMDLoss(multipliers), f_s, f_t).item(), expected, rtol=1e-5)


@pytest.mark.parametrize("m,n,d", [(5, 7, 4), (6, 6, 4), (3, 4, 3), (1, 8, 3)])
def test_mmd_gradient_matches_reference_with_detached_bandwidth(m, n, d):
    """The bandwidth is a constant of the step: the gradient has no ∂σ²/∂x term."""
    f_s, f_t = _features(m, n, d, seed=7 + m)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    _call(MMDLoss(MULTIPLIERS), f_s, f_t).backward()
    gs, gt = np_mmd2_grad(f_s.detach().numpy(), f_t.detach().numpy())
    np.testing.assert_allclose(f_s.grad.numpy(), gs, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(f_t.grad.numpy(), gt, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("m,n,d", SHAPES)
def test_coral_matches_numpy_reference(m, n, d):
    f_s, f_t = _features(m, n, d, seed=m * 10 + n)
    np.testing.assert_allclose(covariance(f_s).numpy(), np_cov(f_s.numpy()), rtol=1e-5, atol=1e-12)
    expected = np_coral(f_s.numpy(), f_t.numpy())
    np.testing.assert_allclose(coral(f_s, f_t).item(), expected, rtol=1e-5, atol=1e-14)
    np.testing.assert_allclose(_call(CORALLoss(), f_s, f_t).item(), expected, rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("m,n,d", SHAPES)
def test_scale_invariant_coral_matches_numpy_reference(m, n, d):
    f_s, f_t = _features(m, n, d, seed=m * 10 + n + 1)
    xs, xt = f_s.numpy().astype(np.float64), f_t.numpy().astype(np.float64)
    sigma2 = (np.trace(np_cov(xs)) + np.trace(np_cov(xt))) / (2 * d)
    expected = np_coral(xs, xt) / max(sigma2, 1e-12) ** 2
    got = _call(CORALLoss(scale_invariant=True), f_s, f_t).item()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-12)


def test_scale_invariant_coral_ignores_the_feature_scale_and_still_has_gradients():
    f_s, f_t = _features(32, 24, 16, seed=7)
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
    x, _ = _features(9, 1, 5, seed=11)
    np.testing.assert_allclose(covariance(x).numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(np_cov(x.numpy()), np.cov(x.numpy(), rowvar=False), rtol=1e-12)


@pytest.mark.parametrize("m,n,d", [(5, 7, 4), (6, 6, 4), (1, 8, 3)])
def test_coral_gradient_matches_reference(m, n, d):
    f_s, f_t = _features(m, n, d, seed=5)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    _call(CORALLoss(), f_s, f_t).backward()
    gs, gt = np_coral_grad(f_s.detach().numpy(), f_t.detach().numpy())
    np.testing.assert_allclose(f_s.grad.numpy(), gs, rtol=1e-5, atol=1e-14)
    np.testing.assert_allclose(f_t.grad.numpy(), gt, rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("hidden", [(8,), (), (6, 5)])
@pytest.mark.parametrize("m,n,d", SHAPES)
def test_dann_matches_numpy_reference(m, n, d, hidden):
    f_s, f_t = _features(m, n, d, seed=m + n)
    loss_fn = _dann(d, hidden, coeff=Constant(0.7), seed=m * n)
    layers = np_disc_params(loss_fn.discriminator)
    assert len(layers) == len(hidden) + 1
    expected, acc = np_dann(layers, f_s.numpy(), f_t.numpy())
    loss = _call(loss_fn, f_s, f_t)
    assert loss.dim() == 0
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    assert loss_fn.diagnostics["grl_coeff"] == pytest.approx(0.7)
    np.testing.assert_allclose(float(loss_fn.diagnostics["disc_acc"]), acc, atol=1e-12)


@pytest.mark.parametrize("progress", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("hidden", [(8,), ()])
def test_dann_feature_gradient_matches_reference(progress, hidden):
    """Default schedule: the features receive −λ(p) · ∂BCE/∂x; the discriminator gets +∂BCE/∂θ."""
    m, n, d = 5, 7, 4
    f_s, f_t = _features(m, n, d, seed=2)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    loss_fn = _dann(d, hidden, coeff=None, seed=1)
    layers = np_disc_params(loss_fn.discriminator)
    loss = _call(loss_fn, f_s, f_t, progress=progress)
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


# --------------------------------------------------------------------------------------------
# 2. Zero for identical inputs
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,d", [(6, 4), (2, 3), (20, 8)])
def test_mmd_identical_batches_is_zero(n, d):
    x, _ = _features(n, 1, d, seed=n)
    assert abs(_call(MMDLoss(), x, x.clone()).item()) < 1e-10


def test_mmd_identical_batches_nonzero_without_eq3():
    """Guard: the same batch with the full-mean cross term (Lemma 6) would not be 0, so the zero
    above really comes from the i != j cross term."""
    x, _ = _features(6, 1, 4, seed=6)
    xn = x.numpy()
    sigma2 = np_median_sq_bandwidth(np.concatenate([xn, xn]))
    k = np_kernel(np_sq_dists(xn, xn), sigma2)
    lemma6 = 2 * np_mean_i_ne_j(k) - 2 * k.mean()
    assert abs(lemma6) > 1e-3


@pytest.mark.parametrize("m,n,d", [(6, 6, 4), (1, 1, 3), (7, 3, 2)])
def test_coral_identical_is_zero(m, n, d):
    x, _ = _features(m, 1, d, seed=m)
    assert _call(CORALLoss(), x, x.clone()).item() == pytest.approx(0.0, abs=1e-15)


def test_coral_same_covariance_different_mean_is_zero():
    x, _ = _features(6, 1, 4, seed=8)
    assert _call(CORALLoss(), x, x + 5.0).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("hidden", [(8,), (), (4, 3)])
@pytest.mark.parametrize("m,n", [(5, 7), (6, 6), (1, 1)])
def test_dann_zero_last_layer_gives_log2(hidden, m, n):
    f_s, f_t = _features(m, n, 4, seed=4)
    loss_fn = _dann(4, hidden, coeff=Constant(1.0))
    with torch.no_grad():
        loss_fn.discriminator[-1].weight.zero_()
        loss_fn.discriminator[-1].bias.zero_()
    loss = _call(loss_fn, f_s, f_t)
    assert loss.item() == pytest.approx(math.log(2.0), rel=1e-12)
    # logits are exactly 0 -> "> 0" predicts source (0) everywhere -> accuracy = m / (m + n)
    assert float(loss_fn.diagnostics["disc_acc"]) == pytest.approx(m / (m + n))


def test_dann_identical_inputs_is_not_zero():
    x, _ = _features(6, 1, 4, seed=9)
    loss = _call(_dann(4, (8,), coeff=Constant(1.0)), x, x.clone())
    assert loss.item() > 0.1


# --------------------------------------------------------------------------------------------
# 3. Finite on degenerate inputs (value and gradients)
# --------------------------------------------------------------------------------------------

def _degenerate_cases():
    g = torch.Generator().manual_seed(123)
    d = 4
    r = lambda k: torch.randn(k, d, generator=g, dtype=torch.float64)  # noqa: E731
    const = lambda k, v: torch.full((k, d), v, dtype=torch.float64)  # noqa: E731
    return {
        "1v1": (r(1), r(1)),
        "1v8": (r(1), r(8)),
        "8v1": (r(8), r(1)),
        "1v1_same": (const(1, 0.3), const(1, 0.3)),
        "const_both_same": (const(6, 2.0), const(6, 2.0)),
        "const_both_diff": (const(5, 2.0), const(7, -1.0)),
        "const_source_only": (const(5, 3.0), r(7)),
        "const_1v8": (const(1, 3.0), const(8, 3.0)),
        "zeros": (torch.zeros(4, d, dtype=torch.float64), torch.zeros(4, d, dtype=torch.float64)),
        "large_const": (const(6, 1e3), const(6, 1e3)),
    }


LOSS_FACTORIES = {
    "mmd": lambda d: MMDLoss(),
    "coral": lambda d: CORALLoss(),
    "dann": lambda d: _dann(d, (8,), coeff=Constant(1.0)),
}


@pytest.mark.parametrize("case", list(_degenerate_cases()))
@pytest.mark.parametrize("loss_name", list(LOSS_FACTORIES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_degenerate_inputs_finite(loss_name, case, dtype):
    f_s, f_t = _degenerate_cases()[case]
    f_s = f_s.to(dtype).requires_grad_(True)
    f_t = f_t.to(dtype).requires_grad_(True)
    loss_fn = LOSS_FACTORIES[loss_name](f_s.shape[1]).to(dtype)
    loss = _call(loss_fn, f_s, f_t)
    assert loss.dim() == 0
    assert torch.isfinite(loss), f"{loss_name}/{case}: {loss}"
    loss.backward()
    assert f_s.grad is not None and f_t.grad is not None
    assert torch.isfinite(f_s.grad).all() and torch.isfinite(f_t.grad).all(), loss_name


@pytest.mark.parametrize("case", ["1v1", "1v8", "8v1", "const_both_same", "const_both_diff",
                                  "const_source_only"])
def test_degenerate_inputs_match_references(case):
    f_s, f_t = _degenerate_cases()[case]
    xs, xt = f_s.numpy(), f_t.numpy()
    np.testing.assert_allclose(_call(MMDLoss(), f_s, f_t).item(), np_mmd2(xs, xt),
                               rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(_call(CORALLoss(), f_s, f_t).item(), np_coral(xs, xt),
                               rtol=1e-5, atol=1e-12)
    dann = _dann(4, (8,), coeff=Constant(1.0))
    np.testing.assert_allclose(_call(dann, f_s, f_t).item(),
                               np_dann(np_disc_params(dann.discriminator), xs, xt)[0], rtol=1e-5)


def test_mmd_one_vs_one_closed_form():
    """m = n = 1: both within terms are k(x, x) = 1, so MMD² = 2 − 2 k(s, t); with a single
    pair σ² = ||s − t||², hence k(s, t) = mean_μ exp(−1 / (2 μ²))."""
    f_s, f_t = _features(1, 1, 3, seed=1)
    k = np.mean([math.exp(-1.0 / (2 * mu * mu)) for mu in MULTIPLIERS])
    assert _call(MMDLoss(), f_s, f_t).item() == pytest.approx(2 - 2 * k, rel=1e-10)


def test_mmd_constant_identical_features_is_zero():
    """All rows equal on both sides: every distance is 0, every kernel value 1, MMD² = 0."""
    x = torch.full((6, 4), 2.0, dtype=torch.float64)
    assert abs(_call(MMDLoss(), x, x.clone()).item()) < 1e-10


# --------------------------------------------------------------------------------------------
# 4. Gradients reach the features
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss_name", list(LOSS_FACTORIES))
@pytest.mark.parametrize("m,n", [(5, 7), (6, 6)])
def test_gradients_reach_features(loss_name, m, n):
    f_s, f_t = _features(m, n, 4, seed=21)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    loss = _call(LOSS_FACTORIES[loss_name](4), f_s, f_t)
    loss.backward()
    assert f_s.grad.abs().sum().item() > 1e-8, loss_name
    assert f_t.grad.abs().sum().item() > 1e-8, loss_name


def test_dann_discriminator_params_get_gradients():
    f_s, f_t = _features(5, 7, 4, seed=22)
    loss_fn = _dann(4, (8,), coeff=Constant(1.0))
    _call(loss_fn, f_s, f_t).backward()
    for name, p in loss_fn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------------------------
# 5. MMD discriminates distributions; unequal batch sizes
# --------------------------------------------------------------------------------------------

def test_mmd_separates_different_distributions():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 2, generator=g, dtype=torch.float64)
    b = torch.randn(50, 2, generator=g, dtype=torch.float64)
    c = torch.randn(50, 2, generator=g, dtype=torch.float64) + 3.0
    same = _call(MMDLoss(), a, b).item()
    diff = _call(MMDLoss(), a, c).item()
    assert diff > 0.3
    assert abs(same) < 0.05
    assert diff > 10 * abs(same)
    np.testing.assert_allclose(diff, np_mmd2(a.numpy(), c.numpy()), rtol=1e-5)


def test_mmd_unequal_batch_sizes():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(30, 3, generator=g, dtype=torch.float64)
    b = torch.randn(70, 3, generator=g, dtype=torch.float64)
    c = torch.randn(70, 3, generator=g, dtype=torch.float64) + 3.0
    same = _call(MMDLoss(), a, b).item()
    diff = _call(MMDLoss(), a, c).item()
    assert diff > 10 * abs(same) and diff > 0.3
    np.testing.assert_allclose(same, np_mmd2(a.numpy(), b.numpy()), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(diff, np_mmd2(a.numpy(), c.numpy()), rtol=1e-5)


def test_mmd_grows_with_shift():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(40, 2, generator=g, dtype=torch.float64)
    base = torch.randn(40, 2, generator=g, dtype=torch.float64)
    values = [_call(MMDLoss(), a, base + s).item() for s in (0.0, 1.0, 2.0, 4.0)]
    assert all(x < y for x, y in zip(values, values[1:])), values


def test_mmd_rejects_bad_multipliers():
    with pytest.raises(ValueError):
        MMDLoss([])
    with pytest.raises(ValueError):
        MMDLoss([1.0, 0.0])
    with pytest.raises(ValueError):
        MMDLoss([-1.0])


# --------------------------------------------------------------------------------------------
# 8. Losses accept and ignore extra keywords
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss_name", list(LOSS_FACTORIES))
def test_losses_ignore_extra_keywords(loss_name):
    f_s, f_t = _features(5, 7, 4, seed=31)
    loss_fn = LOSS_FACTORIES[loss_name](4)
    plain = loss_fn(f_s=f_s, f_t=f_t)
    g = torch.Generator().manual_seed(5)
    full = loss_fn(f_s=f_s, f_t=f_t, logits_s=torch.randn(5, 3, generator=g),
                   logits_t=torch.randn(7, 3, generator=g), y_s=torch.tensor([0, 1, 2, 0, 1]),
                   progress=1.0, some_unknown=1)
    assert torch.isfinite(full)
    assert full.item() == pytest.approx(plain.item(), rel=1e-12)


@pytest.mark.parametrize("loss_name", ["mmd", "coral"])
def test_progress_does_not_change_schedule_free_losses(loss_name):
    f_s, f_t = _features(5, 7, 4, seed=32)
    loss_fn = LOSS_FACTORIES[loss_name](4)
    a = _call(loss_fn, f_s, f_t, progress=0.0).item()
    b = _call(loss_fn, f_s, f_t, progress=1.0).item()
    assert a == b


def test_dann_value_independent_of_progress_but_gradient_scaled():
    """λ only scales the reversed gradient; the loss value does not depend on it."""
    f_s, f_t = _features(5, 7, 4, seed=33)
    loss_fn = _dann(4, (8,), coeff=GaninSchedule())
    grads, values = [], []
    for p in (0.0, 0.3, 1.0):
        x = f_s.clone().requires_grad_(True)
        loss = _call(loss_fn, x, f_t, progress=p)
        loss.backward()
        values.append(loss.item())
        grads.append(x.grad.clone())
        loss_fn.zero_grad()
    assert values[0] == values[1] == values[2]
    assert torch.count_nonzero(grads[0]) == 0  # λ(0) = 0
    lam = [GaninSchedule()(p) for p in (0.3, 1.0)]
    torch.testing.assert_close(grads[1] / lam[0], grads[2] / lam[1], rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------------------------
# Regression: pairwise distances once used the |a|²+|b|²−2ab expansion, whose float32 residue
# (~1e-6) on identical rows wrecked the median bandwidth: identical float32 batches got MMD² up
# to ~1 and a 1-example domain's within-term was not k(x, x) = 1.
# --------------------------------------------------------------------------------------------

_ROW32 = (torch.arange(10, dtype=torch.float32) / 7).unsqueeze(0)


@pytest.mark.parametrize("m", [1, 5])
def test_mmd_identical_duplicated_rows_float32_is_zero(m):
    x = _ROW32.repeat(m, 1)
    assert abs(_call(MMDLoss(), x, x.clone()).item()) < 1e-5
