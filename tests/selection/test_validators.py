"""The label-free validators of model selection (da/selection/validators.py) on constructed
cases: importance weights, IWV, DEV, entropy, SND, prior KL, and what they refuse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from da.selection import validators as V


def test_importance_weights_are_one_for_identical_domains():
    rng = np.random.default_rng(0)
    w = V.importance_weights(rng.normal(size=(400, 5)), rng.normal(size=(1200, 5)))
    assert abs(w.mean() - 1) < 0.1
    assert np.median(np.abs(w - 1)) < 0.25


def test_importance_weights_follow_the_true_density_ratio():
    # source N(0, I), target N(mu e1, I): p_t/p_s = exp(mu x1 - mu^2 / 2)
    rng, mu = np.random.default_rng(1), 1.0
    f_s = rng.normal(size=(400, 3))
    f_t = rng.normal(size=(1200, 3)) + np.array([mu, 0, 0])
    w = V.importance_weights(f_s, f_t)
    true_log = mu * f_s[:, 0] - mu ** 2 / 2
    assert np.corrcoef(np.log(w), true_log)[0, 1] > 0.95
    assert abs(w.mean() - np.exp(true_log).mean()) < 0.3


def test_iwv_is_the_weighted_accuracy():
    weights, correct = np.array([2.0, 0.5, 1.0, 0.5]), np.array([1, 0, 1, 1])
    assert V.iwv(weights, correct) == pytest.approx((2 + 0 + 1 + 0.5) / 4)
    assert V.iwv(np.ones(4), correct) == pytest.approx(0.75)  # w = 1: plain accuracy


def test_dev_matches_a_hand_computed_example():
    # w = [.5, 1, 2, 1.5], l = [1, 2, 3, 4] -> w*l = [.5, 2, 6, 6], mean 3.625; mean(w) = 1.25;
    # Cov(wl, w) = 5.125 / 3, Var(w) = 1.25 / 3 -> eta = -4.1;
    # risk = 3.625 - 4.1 * 1.25 + 4.1 = 2.6
    assert V.dev(np.array([0.5, 1.0, 2.0, 1.5]), np.array([1.0, 2.0, 3.0, 4.0])) \
        == pytest.approx(2.6)
    # constant weights: no control variate, the weighted mean loss
    assert V.dev(np.full(3, 2.0), np.array([1.0, 2.0, 6.0])) == pytest.approx(6.0)


def test_entropy_matches_a_hand_computed_example():
    # a uniform prediction (log 2) and a certain one (0)
    assert V.entropy(np.array([[0.0, 0.0], [60.0, 0.0]])) == pytest.approx(math.log(2) / 2)


def test_snd_matches_a_hand_computed_example():
    # p ~ [1,0], [1,0], [0,1]: rows 1, 2 put all mass on each other (entropy ~0), row 3 sees
    # two neighbours at similarity 0 (uniform, entropy log 2) -> SND = log(2) / 3
    logits = np.array([[50.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    assert V.snd(logits, tau=0.05) == pytest.approx(math.log(2) / 3, abs=1e-6)


def snd_reference(logits: np.ndarray, tau: float) -> float:
    """SND with explicit loops (independent of the vectorized implementation)."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p = p / p.sum(1, keepdims=True)
    p = p / np.sqrt((p ** 2).sum(1, keepdims=True))
    total = 0.0
    for i in range(len(p)):
        sims = [float(p[i] @ p[j]) / tau for j in range(len(p)) if j != i]
        top = max(sims)
        z = sum(math.exp(s - top) for s in sims)
        total += -sum(math.exp(s - top) / z * (s - top - math.log(z)) for s in sims)
    return total / len(p)


def test_snd_matches_a_loop_reference():
    logits = np.random.default_rng(2).normal(size=(12, 4)) * 3
    assert V.snd(logits, tau=0.05) == pytest.approx(snd_reference(logits, 0.05), rel=1e-9)


def test_validators_refuse_what_they_cannot_compute():
    with pytest.raises(V.MissingValidator, match="3 target"):
        V.snd(np.zeros((2, 2)))
    with pytest.raises(V.MissingValidator):
        V.importance_weights(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(V.MissingValidator, match="not finite"):
        V.iwv(np.array([np.inf, 1.0]), np.array([1, 1]))


def test_prior_kl_is_zero_when_the_target_keeps_the_source_proportions():
    labels = np.array([0, 0, 0, 1])  # prior 3/4, 1/4
    logits = np.log(np.array([[0.75, 0.25]] * 5))
    assert V.prior_kl(logits, labels) == pytest.approx(0.0, abs=1e-12)


def test_prior_kl_matches_a_hand_computed_collapse():
    labels = np.array([0, 1, 0, 1])  # balanced
    logits = np.log(np.array([[0.99, 0.01], [0.61, 0.39]]))  # mean prediction (0.8, 0.2)
    expected = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.5 / 0.2)
    assert V.prior_kl(logits, labels) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(0.223, abs=1e-3)


def test_prior_kl_ignores_classes_absent_from_the_source_and_survives_a_dead_class():
    labels = np.array([0, 0, 1, 1])  # class 2 never seen in the source
    logits = np.array([[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]])
    expected = 2 * 0.5 * math.log(0.5 / (1 / (2 + math.exp(5))))
    assert V.prior_kl(logits, labels) == pytest.approx(expected, rel=1e-9)
    dead = np.array([[0.0, -1e4, 0.0]])  # class 1 gets probability 0 -> floored, finite
    assert np.isfinite(V.prior_kl(dead, labels))
    with pytest.raises(V.MissingValidator, match="prior_kl"):
        V.prior_kl(np.zeros((0, 2)), labels)
