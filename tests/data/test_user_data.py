"""The user's own data: `file` (text CSV / TSV / JSONL) and `features` (.npz / CSV) domains."""

from __future__ import annotations

import numpy as np
import pytest

from da.data.datamodule import check_compatible
from da.data.files import FeatureFile, TextFile
from da.data.types import DomainData, Split
from da.errors import DataError
from tests.helpers import da_train, majority_rate, reviews, write_table


# --------------------------------------------------------------------------------------------
# Text files
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["r.csv", "r.tsv", "r.jsonl", "r.csv.gz", "r.jsonl.gz"])
def test_text_file_formats_read_alike(tmp_path, name):
    rows = reviews(40)
    rows[3]["text"] = 'a "quoted", comma\tand tab'  # CSV/TSV quoting round trip
    data = TextFile(str(write_table(tmp_path / name, rows))).load()
    assert data.modality == "text" and data.classes == ["negative", "positive"]
    assert data.name == "r"  # the stem without data suffixes, .gz included
    assert len(data.train) == 28 and len(data.test) == 12  # seeded stratified 70/30
    texts = {r["text"]: r["label"] for r in rows}
    for split in (data.train, data.test):
        assert [data.classes[y] for y in split.y] == [texts[t] for t in split.x]
    assert 'a "quoted", comma\tand tab' in data.train.x + data.test.x


def test_text_file_split_column_columns_and_name(tmp_path):
    rows = [{"review": r["text"], "stars": r["label"], "part": r["part"]} for r in reviews(20)]
    path = write_table(tmp_path / "mine.csv", rows)
    data = TextFile(str(path), text_column="review", label_column="stars", split_column="part",
                    name="my_reviews").load()
    assert data.name == "my_reviews" and (len(data.train), len(data.test)) == (15, 5)
    assert data.test.x == [r["review"] for r in rows if r["part"] == "test"]
    assert "split from column 'part'" in data.notes


def test_integer_labels_sort_numerically_and_classes_name_them(tmp_path):
    rows = [{"text": f"t{i}", "label": label} for i, label in enumerate([10, 2, 1, 2, 10, 1] * 3)]
    path = write_table(tmp_path / "ints.jsonl", rows)
    data = TextFile(str(path), split_column=None, test_fraction=0.5).load()
    assert data.classes == ["1", "2", "10"]
    binary = write_table(tmp_path / "bin.csv",
                         [{"text": f"t{i}", "label": i % 2} for i in range(10)])
    named = TextFile(str(binary), classes=["negative", "positive"]).load()
    assert named.classes == ["negative", "positive"]
    assert sorted(np.concatenate([named.train.y, named.test.y]).tolist()) == [0] * 5 + [1] * 5
    with pytest.raises(DataError, match=r"labels \['maybe'\] are not among classes"):
        path = write_table(tmp_path / "m.csv", [{"text": "x", "label": "maybe"}] * 4)
        TextFile(str(path), classes=["negative", "positive"]).load()
    with pytest.raises(DataError, match="repeats a name"):
        TextFile(str(binary), classes=["a", "a"]).load()


def test_label_map_renames_label_values(tmp_path):
    binary = write_table(tmp_path / "bin.csv",
                         [{"text": f"t{i}", "label": i % 2} for i in range(10)])
    data = TextFile(str(binary), label_map={0: "negative", 1: "positive"}).load()
    assert data.classes == ["negative", "positive"]
    texts = {f"t{i}": i % 2 for i in range(10)}  # 0 -> negative (index 0), 1 -> positive
    assert all(texts[x] == y for x, y in zip(data.train.x + data.test.x,
                                             np.concatenate([data.train.y, data.test.y])))
    # a map onto names that sort the other way round: classes still follow sorted names ...
    flipped = TextFile(str(binary), label_map={0: "pos", 1: "neg"}).load()
    assert flipped.classes == ["neg", "pos"]
    assert all(texts[x] == 1 - y for x, y in zip(flipped.train.x, flipped.train.y))
    # ... or the classes given, and the map applies first
    both = TextFile(str(binary), label_map={1: "b", 0: "a"}, classes=["b", "a"]).load()
    assert both.classes == ["b", "a"]
    assert all(texts[x] == 1 - y for x, y in zip(both.train.x, both.train.y))
    with pytest.raises(DataError, match=r"bin\.csv: labels \['1'\] are not keys of "
                                        r"label_map=\{'0': 'negative'\}"):
        TextFile(str(binary), label_map={0: "negative"}).load()


