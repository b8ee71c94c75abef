"""``validators.final_only`` (da-tune scores the final model): the validators run at the run's last
validation only, in epoch-based and step-based runs (da/selection/callback.py)."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from da.errors import ConfigError
from da.selection.callback import final_validation


def _at(current_epoch=0, global_step=0, max_epochs=-1, max_steps=-1, batches=15, per_batch=1):
    trainer = SimpleNamespace(current_epoch=current_epoch, global_step=global_step,
                              max_epochs=max_epochs, max_steps=max_steps,
                              num_training_batches=batches)
    return trainer, SimpleNamespace(optimizer_steps_per_batch=per_batch)


@pytest.mark.parametrize("state,last", [
    (dict(current_epoch=1, max_epochs=3), False), (dict(current_epoch=2, max_epochs=3), True),
    # the digits' M -> U run: 15 batches per epoch, 10,000 steps; the epoch ending at step 9,990
    # is the last one validated (the next is cut after 10 batches)
    (dict(global_step=9975, max_steps=10000), False), (dict(global_step=9990, max_steps=10000), True),
    # U -> M: 16 batches per epoch, 625 whole epochs
    (dict(global_step=9984, max_steps=10000, batches=16), False),
    (dict(global_step=10000, max_steps=10000, batches=16), True),
    # MCD: 7 optimizer steps per batch, 14 batches per epoch, 19,600 steps
    (dict(global_step=19502, max_steps=19600, batches=14, per_batch=7), False),
    (dict(global_step=19600, max_steps=19600, batches=14, per_batch=7), True),
])
def test_the_last_validation_of_epoch_and_step_based_runs(state, last):
    assert final_validation(*_at(**state)) is last


@pytest.fixture
def vectors(tmp_path):
    rng = np.random.default_rng(0)
    for name, shift in (("a", 0.0), ("b", 0.5)):
        y = np.arange(300) % 2
        np.savez(tmp_path / f"{name}.npz", X=rng.normal(size=(300, 4)) + shift + 2.0 * y[:, None],
                 y=y)
    return tmp_path


def _config(vectors, *extra):
    from da.train import compose_config
    return compose_config([
        "source=features", f"source.path={vectors / 'a.npz'}", "target=features",
        f"target.path={vectors / 'b.npz'}", "encoder=mlp", "method=source_only", "seed=0",
        "trainer.enable_progress_bar=false", "logger=csv", "validators.enabled=true",
        "validators.final_only=true", *extra], vectors / "run")


def test_a_step_based_run_computes_the_validators_once_at_its_last_validation(vectors):
    """4 batches per epoch (270 source training rows, batch 64) and 23 steps: epochs end at steps
    4, 8, ..., 20 and the run stops inside the sixth; select/* must be logged once, at the fifth
    validation (step 20), and be in metrics.json."""
    from da.train import train
    metrics = train(_config(vectors, "trainer.max_epochs=-1", "+trainer.max_steps=23"),
                    vectors / "run")
    assert "select/dev" in metrics and "select/prior_kl" in metrics
    with open(vectors / "run" / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    validated = [r for r in rows if r.get("val/source_acc")]
    scored = [r for r in rows if r.get("select/dev")]
    assert len(validated) == 5 and len(scored) == 1
    assert scored[0]["step"] == validated[-1]["step"]


def test_a_selection_rule_needs_every_epochs_scores(vectors):
    from da.train import train
    with pytest.raises(ConfigError, match="validators.final_only=false"):
        train(_config(vectors, "selection=dev", "trainer.max_epochs=2"), vectors / "run")
