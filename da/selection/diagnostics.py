"""Domain-discrepancy diagnostics on encoder features: the proxy A-distance."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def a_distance(f_source: np.ndarray, f_target: np.ndarray, seed: int = 0,
               c: float = 1.0) -> float:
    """Proxy A-distance (Ben-David et al., NIPS 2007 / ML 2010; Ganin et al. 2016, Sec. 6.1.3).

    Both domains are subsampled to the same size ``n = min(n_s, n_t)`` (seeded), a linear
    classifier (standardized logistic regression) learns source vs target on a stratified half
    and its error ``ε`` on the other half gives

        d_A = 2 (1 − 2ε),  clipped to [0, 2]

    (≈ 0: the domains cannot be told apart; 2: linearly separable).

    Args:
        f_source: ``(n_s, d)`` source features.
        f_target: ``(n_t, d)`` target features.
        seed: seed of the subsampling and the split.
        c: inverse L2 regularization strength of the classifier.

    Raises:
        ValueError: fewer than 4 examples in a domain.
    """
    n = min(len(f_source), len(f_target))
    if n < 4:
        raise ValueError(f"proxy A-distance needs >= 4 examples per domain, got "
                         f"{len(f_source)} source and {len(f_target)} target")
    rng = np.random.default_rng(seed)
    xs = np.asarray(f_source, dtype=np.float64)[rng.choice(len(f_source), n, replace=False)]
    xt = np.asarray(f_target, dtype=np.float64)[rng.choice(len(f_target), n, replace=False)]
    x, y = np.concatenate([xs, xt]), np.concatenate([np.zeros(n), np.ones(n)])
    x_fit, x_eval, y_fit, y_eval = train_test_split(x, y, test_size=0.5, stratify=y,
                                                    random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    error = float(np.mean(clf.fit(x_fit, y_fit).predict(x_eval) != y_eval))
    return float(np.clip(2.0 * (1.0 - 2.0 * error), 0.0, 2.0))
