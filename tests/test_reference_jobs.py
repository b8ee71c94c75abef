"""scripts/compare_reference.py, the check that a change left every reference job's metrics as
they were (scripts/reference_jobs.sh writes the folders it compares)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.helpers import REPO


def _comparer():
    spec = importlib.util.spec_from_file_location("compare_reference",
                                                  REPO / "scripts" / "compare_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(root: Path, job: str, metrics: dict) -> None:
    (root / job).mkdir(parents=True, exist_ok=True)
    (root / job / "metrics.json").write_text(json.dumps(metrics))


def test_equal_metrics_match_and_times_and_provenance_may_differ(tmp_path, capsys):
    base = {"test/target_acc": 0.75, "train/loss_cls": 0.5}
    _write(tmp_path / "a", "vectors_dann", {**base, "time/fit_s": 1.0, "meta/git_commit": "x"})
    _write(tmp_path / "b", "vectors_dann", {**base, "time/fit_s": 9.0, "meta/git_commit": "y"})
    _write(tmp_path / "a", "cache/ignored", {"x": 1})  # the features cache is not a job
    assert _comparer().main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "vectors_dann: same (2 keys)" in capsys.readouterr().out


def test_a_changed_value_a_missing_key_or_a_missing_job_fail(tmp_path, capsys):
    compare = _comparer()
    _write(tmp_path / "a", "mcd", {"test/target_acc": 0.75, "train/loss_align": 0.1})
    _write(tmp_path / "b", "mcd", {"test/target_acc": 0.7500001, "train/loss_align": 0.1})
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "test/target_acc: 0.75 -> 0.7500001" in capsys.readouterr().out
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--tol", "1e-6"]) == 0
    _write(tmp_path / "c", "mcd", {"test/target_acc": 0.75})
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "c")]) == 1
    _write(tmp_path / "a", "shot", {"test/target_acc": 0.7})
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--tol", "1e-6"]) == 1
    assert "shot: only in" in capsys.readouterr().out
