"""Unsupervised validators: scores of a trained model that need no target labels.

Pure functions on NumPy arrays (logits, features, labels of the *source* validation part). Each
returns a float; :data:`MODES` says whether higher (``max``) or lower (``min``) is better. A
validator that cannot be computed raises :class:`MissingValidator` with the reason.

Logged per validation epoch as ``select/<name>`` by
:class:`da.selection.callback.SelectionCallback`; ``select/oracle_target_acc`` (target test
labels) is the **oracle**, for analysis only.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: Direction of every ``select/<name>`` score (the ModelCheckpoint ``mode``).
MODES: dict[str, str] = {"source_acc": "max", "entropy": "min", "iwv": "max", "dev": "min",
                         "snd": "max", "prior_kl": "min", "oracle_target_acc": "max"}


class MissingValidator(ValueError):
    """A validator cannot be computed for this run; the message says why."""


def _finite(value: float, name: str) -> float:
    if not np.isfinite(value):
        raise MissingValidator(f"{name} is not finite ({value})")
    return float(value)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose arg-max logit is the label (``select/source_acc``, the oracle)."""
    if len(labels) == 0:
        raise MissingValidator("no labeled examples")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def entropy(logits: np.ndarray) -> float:
    """Mean prediction entropy on the target, lower is better (Grandvalet & Bengio 2005; used
    as a validator by Morerio et al. 2018):

        H = (1/n) Σ_i −Σ_c p_ic log p_ic,   p_i = softmax(z_i)
    """
    if len(logits) == 0:
        raise MissingValidator("no target examples")
    log_p = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    return _finite(float(-(np.exp(log_p) * log_p).sum(axis=1).mean()), "entropy")


def importance_weights(f_source: np.ndarray, f_target: np.ndarray, folds: int = 5,
                       c: float = 1.0, eps: float = 1e-3) -> np.ndarray:
    """Density ratio ``w(x) = p_t(x)/p_s(x)`` at every row of ``f_source``, from a domain
    classifier (Sugiyama et al., JMLR 2007; Bickel et al. 2007): a standardized logistic
    regression of source (s) vs target (t) features, and

        w(x) = p(t|x) / p(s|x) · n_s / n_t          (p(t|x) clipped to [eps, 1 − eps])

    with ``n_s``, ``n_t`` the classifier's training counts. The weights are **cross-fitted**: the
    source rows are split into ``folds`` folds and each row's weight comes from a classifier
    fitted on the other folds and all target rows, so no row is scored by a classifier that saw
    it (an in-sample fit gives over-confident, exploding weights).

    Args:
        f_source: ``(n_s, d)`` features of held-out source examples (the source validation part).
        f_target: ``(n_t, d)`` target features.
        folds: cross-fitting folds (at most ``n_s``).
        c: inverse L2 regularization strength.
        eps: probability clipping; bounds each weight by ``(1 − eps)/eps · n_s/n_t``.
    """
    n_s, n_t = len(f_source), len(f_target)
    folds = min(folds, n_s)
    if folds < 2 or n_t < 2:
        raise MissingValidator(f"domain classifier needs >= 2 examples per domain (source "
                               f"{n_s}, target {n_t})")
    xs, xt = np.asarray(f_source, np.float64), np.asarray(f_target, np.float64)
    fold = np.arange(n_s) % folds
    weights = np.empty(n_s)
    for k in range(folds):
        fit = fold != k
        x = np.concatenate([xs[fit], xt])
        y = np.concatenate([np.zeros(fit.sum()), np.ones(n_t)])
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        p_t = np.clip(clf.fit(x, y).predict_proba(xs[~fit])[:, 1], eps, 1 - eps)
        weights[~fit] = p_t / (1 - p_t) * (fit.sum() / n_t)
    if not np.all(np.isfinite(weights)):
        raise MissingValidator("importance weights are not finite")
    return weights


def iwv(weights: np.ndarray, correct: np.ndarray) -> float:
    """Importance-weighted validation accuracy (Sugiyama et al. 2007), higher is better:
    ``IWV = (1/n) Σ_i w(x_i) · 1[ŷ_i = y_i]`` over the source validation part, an unbiased
    estimate of the target accuracy when ``w = p_t/p_s``.
    """
    if len(weights) == 0:
        raise MissingValidator("no source validation examples")
    return _finite(float(np.mean(np.asarray(weights) * np.asarray(correct, dtype=np.float64))),
                   "iwv")


