"""da-bench: a benchmark spec → sweeps → results.csv/.md/.png + RUN.md with the published row."""

from __future__ import annotations

import csv

import pytest
import yaml

from da.results.bench import main, reference_row, with_reference
from da.results.tables import Table
from tests.helpers import majority_rate


def test_reference_row_follows_the_table_pairs_and_averages_what_it_has():
    table = Table("test/target_acc", {}, ["dann"], ["a → b", "b → a"], [], [])
    row = reference_row(table, {"label": "paper", "values": {"b_to_a": 70.0, "a_to_b": 80.0}})
    assert row == "| *paper* | 80.0 | 70.0 | 75.0 |\n"
    text = "title\n\n| method | a → b | b → a | average |\n|---|---|---|---|\n| dann | 1 | 2 | 3 |\n\nn runs"
    assert with_reference(text, row).split("\n")[5] == row.rstrip("\n")
    assert reference_row(table, None) == ""


def test_unknown_benchmark_names_the_available_ones(capsys):
    with pytest.raises(SystemExit, match="no benchmark 'nope'.*available: .*amazon_bow"):
        main(["nope"])


@pytest.mark.slow
def test_benchmark_runs_its_sweeps_and_writes_the_tables(data_dir, tmp_path):
    spec = {"description": "tiny", "metric": "test/target_acc",
            "sweeps": [["source=bow_dvd", "target=bow_electronics", "encoder=mlp",
                        "source.max_examples=300", "target.max_examples=300",
                        "trainer.max_epochs=5", "trainer.enable_progress_bar=false",
                        "method=source_only,dann",
                        "benchmark=none"]],  # DANN under Adam (SGD's recipe: chance after 5 epochs)
            "reference": {"label": "published", "values": {"bow_dvd_to_bow_electronics": 75.4}}}
    path = tmp_path / "tiny" / "benchmark.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    assert main([str(path), "--sweep-dir", str(tmp_path / "sweep")]) == 0
    out = path.parent
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert sorted(r["method"] for r in rows) == ["dann", "source_only"]
    assert all(r["status"] == "finished" for r in rows)
    # 5 epochs (after 1 both are at the majority rate): bow_electronics' 300 test examples, a
    # constant predictor gets 0.503 (measured: source_only 0.653, dann 0.620)
    runs = sorted(p.parent for p in (tmp_path / "sweep").rglob("metrics.json"))
    assert len(runs) == 2
    majority = majority_rate(runs[0])
    assert all(float(r["target_acc"]) >= majority + 0.05 for r in rows), (rows, majority)
    table = (out / "results.md").read_text()
    assert "| *published* | 75.4 | 75.4 |" in table and "| dann |" in table
    run_md = (out / "RUN.md").read_text()
    assert "Commit: `" in run_md and "wall time of the sweeps" in run_md and "2 in the table" in run_md
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
