"""Adaptation happens: every method of conf/method beats source-only on a shift where it fails.

The shift (:func:`pivot_shift`) is the structure of cross-domain sentiment, in miniature
(Blitzer et al. 2007): each example has ``k`` *pivot* features that carry a weak class signal in
both domains, and ``k`` *domain-specific* features that carry a strong class signal but are
present in one domain only (zero in the other). Source-only training leans on the source-specific
features, which are silent on the target, and its target accuracy rests on the weak pivots.
Using the unlabeled target (aligning features, or the cluster assumption) lets a method put the
target-specific features to work and approach the in-domain accuracy.

Each method runs with its own ``conf/method/<name>.yaml`` (the shipped defaults) through the same
composition as ``da-train``; only the data and the training length are the test's. The margin
over source-only was set from measured values (see ``MARGIN``). With the alignment term cut
(its input detached, or its weight 0) every one of these tests fails: that mutation was run and
is listed in the closing note of the issue that added them.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from da.train import compose_config, train
from tests.helpers import METHODS

#: every method but source-only itself
ADAPTING = [m for m in METHODS if m != "source_only"]
#: target accuracy a method must add over source-only: measured gains with the shipped defaults
#: were +0.096 (cdan) to +0.125 (cdan_e) at seed 0 and +0.100 to +0.125 at seed 1 (the five
#: methods re-tuned with the collapse guard: +0.113 to +0.125 on both seeds); with the
#: alignment term cut (its inputs detached; MCD's step C on detached features) they got
#: 0.804-0.892 against source-only's 0.871 and all 11 tests failed
MARGIN = 0.06
#: training length of every run here (short, but long enough for the ramps to reach their value)
EPOCHS = 20


def pivot_shift(n: int, domain: int, seed: int, k: int = 8, pivot: float = 0.4,
                strong: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples of domain 0 (source) or 1 (target): ``[pivots | source-only | target-only]``.

    Pivots: ``pivot · s + N(0, 1)`` with ``s = ±1`` the class sign (weak: Bayes accuracy
    Φ(pivot·√k) ≈ 0.87 for the defaults, and source-only gets 0.87); the domain's own block: ``strong · s + N(0, 1)``; the
    other domain's block: zeros. Classes are balanced in expectation.
    """
    rng = np.random.default_rng([seed, domain])
    y = rng.integers(0, 2, n)
    sign = (2 * y - 1)[:, None]
    pivots = pivot * sign + rng.standard_normal((n, k))
    own = strong * sign + rng.standard_normal((n, k))
    silent = np.zeros((n, k))
    blocks = [pivots, own, silent] if domain == 0 else [pivots, silent, own]
    return np.concatenate(blocks, 1).astype(np.float32), y


@pytest.fixture(scope="module")
def shift(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("shift")
    for domain, name in enumerate(("source", "target")):
        x, y = pivot_shift(800, domain, seed=0)
        np.savez(folder / f"{name}.npz", X=x, y=y)
    return {"folder": folder, "source_only": target_accuracy(folder, "source_only")}


def target_accuracy(folder: Path, method: str, *extra: str) -> float:
    """``test/target_acc`` of one in-process ``da-train`` run of ``method`` on the shift."""
    out = folder / f"run-{method}-{abs(hash(extra))}"
    cfg = compose_config([
        "source=features", f"source.path={folder / 'source.npz'}", "source.name=src",
        "target=features", f"target.path={folder / 'target.npz'}", "target.name=tgt",
        "encoder=mlp", f"method={method}", f"trainer.max_epochs={EPOCHS}", "seed=0",
        "trainer.enable_progress_bar=false", "logger=none", "callbacks=none", *extra], out)
    with contextlib.redirect_stdout(io.StringIO()):
        return float(train(cfg, out)["test/target_acc"])


def test_source_only_fails_on_the_shift(shift):
    # the shift is real: source-only is well below what the target allows (the methods reach
    # 0.97-0.99) ...
    assert shift["source_only"] < 0.90
    # ... and the target is balanced, so the majority class is about 0.5
    _, y = pivot_shift(800, 1, seed=0)
    assert abs(y.mean() - 0.5) < 0.05


@pytest.mark.parametrize("method", ADAPTING)
def test_method_beats_source_only(shift, method):
    accuracy = target_accuracy(shift["folder"], method)
    assert accuracy >= shift["source_only"] + MARGIN, (
        f"{method}: target accuracy {accuracy:.3f}, source-only {shift['source_only']:.3f}")
