"""Marginalized stacked denoising autoencoder (mSDA) features for bag-of-words domains.

Chen, Xu, Weinberger and Sha, "Marginalized Denoising Autoencoders for Domain Adaptation",
ICML 2012. One layer learns, in closed form, the linear map ``W`` that best reconstructs an
input ``x`` from copies of it whose features were each dropped with probability ``p``, in the
limit of infinitely many corrupted copies. With ``x̄ = [x; 1]`` (a bias feature that is never
dropped), ``S = Σ_i x̄_i x̄_iᵀ`` over the fitting examples and ``q = [1-p, …, 1-p, 1]``::

    Q_jk = S_jk q_j q_k  (j ≠ k),    Q_jj = S_jj q_j          (expected  Σ x̃ x̃ᵀ)
    P_jk = S_jk q_j                  (k: the d input features) (expected  Σ x̃ xᵀ)
    W = (Q + λI)⁻¹ P,    h = tanh(x̄ᵀ W)                        (d + 1 → d)

Layers are stacked (layer ``l`` is fitted on the outputs of layer ``l - 1``) and the
representation is the input concatenated with every layer's output, ``[x, h_1, …, h_L]``: the
``5000 · (L + 1)``-d features that Ganin et al. (JMLR 2016, §5.1.2) feed to DANN. The fit uses
no labels, so it may (and in the DA setting should) see the unlabeled target training inputs.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def msda_layer(x: np.ndarray, noise: float, reg: float = 1e-5) -> np.ndarray:
    """The closed-form denoising map ``W`` of shape ``(d + 1, d)`` for inputs ``x`` ``(n, d)``."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1), dtype=x.dtype)]).astype(np.float64)
    scatter = xb.T @ xb
    keep = np.full(d + 1, 1.0 - noise)
    keep[-1] = 1.0  # the bias is never dropped
    q_matrix = scatter * np.outer(keep, keep)
    np.fill_diagonal(q_matrix, keep * np.diag(scatter))
    p_matrix = scatter[:, :d] * keep[:, None]
    ridge = reg * np.eye(d + 1)
    ridge[-1, -1] = 0.0  # as Chen et al.'s code: no penalty on the bias row
    return np.linalg.solve(q_matrix + ridge, p_matrix).astype(np.float32)


class MSDA:
    """Stacked mSDA, fitted on unlabeled vectors and applied to any vectors of the same width.

    Args:
        layers: number of stacked layers ``L`` (5 in Ganin et al. 2016 and Chen et al. 2012).
        noise: feature-dropout probability ``p`` of the marginalized corruption (Chen et al.
            pick it by cross-validation; ``da`` fixes 0.5, the middle of their range, untuned).
        reg: ridge ``λ`` added to ``Q`` for a stable solve.
    """

    version = 1  # part of the cache key: bump when the computation changes

    def __init__(self, layers: int = 5, noise: float = 0.5, reg: float = 1e-5) -> None:
        if int(layers) < 1:
            raise ValueError(f"mSDA layers must be >= 1, got {layers}")
        if not 0.0 <= noise < 1.0:
            raise ValueError(f"mSDA noise must be in [0, 1), got {noise}")
        self.layers, self.noise, self.reg = int(layers), float(noise), float(reg)
        self.weights: list[np.ndarray] = []
        self.fit_key: str | None = None  # the inputs it was fitted on (da.encoders.vectors.denoise)

    def fingerprint(self) -> str:
        return f"msda-v{self.version}-L{self.layers}-p{self.noise}-r{self.reg}"

    def fit(self, x: np.ndarray) -> "MSDA":
        """Fit every layer on ``x`` ``(n, d)`` (no labels)."""
        self.weights, hidden = [], np.asarray(x, dtype=np.float32)
        for layer in range(self.layers):
            self.weights.append(msda_layer(hidden, self.noise, self.reg))
            hidden = self._apply(hidden, self.weights[-1])
            log.info("mSDA layer %d/%d fitted on %d examples", layer + 1, self.layers, len(x))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``[x, h_1, …, h_L]`` as float32 ``(n, d · (L + 1))``."""
        if not self.weights:
            raise RuntimeError("MSDA.transform before fit")
        outputs = [np.asarray(x, dtype=np.float32)]
        for weight in self.weights:
            outputs.append(self._apply(outputs[-1], weight))
        return np.hstack(outputs)

    @staticmethod
    def _apply(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return np.tanh(x @ weight[:-1] + weight[-1])

