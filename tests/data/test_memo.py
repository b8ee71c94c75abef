"""The per-process domain memo (da/data/memo.py): what it keeps, when it reloads, and that a
job's metrics do not depend on what ran before it in the same process."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from da.data import memo
from da.data.files import TextFile
from da.data.sentences import UciSentences
from da.errors import DataError

FOLDER = "uci_sentiment_labelled_sentences"


@pytest.fixture
def fresh_memo():
    memo.clear()
    yield memo
    memo.clear()


@pytest.fixture
def own_copy(data_dir, tmp_path):
    """A private copy of the small UCI sentences folder (so a test may change its files)."""
    shutil.copytree(data_dir / FOLDER, tmp_path / FOLDER)
    return tmp_path


def yelp(**kwargs) -> UciSentences:
    return UciSentences(name="uci_yelp", site="yelp", **kwargs)


def test_a_built_in_domain_is_read_once_per_process(fresh_memo, data_dir):
    first = memo.load_domain(yelp(), data_dir)
    again = memo.load_domain(yelp(), data_dir)  # another job's object with the same settings
    assert again is first and memo.stats == {"hits": 1, "misses": 1}
    other = memo.load_domain(yelp(max_examples=50), data_dir)  # other settings: another entry
    assert other is not first and len(other.train) == 50 and memo.stats["misses"] == 2


def test_a_changed_file_is_read_again_and_its_errors_reported(fresh_memo, own_copy):
    loaded = memo.load_domain(yelp(), own_copy)
    path = own_copy / FOLDER / "yelp_labelled.txt"
    path.write_bytes(path.read_bytes().replace(b"\t1", b"\t0", 3))  # 3 labels flipped
    with pytest.raises(DataError, match="yelp_labelled.txt"):  # its published sha256 differs
        memo.load_domain(yelp(), own_copy)
    path.unlink()
    with pytest.raises(DataError, match="missing data file"):
        memo.load_domain(yelp(), own_copy)
    assert memo.stats == {"hits": 0, "misses": 1} and len(loaded.train) > 0


def test_a_user_domain_is_never_kept(fresh_memo, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text("text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(20)))
    first = memo.load_domain(TextFile(path=str(csv)), None)
    csv.write_text("text,label\n" + "".join(f"u{i},{'ab'[i % 2]}\n" for i in range(20)))
    second = memo.load_domain(TextFile(path=str(csv)), None)  # same mtime second is possible
    assert second is not first and second.train.x[0].startswith("u")
    assert memo.stats == {"hits": 0, "misses": 0}


def test_at_most_max_domains_are_kept(fresh_memo, data_dir, monkeypatch):
    monkeypatch.setattr(memo, "MAX_DOMAINS", 2)
    a, b, c = (memo.load_domain(yelp(max_examples=n), data_dir) for n in (30, 40, 50))
    assert memo.load_domain(yelp(max_examples=50), data_dir) is c   # kept
    assert memo.load_domain(yelp(max_examples=30), data_dir) is not a  # the oldest went first


@pytest.mark.slow
def test_a_jobs_metrics_are_the_same_alone_and_after_other_jobs(fresh_memo, data_dir, tmp_path):
    """Three jobs in one process, as a sweep worker runs them: the third repeats the first after
    a job that shares its source domain (served from the memo). Every metric but the times
    matches, and the memo did serve it."""
    from da.train import compose_config, train
    pair = ["encoder=mlp", "source.max_examples=300", "target.max_examples=300",
            "trainer.max_epochs=2", "trainer.enable_progress_bar=false", "method=dann",
            "benchmark=none"]  # Adam: its vectors recipe (SGD) is still at chance after 2 epochs
    jobs = [["source=bow_dvd", "target=bow_electronics"], ["source=bow_dvd", "target=bow_kitchen"],
            ["source=bow_dvd", "target=bow_electronics"]]
    runs = []
    for i, job in enumerate(jobs):
        out = tmp_path / str(i)
        train(compose_config([*job, *pair], out), out)
        runs.append(json.loads((out / "metrics.json").read_text()))
    assert memo.stats == {"hits": 3, "misses": 3}
    alone, again = ({k: v for k, v in r.items() if not k.startswith(("time/", "meta/"))}
                    for r in (runs[0], runs[2]))
    assert alone == again
    assert alone["test/target_acc"] > 0.5 and np.isfinite(alone["train/loss_align"])
