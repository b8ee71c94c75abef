"""Selection rules (`selection=<rule>`, da/selection/rules.py) and their wiring: validators that
cannot be computed, checkpoint directions, conf/selection, MCD's logits, and `selection=...` on a
real pair (the chosen checkpoint is the one tested, the fallback, the oracle labelled as such)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from da.config.instantiate import build
from da.errors import ConfigError
from da.selection import validators as V
from da.selection.callback import compute_all
from da.selection.checkpoint import SelectionCheckpoint
from da.selection.features import Outputs
from tests.helpers import PNG_SIGNATURE, QUICK, REPO


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


def test_checkpoint_monitor_and_mode_come_from_the_rule_not_the_config():
    with pytest.raises(ConfigError, match="mode follow from the rule.*remove mode"):
        SelectionCheckpoint("entropy", mode="max")
    with pytest.raises(ConfigError, match="selection rule 'entropie' has no validator"):
        SelectionCheckpoint("entropie")


def test_selection_configs_name_only_their_rule(compose_cfg):
    for path in sorted((REPO / "conf" / "selection").glob("*.yaml")):
        node = yaml.safe_load(path.read_text())
        assert node["rule"] == path.stem
        assert set(node) == ({"rule", "checkpoint"} if path.stem == "last" else {"rule"}), path
        cfg = compose_cfg([f"selection={path.stem}"])
        if path.stem == "last":
            assert cfg.selection.checkpoint is None
            continue
        checkpoint = build(cfg.selection.checkpoint, "selection.checkpoint")
        name = "oracle_target_acc" if path.stem == "oracle" else path.stem
        assert (checkpoint.monitor, checkpoint.mode) == (f"select/{name}", V.MODES[name])
    assert "ORACLE" in (REPO / "conf" / "selection" / "oracle.yaml").read_text()


def test_a_changed_direction_in_modes_changes_what_the_checkpoint_keeps(monkeypatch):
    monkeypatch.setitem(V.MODES, "entropy", "max")  # da.selection.checkpoint reads the same dict
    assert SelectionCheckpoint("entropy").mode == "max"
    monkeypatch.setitem(V.MODES, "entropy", "min")
    assert SelectionCheckpoint("entropy").mode == "min"
    assert SelectionCheckpoint("source_acc", fallback=True).filename == \
        "selected-fallback_source_acc-epoch{epoch}"


def test_mcd_logits_are_the_ensemble_of_both_heads():
    from da.encoders import MLPEncoder
    from da.methods.mcd import MCDModule
    module = MCDModule(encoder=MLPEncoder(in_dim=6, hidden_dims=[4]), num_classes=3).eval()
    f = module.encoder(torch.randn(5, 6))
    mean_prob = (module.head(f).softmax(1) + module.head2(f).softmax(1)) / 2
    assert torch.allclose(module.classify(f), mean_prob.log(), atol=1e-6)  # what validators read


# ----------------------------------------------------------------------------- end to end
def _run(compose_cfg, tmp_path: Path, overrides: list[str], capsys) -> tuple[dict, str]:
    from da.train import train
    cfg = compose_cfg([*QUICK, "logger=csv", *overrides])
    train(cfg, tmp_path)
    return json.loads((tmp_path / "metrics.json").read_text()), capsys.readouterr().out


def test_selection_entropy_tests_the_chosen_checkpoint(data_dir, tmp_path, compose_cfg, capsys):
    metrics, out = _run(compose_cfg, tmp_path, ["selection=entropy", "diagnostics.a_distance=true",
                                                "diagnostics.embedding_plot=true",
                                                "data.oracle_val=true"], capsys)
    assert metrics["test/selected_by/entropy"] == 1 and metrics["selection/fallback"] == 0
    for name in V.MODES:
        assert f"select/{name}" in metrics, name
    for key in ("diag/a_distance_init", "diag/a_distance", "diag/a_distance_svm_init",
                "diag/a_distance_svm"):
        assert 0 <= metrics[key] <= 2, key
    assert 0 <= metrics["diag/disc_acc_heldout"] <= 1  # DANN's discriminator, eval mode
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