def test_relative_path_is_found_in_the_launch_dir_then_data_dir(tmp_path, monkeypatch):
    write_table(tmp_path / "a.csv", reviews(20))
    monkeypatch.chdir(tmp_path)
    assert len(TextFile("a.csv").load(data_dir="/nonexistent").train) == 14
    monkeypatch.chdir("/")
    assert len(TextFile("a.csv").load(data_dir=tmp_path).train) == 14
    with pytest.raises(DataError, match=r"not found: .*b\.csv or .*b\.csv; set its path"):
        TextFile("b.csv", name="mine").load(data_dir=tmp_path)


BAD_TABLES = {
    "missing_column": ("r.csv", "review,label\nnice,positive\n",
                       r"no column 'text' \(text_column\); columns found: \['review', 'label'\]"),
    "misnamed_column": ("r.csv", "text,lable\nnice,positive\n",
                        r"no column 'label' .*\['text', 'lable'\]\. "
                        r"Did you mean label_column=lable"),
    "field_count": ("r.csv", "text,label\nnice,positive\nbad, so bad,negative\n",
                    r"r\.csv, line 3: 3 fields, but the header has 2"),
    "bad_json": ("r.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", label: "y"}\n',
                 r"r\.jsonl, line 2: not valid JSON"),
    "json_not_object": ("r.jsonl", '{"text": "a", "label": "x"}\n["b", "y"]\n',
                        r"line 2: expected one JSON object per line"),
    "json_missing_key": ("r.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n',
                         r"r\.jsonl, line 2: no value for column 'label'"),
    "empty_label": ("r.csv", "text,label\nnice,positive\nmeh,\n", r"r\.csv, line 3: label ''"),
    "empty_file": ("r.csv", "", r"r\.csv is empty"),
    "blank_file": ("r.jsonl", "\n\n", r"r\.jsonl is empty"),
    "header_only": ("r.tsv", "text\tlabel\n",
                    r"r\.tsv has columns \['text', 'label'\] but no rows"),
    "single_label": ("r.csv", "text,label\na,pos\nb,pos\n", r"a single label value \['pos'\]"),
    "bad_utf8": ("r.csv", b"text,label\nok,pos\n\xff\xfe,neg\n",
                 r"r\.csv, line 3: bytes that are not"),
    "repeated_column": ("r.csv", "text,label,text\na,b,c\n", r"line 1: repeated column names"),
    "unknown_suffix": ("r.xlsx", "text,label\n", r"unknown table type '\.xlsx'"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_text_file_errors_name_the_file_and_line(tmp_path, case):
    name, content, pattern = BAD_TABLES[case]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=pattern):
        TextFile(str(path)).load()


def test_split_column_values_are_checked(tmp_path):
    rows = reviews(8)
    rows[5]["part"] = "validation"
    with pytest.raises(DataError, match=r"line 7: part is 'validation'; expected train or test"):
        TextFile(str(write_table(tmp_path / "r.csv", rows)), split_column="part").load()
    only_train = [dict(r, part="train") for r in reviews(8)]
    with pytest.raises(DataError, match="no row has part=test"):
        TextFile(str(write_table(tmp_path / "t.csv", only_train)), split_column="part").load()


def test_too_small_class_for_a_stratified_split_is_a_data_error(tmp_path):
    rows = [{"text": "a", "label": "x"}] * 5 + [{"text": "b", "label": "y"}]
    path = write_table(tmp_path / "r.csv", rows)
    with pytest.raises(DataError, match="no stratified split possible"):
        TextFile(str(path)).load()


# --------------------------------------------------------------------------------------------
# Feature files
# --------------------------------------------------------------------------------------------

