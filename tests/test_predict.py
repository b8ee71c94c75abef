"""Issue #27, point 2: ``da-predict RUN_DIR INPUT`` labels new files with a run's tested model and
its own (saved, not refitted) preprocessing; inputs that do not fit the run are refused."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import reviews, write_table
from tests.helpers import REPO, UNLABELED_RUN, da_train


def da_predict(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "da.run.predict", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def probabilities(rows: list[dict], classes=("negative", "positive")) -> np.ndarray:
    return np.array([[float(r[f"p_{c}"]) for c in classes] for r in rows])


@pytest.fixture
def text_run(unlabeled_pair):
    """A tf-idf DANN run on an unlabeled target with a labeled test file, tested on a
    checkpoint chosen before the last epoch (source_acc keeps its first best)."""
    args = UNLABELED_RUN + ["target.test_path=target_test.csv", "selection=source_acc"]
    result = da_train(args, unlabeled_pair / "out", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    return next((unlabeled_pair / "out").glob("runs/dann-source_to_target-s0/*"))


def test_da_predict_labels_a_file_as_the_run_did(text_run, unlabeled_pair):
    """The test file through da-predict gives the run's own predictions of it: same tested
    checkpoint, same tf-idf (restored: refitting on 100 texts would change every vector)."""
    metrics = json.loads((text_run / "metrics.json").read_text())
    assert metrics["meta/tested_checkpoint"].startswith("checkpoints/selected-source_acc")
    result = da_predict(text_run, "target_test.csv", "--out", "labels.csv", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "100 predictions written to labels.csv" in result.stdout
    got = read(unlabeled_pair / "labels.csv")
    run_rows = [r for r in read(text_run / "predictions.csv") if r["part"] == "target_test"]
    assert [r["part"] for r in got] == ["input"] * 100
    assert [r["text"] for r in got] == [r["text"] for r in run_rows]
    assert [r["predicted"] for r in got] == [r["predicted"] for r in run_rows]
    np.testing.assert_allclose(probabilities(got), probabilities(run_rows), atol=2e-6)
    assert len({r["predicted"] for r in got}) == 2  # not a constant labelling


def test_da_predict_refuses_inputs_that_do_not_fit(text_run, unlabeled_pair):
    np.savez(unlabeled_pair / "v.npz", X=np.zeros((3, 4)))
    write_table(unlabeled_pair / "other.csv", [{"review": r["text"]} for r in reviews(5)])
    cases = [
        (("v.npz",), "holds vectors (.npz), but the run was trained on text"),
        (("other.csv",), "no column 'text' (text_column); columns found: ['review']"),
        (("missing.csv",), "input file not found: missing.csv"),
    ]
    for args, message in cases:
        result = da_predict(text_run, *args, cwd=unlabeled_pair)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    result = da_predict(text_run, "other.csv", "--text-column", "review", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-2000:]  # the column named: it reads
    result = da_predict(unlabeled_pair, "target.csv", cwd=unlabeled_pair)
    assert result.returncode == 2 and "is not a finished da-train run dir" in result.stderr


def test_da_predict_on_vectors_uses_the_final_model(tmp_path):
    """features runs (selection=last): the final model (last.ckpt, checked to be from the last
    step) labels an .npz as the run labelled its target; a CSV with the run's label column
    reads the same; vectors of another width or text are refused."""
    rng = np.random.default_rng(0)
    for name, shift in (("a", 0.0), ("b", 0.7)):
        y = np.arange(160) % 2
        x = rng.normal(size=(160, 5)) + shift + 1.5 * y[:, None]
        np.savez(tmp_path / f"{name}.npz", X=x.astype(np.float32), y=np.where(y, "pos", "neg"))
    args = ["source=features", "source.path=a.npz", "target=features", "target.path=b.npz",
            "target.label_column=null", "encoder=mlp", "method=coral", "trainer.max_epochs=3",
            "trainer.enable_progress_bar=false"]
    result = da_train(args, tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((tmp_path / "out").glob("runs/coral-a_to_b-s0/*"))
    assert json.loads((run / "metrics.json").read_text())["meta/tested_checkpoint"] == "last"
    result = da_predict(run, "b.npz", "--out", "b_labels.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    got, own = read(tmp_path / "b_labels.csv"), read(run / "predictions.csv")
    assert "text" not in got[0] and [r["row"] for r in got] == [r["row"] for r in own]
    np.testing.assert_allclose(probabilities(got, ("neg", "pos")),
                               probabilities(own, ("neg", "pos")), atol=2e-6)
    with np.load(tmp_path / "b.npz") as b:
        x = b["X"]
    lines = ["f0,f1,f2,f3,f4,label"] + [",".join(map(str, row)) + ",pos" for row in x[:4]]
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    result = da_predict(run, "b.csv", "--out", "csv_labels.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(probabilities(read(tmp_path / "csv_labels.csv"), ("neg", "pos")),
                               probabilities(own[:4], ("neg", "pos")), atol=2e-6)
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 7)))
    (tmp_path / "t.csv").write_text("text\nnice phone\n")
    for name, message in (("wide.npz", "has 7 features per row, but the run was trained on 5"),
                          ("t.csv", "The run takes vectors of 5 features.")):
        result = da_predict(run, name, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_da_predict_with_a_frozen_text_encoder(unlabeled_pair, tmp_path):
    """MiniLM features (max_length=auto, taken from the training texts): da-predict encodes the
    test file with the run's max_length and gives the run's own predictions of it."""
    args = [a for a in UNLABELED_RUN if a != "encoder=mlp"] + [
        "encoder=minilm", "target.test_path=target_test.csv", "trainer.max_epochs=2"]
    result = da_train(args, unlabeled_pair / "out", cwd=unlabeled_pair, env={"DA_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((unlabeled_pair / "out").glob("runs/dann-source_to_target-s0/*"))
    state = json.loads((run / "model_inputs.json").read_text())
    assert state["tfidf"] is None and state["max_length"] >= 2
    result = da_predict(run, "target_test.csv", "--out", "labels.csv", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    run_rows = [r for r in read(run / "predictions.csv") if r["part"] == "target_test"]
    np.testing.assert_allclose(probabilities(read(unlabeled_pair / "labels.csv")),
                               probabilities(run_rows), atol=2e-6)


def test_da_predict_refits_the_runs_msda_on_its_training_inputs(tmp_path):
    """A run with mSDA (encoder.denoiser) keeps no mSDA weights; da-predict fits it again on the
    run's own training inputs (checked by the fit's key) and labels the target file exactly as the
    run did, never fitting on the input. If the training files change, it refuses."""
    rng = np.random.default_rng(1)
    for name, shift in (("a", 0.0), ("b", 0.7)):
        y = np.arange(160) % 2
        x = rng.poisson(1.0 + shift + 1.5 * y[:, None], size=(160, 6))
        np.savez(tmp_path / f"{name}.npz", X=x.astype(np.float32), y=np.where(y, "pos", "neg"))
    args = ["source=features", "source.path=a.npz", "target=features", "target.path=b.npz",
            "target.label_column=null", "encoder=mlp", "method=source_only",
            "encoder.denoiser={_target_:da.data.msda.MSDA,layers:2}", "trainer.max_epochs=2",
            "trainer.enable_progress_bar=false", f"cache_dir={tmp_path / 'cache'}"]
    result = da_train(args, tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((tmp_path / "out").glob("runs/source_only-a_to_b-s0/*"))
    assert json.loads((run / "model_inputs.json").read_text())["denoiser"]["fit_key"]
    # a second file, not the run's target: must go through the run's mSDA, not a refit on it
    with np.load(tmp_path / "b.npz") as b:
        np.savez(tmp_path / "few.npz", X=b["X"][:7])
    for name, out in (("b.npz", "b_labels.csv"), ("few.npz", "few_labels.csv")):
        result = da_predict(run, name, "--out", out, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    own = probabilities(read(run / "predictions.csv"), ("neg", "pos"))
    np.testing.assert_allclose(probabilities(read(tmp_path / "b_labels.csv"), ("neg", "pos")),
                               own, atol=2e-6)
    np.testing.assert_allclose(probabilities(read(tmp_path / "few_labels.csv"), ("neg", "pos")),
                               own[:7], atol=2e-6)
    with np.load(tmp_path / "a.npz") as a:
        x, y = a["X"].copy(), a["y"]
    x[0, 0] += 1  # the source training file changed since training
    np.savez(tmp_path / "a.npz", X=x, y=y)
    result = da_predict(run, "b.npz", cwd=tmp_path)
    assert result.returncode == 2 and "not those its mSDA" in result.stderr, result.stderr
