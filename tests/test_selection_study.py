"""scripts/selection_study.py on two hand-made runs of one pair."""

from __future__ import annotations

import csv
import importlib.util

import pytest
import yaml

from tests.helpers import REPO

spec = importlib.util.spec_from_file_location("selection_study",
                                              REPO / "scripts" / "selection_study.py")
study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(study)

COLUMNS = ["epoch", "step", "select/source_acc", "select/entropy", "select/oracle_target_acc",
           "train/loss"]


def write_run(root, method: str, rows: list[tuple]) -> None:
    run = root / f"0_{method}"
    (run / "csv").mkdir(parents=True)
    config = {"method": {"name": method}, "source": {"name": "bow_dvd"},
              "target": {"name": "bow_books"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with open(run / "csv" / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for epoch, src, ent, oracle in rows:
            writer.writerow([epoch, 10 * epoch, src, ent, oracle, ""])
            writer.writerow([epoch, 10 * epoch, "", "", "", 0.5])  # a training row


def test_each_validator_picks_its_best_candidate(tmp_path):
    # (epoch, source_acc, entropy, oracle target acc)
    write_run(tmp_path, "a", [(0, 0.80, 0.6, 0.70), (1, 0.90, 0.5, 0.74), (2, 0.85, 0.4, 0.72)])
    write_run(tmp_path, "b", [(0, 0.90, 0.3, 0.60), (1, 0.70, 0.2, 0.80)])
    runs = study.read_runs([tmp_path])
    assert sorted(r["method"] for r in runs) == ["a", "b"] and len(runs[0]["epochs"]) in (2, 3)
    rows = {(r["level"], r["method"], r["validator"]): r for r in study.study(runs)}
    # epoch level, run a: source_acc -> epoch 1 (.74), entropy -> epoch 2 (.72), last = .72
    assert rows[("epoch", "a", "source_acc")]["picked_acc"] == pytest.approx(0.74)
    assert rows[("epoch", "a", "entropy")]["picked_acc"] == pytest.approx(0.72)
    assert rows[("epoch", "a", "source_acc")]["last_acc"] == pytest.approx(0.72)
    # run b: source_acc -> epoch 0 (.60); the oracle -> .80
    assert rows[("epoch", "b", "source_acc")]["picked_acc"] == pytest.approx(0.60)
    assert rows[("epoch", "b", "oracle_target_acc")]["picked_acc"] == pytest.approx(0.80)
    # pair level: source_acc ties at .90 (a/1: .74, b/0: .60) -> mean .67; entropy -> b/1 .80;
    # the default is the mean of the runs' last epochs (.72 + .80) / 2
    pair = {r["validator"]: r for r in study.study(runs) if r["level"] == "pair"}
    assert pair["source_acc"]["picked_acc"] == pytest.approx(0.67)
    assert pair["entropy"]["picked_acc"] == pytest.approx(0.80)
    assert pair["source_acc"]["last_acc"] == pytest.approx(0.76)
    assert pair["iwv"]["picked_acc"] is None  # never logged


def test_main_writes_the_tables(tmp_path):
    write_run(tmp_path / "sweep", "a", [(0, 0.8, 0.6, 0.7), (1, 0.9, 0.5, 0.8)])
    assert study.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "results.md").read_text()
    assert "| entropy | 80.00 | 0.00 | +0.00 | 1 |" in text
    assert (tmp_path / "out" / "results.csv").read_text().startswith("level,instance,method")
