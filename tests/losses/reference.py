"""Independent float64 NumPy references of the alignment losses (da/losses), for their tests.

Not a test module: tests/losses/test_<loss>.py import it. The references are written from the
formulas in the losses' module docstrings (and the papers), never by calling the torch code:

* pairwise distances from explicit differences (not the ``|a|² + |b|² − 2ab`` expansion), sums
  over ``i ≠ j`` with explicit masks (MMD, JMMD);
* the discriminators of DANN and CDAN re-evaluated from their extracted weights, CDAN's
  randomized map from its extracted random matrices;
* softmax and entropy from exponentials, the nuclear norm from ``np.linalg.svd`` (BNM), MCC's
  class confusion with explicit loops over classes and an explicit off-diagonal mask.

Gradients are analytic where given (MMD with the bandwidth held constant, CORAL, DANN, entropy,
BNM) or central finite differences of a reference (:func:`numeric_grad`).
"""

from __future__ import annotations

import math

import numpy as np
from torch import nn

from da.losses import CDANLoss

#: The default bandwidth multipliers of MMDLoss and JMMDLoss (features).
MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)


# --------------------------------------------------------------------------------------------
# Kernels and MMD
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


# --------------------------------------------------------------------------------------------
# CORAL
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# DANN: the discriminator re-evaluated from its weights
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Entropy, BNM, MCC (target predictions)
# --------------------------------------------------------------------------------------------

def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_entropy_rows(p: np.ndarray) -> np.ndarray:
    logs = np.log(np.where(p > 0, p, 1.0))  # 0 · log 0 = 0
    return -(p * logs).sum(1)


def np_entropy_loss(z: np.ndarray) -> float:
    return float(np_entropy_rows(np_softmax(z)).mean())


def np_entropy_grad(z: np.ndarray) -> np.ndarray:
    """∂/∂z_ic of mean_i H(softmax(z_i)) = −p_ic (log p_ic + H_i) / n."""
    p = np_softmax(z)
    h = np_entropy_rows(p)[:, None]
    return -p * (np.log(p) + h) / len(z)


def np_bnm(z: np.ndarray) -> float:
    return float(-np.linalg.svd(np_softmax(z), compute_uv=False).sum() / len(z))


def np_bnm_grad(z: np.ndarray) -> np.ndarray:
    """∂(−‖A‖_*/n)/∂A = −U Vᵀ / n (thin SVD, full rank); through softmax row by row:
    ∂/∂z_i = (diag(p_i) − p_i p_iᵀ) g_i."""
    p = np_softmax(z)
    u, _, vt = np.linalg.svd(p, full_matrices=False)
    g = -(u @ vt) / len(z)
    return np.stack([(np.diag(pi) - np.outer(pi, pi)) @ gi for pi, gi in zip(p, g)])


def np_mcc_weights(z: np.ndarray, temperature: float = 2.5) -> np.ndarray:
    y = np_softmax(z / temperature)
    h = np_entropy_rows(y)
    w = 1.0 + np.exp(-h)
    return len(z) * w / w.sum()


def np_mcc(z: np.ndarray, temperature: float = 2.5, weights: np.ndarray | None = None) -> float:
    """Jin et al. 2020: temperature softmax, entropy weights, class correlation, row
    normalization, mean over classes of the off-diagonal sum."""
    y = np_softmax(z / temperature)
    w = np_mcc_weights(z, temperature) if weights is None else weights
    k = y.shape[1]
    c = np.zeros((k, k))
    for j in range(k):
        for jj in range(k):
            c[j, jj] = float(np.sum(y[:, j] * w * y[:, jj]))
    c_norm = c / c.sum(1, keepdims=True)
    off = ~np.eye(k, dtype=bool)
    return float(np.abs(c_norm[off]).sum() / k)


def numeric_grad(f, z: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(z)
    for index in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


# --------------------------------------------------------------------------------------------
# CDAN and JMMD (features and predictions)
# --------------------------------------------------------------------------------------------

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