def test_features_from_npz_and_csv_agree(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    y = np.array(["cat", "dog", "eel"] * 10)
    np.savez(tmp_path / "a.npz", X=x, y=y, part=np.array(["train", "train", "test"] * 10))
    from_npz = FeatureFile(str(tmp_path / "a.npz"), split_column="part").load()
    rows = [{"label": label, **{f"f{j}": repr(float(v)) for j, v in enumerate(row)}, "part": part}
            for row, label, part in zip(x, y, ["train", "train", "test"] * 10)]
    from_csv = FeatureFile(str(write_table(tmp_path / "a.csv", rows)), split_column="part").load()
    for data in (from_npz, from_csv):
        assert data.modality == "vectors" and data.classes == ["cat", "dog", "eel"]
        assert data.train.x.shape == (20, 4) and data.test.x.dtype == np.float32
        np.testing.assert_array_equal(data.test.x, x[2::3])
        np.testing.assert_array_equal(data.test.y, [2] * 10)  # every third row is an eel


def test_features_npz_integer_labels_and_seeded_split(tmp_path):
    np.savez(tmp_path / "b.npz", X=np.eye(20), y=np.arange(20) % 2)
    data = FeatureFile(str(tmp_path / "b.npz"), name="b").load()
    assert data.classes == ["0", "1"] and (len(data.train), len(data.test)) == (14, 6)


def test_features_errors(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(DataError, match=r"no array \['y'\]; arrays found: \['X', 'labels'\]"):
        FeatureFile(str(tmp_path / "noy.npz")).load()
    np.savez(tmp_path / "short.npz", X=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"y has shape \(2,\), expected \(3,\)"):
        FeatureFile(str(tmp_path / "short.npz")).load()
    np.savez(tmp_path / "nan.npz", X=np.array([[0.0, 1.0], [np.nan, 0.0]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"X row 1 holds NaN/Inf"):
        FeatureFile(str(tmp_path / "nan.npz")).load()
    (tmp_path / "broken.npz").write_text("not a zip")
    with pytest.raises(DataError, match="not a readable .npz archive"):
        FeatureFile(str(tmp_path / "broken.npz")).load()
    (tmp_path / "f.csv").write_text("a,b,label\n1,2,x\n3,oops,y\n")
    with pytest.raises(DataError, match=r"f\.csv, line 3: features must be finite numbers, found "
                                        r"\{'b': 'oops'\}"):
        FeatureFile(str(tmp_path / "f.csv")).load()
    (tmp_path / "g.csv").write_text("a,b,y\n1,2,x\n")
    with pytest.raises(DataError, match=r"no column 'label' .*columns found: \['a', 'b', 'y'\]"):
        FeatureFile(str(tmp_path / "g.csv")).load()


def test_label_checks_list_label_names():
    def domain(name, classes, labels):
        split = Split(np.zeros((len(labels), 2), dtype=np.float32), np.array(labels))
        return DomainData(name, "vectors", split, split, classes=classes)

    with pytest.raises(DataError, match=r"target 't' has labels \['eel'\] that never occur"):
        check_compatible(domain("s", ["cat", "dog", "eel"], [0, 1, 0]),
                         domain("t", ["cat", "dog", "eel"], [0, 2, 1]))
    with pytest.raises(DataError, match=r"label sets differ.*\['cat', 'dog'\].*classes=\["):
        check_compatible(domain("s", ["cat", "dog"], [0, 1]), domain("t", ["0", "1"], [0, 1]))


# --------------------------------------------------------------------------------------------
# Through the config and the CLI
# --------------------------------------------------------------------------------------------

def test_features_domains_train_in_process(tmp_path, compose_cfg):
    from da.train import train

    rng = np.random.default_rng(1)
    for name, shift in (("a", 0.0), ("b", 0.5)):
        y = np.arange(200) % 2
        x = rng.normal(size=(200, 6)) + shift + 2.0 * y[:, None]
        np.savez(tmp_path / f"{name}.npz", X=x, y=np.where(y == 1, "pos", "neg"))
    cfg = compose_cfg(["source=features", f"source.path={tmp_path / 'a.npz'}", "target=features",
                       f"target.path={tmp_path / 'b.npz'}", "target.name=b", "encoder=mlp",
                       "method=coral", "trainer.max_epochs=3", "trainer.enable_progress_bar=false",
                       "logger=none", "callbacks=none"])
    assert cfg.run_name == "coral-a_to_b-s0"  # the file's stem; target.name=b as given
    metrics = train(cfg, tmp_path / "run")
    majority = majority_rate(cfg)  # balanced: 0.5 (measured: 0.70)
    assert metrics["test/target_acc"] >= majority + 0.1, (metrics["test/target_acc"], majority)
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_text_file_source_with_a_builtin_target(data_dir, tmp_path, monkeypatch, compose_cfg):
    """The README line: a CSV of the user's as source, cr as target, through tf-idf."""
    from da.train import train

    write_table(tmp_path / "a.csv", reviews(300))
    monkeypatch.chdir(tmp_path)
    cfg = compose_cfg(["source=file", "source.path=a.csv", "source.text_column=text",
                       "source.label_column=label", "source.name=mine", "target=cr",
                       "target.max_examples=300", "encoder=mlp", "method=dann",
                       "trainer.max_epochs=5", "trainer.enable_progress_bar=false",
                       "logger=none", "callbacks=none"])
    assert cfg.run_name == "dann-mine_to_cr-s0"
    metrics = train(cfg, tmp_path / "run")
    # The CSV's labels were read and learned: its words give the label away, so after 5 epochs
    # the balanced source validation part is classified perfectly (a constant predictor: 0.5;
    # after 1 epoch: 0.48). On cr the run stays at the majority rate (0.637 = predicting
    # "positive", for 1-10 epochs: the toy vocabulary does not transfer), so no target bound.
    majority = majority_rate(cfg, "source_val")
    assert metrics["val/source_acc"] >= majority + 0.3, (metrics["val/source_acc"], majority)
    assert metrics["train/loss_align"] > 0


@pytest.mark.parametrize("mapping", ["target.classes=[negative,positive]",
                                     "target.label_map={0:negative,1:positive}", None])
def test_numeric_labels_pair_with_a_sentiment_source(data_dir, tmp_path, mapping):
    """README: a target file labelled 0 / 1 next to a source with classes negative / positive."""
    rows = [{"text": r["text"], "label": int(r["label"] == "positive")} for r in reviews(120)]
    write_table(tmp_path / "t.csv", rows)
    args = ["source=uci_yelp", "source.max_examples=200", "target=file", "target.path=t.csv",
            "encoder=mlp", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]
    result = da_train(args + ([mapping] if mapping else []), tmp_path / "out", cwd=tmp_path)
    if mapping is None:
        assert result.returncode == 2
        assert "label sets differ: source 'uci_yelp' has ['negative', 'positive'], target " \
               "'t' has ['0', '1']" in result.stderr
        assert "label_map={0:negative,1:positive}" in result.stderr
        return
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[da] dann-uci_yelp_to_t-s0" in result.stdout  # t.csv: the domain is named t


def test_path_is_mandatory(compose_cfg):
    from hydra.utils import instantiate
    from omegaconf.errors import MissingMandatoryValue

    for domain in ("file", "features"):
        cfg = compose_cfg([f"target={domain}", "encoder=mlp"])  # auto: no text -> vectors
        assert cfg.target.name == domain and cfg.run_name == f"dann-rt_polarity_to_{domain}-s0"
        with pytest.raises(MissingMandatoryValue, match="target.path"):
            instantiate(cfg.target)


def test_file_domain_errors_through_the_cli(tmp_path):
    (tmp_path / "a.csv").write_text("review,label\nnice,positive\n")
    result = da_train(["source=file", "source.path=a.csv", "target=cr", "encoder=mlp"],
                      tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "a.csv: no column 'text' (text_column); columns found: ['review', 'label']" \
        in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_file_domains_are_named_by_their_file(tmp_path, compose_cfg):
    """Issue #27: two files are two domains (run name, config, da-compare), not one "features"
    domain "in-domain" with itself; source.name= still wins, and suffixes are dropped."""
    from da.data.files import file_stem
    from da.results.tables import load_run

    assert file_stem("data/amazon_books.csv.gz") == "amazon_books"
    assert file_stem("x/b.npz") == "b" and file_stem("reviews.v2.jsonl") == "reviews.v2"
    cfg = compose_cfg(["source=features", f"source.path={tmp_path / 'books.npz'}",
                       "target=file", f"target.path={tmp_path / 'kitchen.csv.gz'}",
                       "encoder=mlp", "method=dann"])
    assert (cfg.source.name, cfg.target.name) == ("books", "kitchen")
    assert cfg.run_name == "dann-books_to_kitchen-s0"
    assert compose_cfg(["source=features", "source.path=a.npz", "source.name=mine",
                        "encoder=mlp"]).source.name == "mine"
    # the run dir's config.yaml holds the names, so da-compare sees a transfer pair
    from omegaconf import OmegaConf
    run = tmp_path / "sweep" / "0_run"
    run.mkdir(parents=True)
    OmegaConf.save(cfg, run / "config.yaml", resolve=True)
    (run / "metrics.json").write_text('{"test/target_acc": 0.7}')
    loaded = load_run(run, tmp_path / "sweep")
    assert (loaded.source, loaded.target) == ("books", "kitchen")
    assert loaded.pair == "books → kitchen"
    # a run that failed before writing config.yaml: Hydra's unresolved copy names it too
    failed = tmp_path / "sweep" / "1_run"
    (failed / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"source": {"name": "${da_file_stem:features}",
                                                "path": "d/books.npz"},
                                     "target": {"name": "kitchen"}, "method": {"name": "dann"}}),
                   failed / ".hydra" / "config.yaml")
    assert load_run(failed, tmp_path / "sweep").source == "books"
