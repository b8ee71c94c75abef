"""2-D t-SNE picture of source vs target features (``embedding.png`` in the run dir)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.manifold import TSNE

from da.data.types import UNLABELED

_MARKERS = "o^sDvP*X<>"


def tsne_2d(features: np.ndarray, seed: int = 0, iterations: int = 500) -> np.ndarray:
    """t-SNE (van der Maaten & Hinton 2008, scikit-learn) of ``(n, d)`` features to ``(n, 2)``.

    Perplexity ``min(30, (n − 1)/3)``, PCA initialization, ``iterations`` gradient steps (500:
    about half the cost of scikit-learn's default 1000, and enough for a picture).
    """
    n = len(features)
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
    steps = "max_iter" if "max_iter" in TSNE().get_params() else "n_iter"  # sklearn < 1.5
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                **{steps: iterations}).fit_transform(np.asarray(features, dtype=np.float32))


def embedding_plot(f_source: np.ndarray, y_source: np.ndarray, f_target: np.ndarray,
                   y_target: np.ndarray, path: Path, classes: Sequence[str] | None = None,
                   title: str = "", seed: int = 0) -> Path:
    """Save a two-panel t-SNE plot of both domains' features as PNG.

    Left: colour = domain (blue source, orange target), marker = class. Right: colour = class
    (green, red, ...), marker = domain (o source, ^ target). Subsample the inputs first: t-SNE
    costs seconds for ~2000 points.

    Raises:
        ImportError: matplotlib is not installed (``pip install -e ".[sweep]"``).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xy = tsne_2d(np.concatenate([f_source, f_target]), seed)
    n_s = len(f_source)
    parts = [("source", xy[:n_s], np.asarray(y_source), "o"),
             ("target", xy[n_s:], np.asarray(y_target), "^")]
    labels = sorted({int(c) for _, _, y, _ in parts for c in y})
    names = {c: (classes[c] if classes is not None and 0 <= c < len(classes) else str(c))
             for c in labels}
    names[UNLABELED] = "unlabeled"  # a target declared unlabeled: grey, one marker
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
    for (domain, pts, y, _), colour in zip(parts, ("tab:blue", "tab:orange")):
        for c in labels:
            sel = y == c
            left.scatter(pts[sel, 0], pts[sel, 1], s=8, alpha=0.6, c=colour,
                         marker=_MARKERS[c % len(_MARKERS)], label=f"{domain} / {names[c]}")
    for domain, pts, y, marker in parts:
        for c in labels:
            sel = y == c
            colour = "tab:gray" if c == UNLABELED else f"C{(c + 2) % 10}"
            right.scatter(pts[sel, 0], pts[sel, 1], s=8, alpha=0.6, marker=marker,
                          c=colour, label=f"{names[c]} ({domain})")
    left.set_title("by domain (colour)")
    right.set_title("by class (colour)")
    for axis in (left, right):
        axis.legend(fontsize=7, markerscale=2)
        axis.set_xticks([])
        axis.set_yticks([])
    fig.suptitle(title or "t-SNE of encoder features")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
    return path
