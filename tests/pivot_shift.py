"""The pivot shift of tests/test_adaptation.py (a shift where source-only fails and the unlabeled
target lets a method adapt) and a one-run helper, shared with the tests of single methods."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from da.train import compose_config, train

#: training length of every run here (short, but long enough for the ramps to reach their value)
EPOCHS = 20


def pivot_shift(n: int, domain: int, seed: int, k: int = 8, pivot: float = 0.4,
                strong: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples of domain 0 (source) or 1 (target): ``[pivots | source-only | target-only]``.

    Pivots: ``pivot · s + N(0, 1)`` with ``s = ±1`` the class sign (weak: Bayes accuracy
    Φ(pivot·√k) ≈ 0.87 for the defaults, and source-only gets 0.87); the domain's own block:
    ``strong · s + N(0, 1)``; the other domain's block: zeros. Classes are balanced in expectation.
    """
    rng = np.random.default_rng([seed, domain])
    y = rng.integers(0, 2, n)
    sign = (2 * y - 1)[:, None]
    pivots = pivot * sign + rng.standard_normal((n, k))
    own = strong * sign + rng.standard_normal((n, k))
    silent = np.zeros((n, k))
    blocks = [pivots, own, silent] if domain == 0 else [pivots, silent, own]
    return np.concatenate(blocks, 1).astype(np.float32), y


def write_shift(folder: Path) -> Path:
    """``source.npz`` and ``target.npz`` (800 examples each, seed 0) in ``folder``."""
    for domain, name in enumerate(("source", "target")):
        x, y = pivot_shift(800, domain, seed=0)
        np.savez(folder / f"{name}.npz", X=x, y=y)
    return folder


def target_accuracy(folder: Path, method: str, *extra: str, epochs: int = EPOCHS) -> float:
    """``test/target_acc`` of one in-process ``da-train`` run of ``method`` on the shift."""
    out = folder / f"run-{method}-{epochs}-{abs(hash(extra))}"
    cfg = compose_config([
        "source=features", f"source.path={folder / 'source.npz'}", "source.name=src",
        "target=features", f"target.path={folder / 'target.npz'}", "target.name=tgt",
        "encoder=mlp", f"method={method}", f"trainer.max_epochs={epochs}", "seed=0",
        "trainer.enable_progress_bar=false", "logger=none", "callbacks=none", *extra], out)
    with contextlib.redirect_stdout(io.StringIO()):
        return float(train(cfg, out)["test/target_acc"])
