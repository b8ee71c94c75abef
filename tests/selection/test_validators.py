"""Model selection without target labels (da/selection): validators on constructed cases,
A-distance, the embedding plot, the fallback, and `da-train selection=...` on a real pair."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from da.errors import ConfigError
from da.selection import validators as V
from da.selection.callback import compute_all
from da.selection.checkpoint import SelectionCheckpoint
from da.selection.diagnostics import a_distance
from da.selection.embedding import embedding_plot
from da.selection.features import Outputs, class_logits
from tests.helpers import PNG_SIGNATURE, QUICK, REPO


# ----------------------------------------------------------------------------- validators
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


# ----------------------------------------------------------------------------- diagnostics
def test_a_distance_is_zero_for_identical_and_two_for_separable_domains():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(600, 10)), rng.normal(size=(600, 10))
    assert a_distance(a, b) < 0.3
    assert a_distance(a, a.copy()) < 0.3  # the very same points: no classifier can split them
    assert a_distance(a, b + np.eye(10)[0] * 10) > 1.95
    with pytest.raises(ValueError, match=">= 4"):
        a_distance(a[:3], b)


def test_embedding_plot_writes_a_valid_png(tmp_path):
    rng = np.random.default_rng(4)
    path = embedding_plot(rng.normal(size=(40, 6)), rng.integers(0, 2, 40),
                          rng.normal(size=(40, 6)) + 2, rng.integers(0, 2, 40),
                          tmp_path / "embedding.png", ["neg", "pos"], title="t")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    from PIL import Image
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100


# ----------------------------------------------------------------------------- wiring
def _outputs(n: int, rng: np.random.Generator) -> Outputs:
    return Outputs(rng.normal(size=(n, 4)), rng.normal(size=(n, 2)), rng.integers(0, 2, n))


def test_too_few_target_examples_make_validators_missing_with_a_reason():
    rng = np.random.default_rng(5)
    out = {"source_val": _outputs(50, rng), "target_train": _outputs(5, rng),
           "target_test": _outputs(30, rng)}
    scores, missing = compute_all(out, min_samples=20)
    assert set(scores) == {"source_acc", "oracle_target_acc"}
    assert set(missing) == {"entropy", "iwv", "dev", "snd", "prior_kl"}
    assert all("too few target training examples: 5 < " in r for r in missing.values())


def test_checkpoint_mode_must_match_the_validator_direction():
    with pytest.raises(ConfigError, match="mode: min"):
        SelectionCheckpoint("entropy", "select/entropy", "max")


def test_selection_configs_monitor_the_validator_in_its_direction():
    for path in sorted((REPO / "conf" / "selection").glob("*.yaml")):
        node = yaml.safe_load(path.read_text())
        assert node["rule"] == path.stem
        if path.stem == "last":
            assert node["checkpoint"] is None
            continue
        name = "oracle_target_acc" if path.stem == "oracle" else path.stem
        assert node["checkpoint"]["monitor"] == f"select/{name}"
        assert node["checkpoint"]["mode"] == V.MODES[name]
    assert "ORACLE" in (REPO / "conf" / "selection" / "oracle.yaml").read_text()


def test_mcd_logits_are_the_ensemble_of_both_heads():
    from da.encoders import MLPEncoder
    from da.methods.mcd import MCDModule
    module = MCDModule(encoder=MLPEncoder(in_dim=6, hidden_dims=[4]), num_classes=3).eval()
    x = torch.randn(5, 6)
    assert torch.allclose(class_logits(module, module.encoder(x)), module(x))


# ----------------------------------------------------------------------------- end to end
def _run(compose_cfg, tmp_path: Path, overrides: list[str], capsys) -> tuple[dict, str]:
    from da.train import train
    cfg = compose_cfg([*QUICK, "logger=csv", *overrides])
    train(cfg, tmp_path)
    return json.loads((tmp_path / "metrics.json").read_text()), capsys.readouterr().out


def test_selection_entropy_tests_the_chosen_checkpoint(data_dir, tmp_path, compose_cfg, capsys):
    metrics, out = _run(compose_cfg, tmp_path, ["selection=entropy", "diagnostics.a_distance=true",
                                                "diagnostics.embedding_plot=true"], capsys)
    assert metrics["test/selected_by/entropy"] == 1 and metrics["selection/fallback"] == 0
    for name in V.MODES:
        assert f"select/{name}" in metrics, name
    assert 0 <= metrics["diag/a_distance_init"] <= 2 and 0 <= metrics["diag/a_distance"] <= 2
    epoch = int(metrics["selection/epoch"])
    assert (tmp_path / "checkpoints" / f"selected-entropy-epoch{epoch}.ckpt").is_file()
    with open(tmp_path / "csv" / "metrics.csv") as f:  # the tested model is that epoch's
        rows = [r for r in csv.DictReader(f) if r["select/entropy"]]
    chosen = min(rows, key=lambda r: float(r["select/entropy"]))
    assert int(chosen["epoch"]) == epoch
    assert float(chosen["val/target_acc_oracle"]) == pytest.approx(metrics["test/target_acc"])
    assert (tmp_path / "embedding.png").read_bytes()[:8] == PNG_SIGNATURE
    assert f"epoch {epoch}, chosen by entropy" in out


def test_missing_validator_falls_back_to_source_acc(data_dir, tmp_path, compose_cfg, capsys):
    metrics, out = _run(compose_cfg, tmp_path, [
        "selection=iwv", "target.max_examples=16", "data.batch_size=16",
        "diagnostics.embedding_plot=false"], capsys)
    assert metrics["test/selected_by/source_acc"] == 1 and metrics["selection/fallback"] == 1
    assert "select/iwv" not in metrics and metrics["select/iwv_missing"] == 2  # both epochs
    assert "select/source_acc" in metrics
    assert "fallback: selection=iwv could not be computed" in out
    assert "iwv (too few target training examples: 16 < validators.min_samples=20)" in out


def test_selection_oracle_is_labelled_oracle(data_dir, tmp_path, compose_cfg, capsys):
    metrics, out = _run(compose_cfg, tmp_path, [
        "selection=oracle", "diagnostics.embedding_plot=false", "diagnostics.a_distance=false",
        "trainer.max_epochs=1"], capsys)
    assert metrics["test/selected_by/oracle"] == 1
    assert "chosen by ORACLE select/oracle_target_acc" in out