def dev(weights: np.ndarray, losses: np.ndarray) -> float:
    """Deep Embedded Validation risk (You et al., ICML 2019, Alg. 1), **lower is better**:

        L = mean(w·l) + η·mean(w) − η,   η = −Cov(w·l, w) / Var(w)

    with per-example source-validation losses ``l`` (cross-entropy) and importance weights ``w``;
    Cov and Var are sample estimates (ddof = 1) as in the authors' code. The control variate
    ``η·(mean(w) − 1)`` uses ``E[w] = 1``; when ``Var(w) = 0`` it is dropped (η = 0).
    """
    w, l = np.asarray(weights, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if len(w) < 2:
        raise MissingValidator(f"DEV needs >= 2 source validation examples, got {len(w)}")
    wl = w * l
    var_w = np.var(w, ddof=1)
    eta = 0.0 if var_w == 0 else -np.cov(wl, w, ddof=1)[0, 1] / var_w
    return _finite(float(wl.mean() + eta * w.mean() - eta), "dev")


def snd(logits: np.ndarray, tau: float = 0.05) -> float:
    """Soft Neighborhood Density (Saito et al., ICCV 2021), higher is better.

    With ``p_i = softmax(z_i) / ‖softmax(z_i)‖`` (target examples), similarities
    ``S_ij = p_i·p_j`` for ``j ≠ i`` (self excluded), row distributions
    ``A_i = softmax_j(S_ij / τ)`` and ``SND = (1/n) Σ_i −Σ_j A_ij log A_ij``.
    """
    z = np.asarray(logits, dtype=np.float64)
    if len(z) < 3:
        raise MissingValidator(f"SND needs >= 3 target examples, got {len(z)}")
    p = softmax(z, axis=1)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    sim = p @ p.T / tau
    np.fill_diagonal(sim, -np.inf)
    log_a = log_softmax(sim, axis=1)
    a = np.exp(log_a)
    ent = -(a * np.where(np.isfinite(log_a), log_a, 0.0)).sum(axis=1)
    return _finite(float(ent.mean()), "snd")


#: The collapse guard's threshold on ``prior_kl`` (``da-tune --max-prior-kl``, the ``†`` of
#: ``da-compare`` tables): KL(0.5, 0.5 ‖ 0.65, 0.35) = 0.046, rounded up.
MAX_PRIOR_KL = 0.05


def prior_kl(target_logits: np.ndarray, source_labels: np.ndarray, floor: float = 1e-12) -> float:
    """Class-collapse guard: KL divergence from the source class prior to the mean target
    prediction, **lower is better** (0 when the target predictions keep the source proportions):

        KL(π ‖ p̄) = Σ_c π_c log(π_c / p̄_c),   π_c = share of class c among the source labels,
                                               p̄ = (1/n) Σ_i softmax(z_i)  over target rows

    ``p̄`` is the quantity the diversity term of information maximization keeps spread out (Gomes
    et al., NeurIPS 2010; Liang et al., SHOT, ICML 2020). A method that pushes every target
    example into one class (a known failure of entropy minimization) drives it up: for two
    balanced classes a 65/35 split gives 0.046, 80/20 gives 0.22, 99/1 gives 1.6. It assumes the
    target class proportions are close to the source's (no large label shift). It is a *guard*,
    not a ranking: source-only training usually scores well on it. ``da-tune`` uses it to set
    collapsed settings aside (``--max-prior-kl``).
    """
    z = np.asarray(target_logits, dtype=np.float64)
    labels = np.asarray(source_labels)
    if len(z) == 0 or len(labels) == 0:
        raise MissingValidator("prior_kl needs target examples and source labels")
    prior = np.bincount(labels, minlength=z.shape[1])[: z.shape[1]] / len(labels)
    mean_prediction = np.maximum(softmax(z, axis=1).mean(axis=0), floor)
    present = prior > 0
    return _finite(float(np.sum(prior[present] * np.log(prior[present] /
                                                         mean_prediction[present]))), "prior_kl")
