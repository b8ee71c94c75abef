"""Issue #27, point 1: a target without labels trains, is labelled (predictions.csv) and, with a
labeled ``test_path`` file, tested; classes are matched to the source's by name."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from da.data.datamodule import check_compatible
from da.data.files import FeatureFile, TextFile
from da.data.types import UNLABELED, DomainData, Split
from da.errors import ConfigError, DataError
from tests.helpers import reviews, text_only, write_table
from tests.helpers import UNLABELED_RUN, da_train


def read_predictions(run_dir: Path) -> list[dict]:
    with open(run_dir / "predictions.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def test_an_unlabeled_text_file_is_every_row_unlabeled(tmp_path):
    rows = reviews(40)
    domain = TextFile(str(text_only(tmp_path / "t.csv", rows)), label_column=None)
    data = domain.load()
    assert not data.labeled and not domain.has_test_labels
    assert data.train.x == [r["text"] for r in rows]  # every row, in file order
    assert data.train.rows.tolist() == list(range(40))
    assert (data.train.y == UNLABELED).all()
    assert len(data.test) == 0 and data.classes == []  # the source's, when paired


def test_a_missing_label_column_not_declared_keeps_the_error(tmp_path):
    path = text_only(tmp_path / "t.csv", reviews(10))
    with pytest.raises(DataError, match=r"no column 'label' \(label_column\)"):
        TextFile(str(path)).load()


def test_unlabeled_feature_files(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.savez(tmp_path / "t.npz", X=x)  # no y
    with pytest.raises(DataError, match=r"no array \['y'\].*label_column=null"):
        FeatureFile(str(tmp_path / "t.npz")).load()
    data = FeatureFile(str(tmp_path / "t.npz"), label_column=None).load()
    np.testing.assert_array_equal(data.train.x, x)
    assert not data.labeled and len(data.test) == 0
    # a table without labels: every column is a feature
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    data = FeatureFile(str(tmp_path / "t.csv"), label_column=None).load()
    np.testing.assert_array_equal(data.train.x, [[1, 2, 3], [4, 5, 6]])


def test_a_split_column_needs_labels_and_no_test_path(tmp_path):
    with pytest.raises(ConfigError, match="split_column=part with label_column=null"):
        TextFile("t.csv", label_column=None, split_column="part")
    with pytest.raises(ConfigError, match="split_column=part with test_path gives the test"):
        TextFile("t.csv", split_column="part", test_path="test.csv")


def test_test_path_is_the_labeled_test_part(tmp_path):
    rows = reviews(30)
    text_only(tmp_path / "t.csv", rows)
    write_table(tmp_path / "test.csv", [{"text": r["text"], "y": r["label"]} for r in rows[:9]])
    data = TextFile(str(tmp_path / "t.csv"), label_column=None, test_path=str(tmp_path / "test.csv"),
                    test_label_column="y").load()
    assert len(data.train) == 30 and (data.train.y == UNLABELED).all()
    assert data.test.x == [r["text"] for r in rows[:9]]
    assert [data.classes[i] for i in data.test.y] == [r["label"] for r in rows[:9]]
    # a labeled file with a test file: the first trains in full, labels in both by one column
    write_table(tmp_path / "l.csv", rows)
    write_table(tmp_path / "lt.csv", rows[:5])
    data = TextFile(str(tmp_path / "l.csv"), test_path=str(tmp_path / "lt.csv")).load()
    assert len(data.train) == 30 and len(data.test) == 5 and data.labeled


def test_classes_are_matched_to_the_source_by_name():
    def domain(name, classes, train_y, test_y=(), labeled=True):
        x = np.zeros((len(train_y), 2), np.float32)
        return DomainData(name, "vectors", Split(x, train_y), Split(x[:len(test_y)], test_y),
                          classes=classes, labeled=labeled)

    source = domain("s", ["neg", "neu", "pos"], [0, 1, 2])
    unlabeled = check_compatible(source, domain("t", [], [-1, -1], labeled=False))
    assert unlabeled.classes == ["neg", "neu", "pos"] and unlabeled.train.y.tolist() == [-1, -1]
    # a labeled test file without 'neu': its indices move to the source's
    tested = check_compatible(source, domain("t", ["neg", "pos"], [-1, -1], [1, 0], False))
    assert tested.test.y.tolist() == [2, 0] and tested.classes == source.classes
    with pytest.raises(DataError, match="source 's' has no labels"):
        check_compatible(domain("s", ["a", "b"], [-1, -1], labeled=False),
                         domain("t", ["a", "b"], [0, 1]))


# --------------------------------------------------------------------------------------------
# Through da-train
# --------------------------------------------------------------------------------------------

def test_an_unlabeled_target_trains_and_writes_predictions(unlabeled_pair):
    result = da_train(UNLABELED_RUN, unlabeled_pair / "out", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((unlabeled_pair / "out").glob("runs/dann-source_to_target-s0/*"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert not [k for k in metrics if k.startswith("test/target")]  # nothing to test on
    assert "no test/target_* metrics: target 'target' has no labels" in result.stdout + result.stderr
    predicted = read_predictions(run)
    texts = [r["text"] for r in csv.DictReader(open(unlabeled_pair / "target.csv", encoding="utf-8"))]
    assert [r["part"] for r in predicted] == ["target_train"] * 200
    assert [int(r["row"]) for r in predicted] == list(range(200))
    assert [r["text"] for r in predicted] == texts
    probs = np.array([[float(r["p_negative"]), float(r["p_positive"])] for r in predicted])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    names = np.array(["negative", "positive"])[probs.argmax(1)]
    assert [r["predicted"] for r in predicted] == names.tolist()
    # the words give the label away in both files: the labels are right, far above a constant
    hidden = json.loads((unlabeled_pair / "hidden.json").read_text())
    accuracy = np.mean(names == np.array(hidden))
    assert accuracy >= 0.5 + 0.3, accuracy  # balanced classes: a constant predictor gets 0.5


def test_a_labeled_test_file_tests_the_model_that_predicted(unlabeled_pair):
    """With test_path the run is tested; predictions.csv comes from the tested model (chosen
    by a rule: a checkpoint loaded back), so its test rows give test/target_acc exactly."""
    args = UNLABELED_RUN + ["target.test_path=target_test.csv", "selection=entropy"]
    result = da_train(args, unlabeled_pair / "out", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((unlabeled_pair / "out").glob("runs/dann-source_to_target-s0/*"))
    metrics = json.loads((run / "metrics.json").read_text())
    rows = [r for r in read_predictions(run) if r["part"] == "target_test"]
    truth = [r["label"] for r in csv.DictReader(open(unlabeled_pair / "target_test.csv", encoding="utf-8"))]
    assert len(rows) == 100 and [int(r["row"]) for r in rows] == list(range(100))
    accuracy = np.mean([r["predicted"] == truth[int(r["row"])] for r in rows])
    assert accuracy == pytest.approx(metrics["test/target_acc"], abs=1e-6)
    assert metrics["test/selected_by/entropy"] == 1


def test_without_test_labels_the_chosen_checkpoint_labels_the_target(unlabeled_pair):
    """No test runs to load the chosen checkpoint, so the run loads it itself: the mean entropy
    of predictions.csv is the select/entropy that the CSV logger recorded at the chosen epoch,
    an earlier one than the last (source_acc reaches 1.0 early and keeps its first best)."""
    result = da_train(UNLABELED_RUN + ["selection=source_acc"], unlabeled_pair / "out", cwd=unlabeled_pair)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((unlabeled_pair / "out").glob("runs/dann-source_to_target-s0/*"))
    metrics = json.loads((run / "metrics.json").read_text())
    chosen = int(metrics["selection/epoch"])
    assert chosen < metrics["train/epochs"] - 1  # else the last model would pass too
    with open(run / "csv" / "metrics.csv", newline="") as handle:
        logged = {int(r["epoch"]): float(r["select/entropy"]) for r in csv.DictReader(handle)
                  if r.get("select/entropy")}
    probs = np.array([[float(r["p_negative"]), float(r["p_positive"])]
                      for r in read_predictions(run)])
    entropy = float(np.mean(-(probs * np.log(probs)).sum(1)))
    assert entropy == pytest.approx(logged[chosen], rel=1e-4)
    assert entropy != pytest.approx(logged[max(logged)], rel=1e-4)


@pytest.mark.parametrize("extra, message", [
    (["selection=oracle"], "selection=oracle reads target test labels, and target 'target' has "
                           "none"),
    (["predictions=sometimes"], "predictions='sometimes': choose auto"),
    (["target.split_column=part"], "split_column=part with label_column=null"),
])
def test_refused_before_training(unlabeled_pair, extra, message):
    result = da_train(UNLABELED_RUN + extra, unlabeled_pair / "out", cwd=unlabeled_pair)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
