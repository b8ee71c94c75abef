"""Domain loaders on the real corpora, and their errors on broken files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from da.data.amazon import AmazonBow, AmazonText, parse_reviews
from da.data.io import dataset_dir, read_bytes, read_lines
from da.data.movies import ImdbSubset, PolarityV2, RtPolarity
from da.data.sentences import CustomerReviews, UciSentences
from da.errors import DataError

# (loader, total labeled examples, positives) from each dataset's PROVENANCE.md.
CORPORA = [
    (AmazonText("books", "books"), 2000, 1000),
    (AmazonText("kitchen", "kitchen"), 2000, 1000),
    (RtPolarity("rt_polarity"), 10662, 5331),
    (PolarityV2("polarity_v2"), 2000, 1000),
    (ImdbSubset("imdb"), 2000, 1000),
    (CustomerReviews("cr"), 3771, 2405),
    (UciSentences("uci_imdb", "imdb"), 1000, 500),
    (UciSentences("uci_amazon", "amazon"), 1000, 500),
    (UciSentences("uci_yelp", "yelp"), 1000, 500),
]


@pytest.mark.parametrize("loader,total,positives", CORPORA, ids=lambda v: getattr(v, "name", ""))
def test_text_corpora_counts_and_disjoint_split(data_dir, loader, total, positives):
    domain = loader.load(data_dir)
    assert domain.modality == "text"
    assert len(domain.train) + len(domain.test) == total
    assert int(domain.train.y.sum() + domain.test.y.sum()) == positives
    assert all(isinstance(t, str) and t for t in domain.train.x[:50])
    # seeded split: same seed -> same split; the test part is ~30 %
    again = loader.load(data_dir)
    assert domain.test.x == again.test.x
    assert abs(len(domain.test) / total - 0.3) < 0.01


@pytest.mark.parametrize("name,n_test,pos_test", [("books", 4465, 2264), ("dvd", 3586, 1807),
                                                  ("electronics", 5681, 2857),
                                                  ("kitchen", 5945, 2954)])
def test_bow_official_split(data_dir, name, n_test, pos_test):
    domain = AmazonBow(f"bow_{name}", name).load(data_dir)
    assert domain.modality == "vectors"
    assert domain.train.x.shape == (2000, 5000) and domain.test.x.shape == (n_test, 5000)
    assert int(domain.train.y.sum()) == 1000 and int(domain.test.y.sum()) == pos_test
    assert set(np.unique(domain.train.y)) == {0, 1}


def test_bow_allows_featureless_lines(data_dir):
    test = AmazonBow("bow_electronics", "electronics").load(data_dir).test
    assert int((test.x.getnnz(axis=1) == 0).sum()) == 3  # PROVENANCE: 3 all-zero vectors


def test_rt_polarity_is_cp1252_and_split_on_newline_only(data_dir):
    domain = RtPolarity("rt_polarity", test_fraction=0.5).load(data_dir)
    texts = domain.train.x + domain.test.x
    assert len(texts) == 10662  # str.splitlines would break lines at byte 0x85 ("…")
    assert any("\u2026" in t or "\u00e9" in t for t in texts)  # decoded as cp1252


def test_imdb_br_tags_removed(data_dir):
    domain = ImdbSubset("imdb").load(data_dir)
    assert not any("<br />" in t for t in domain.train.x + domain.test.x)


def test_max_examples_is_stratified_subset(data_dir):
    domain = CustomerReviews("cr", max_examples=100).load(data_dir)
    assert len(domain.train) == 100 and len(domain.test) == 100
    assert 55 <= domain.train.y.sum() <= 72  # CR is ~64 % positive


def test_missing_dataset_folder_names_the_folder(tmp_path):
    with pytest.raises(DataError, match=r"cr_custrev.*DA_DATA_DIR"):
        CustomerReviews("cr").load(tmp_path)


def test_missing_file_inside_dataset(tmp_path):
    (tmp_path / "cr_custrev").mkdir()
    with pytest.raises(DataError, match=r"missing data file .*custrev.pos"):
        CustomerReviews("cr").load(tmp_path)


def test_truncated_gzip_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("DA_VERIFY_DATA", "0")  # the parser's own error, not the sha256 check
    folder = tmp_path / "mdsd_dann_svmlight"
    folder.mkdir()
    blob = gzip.compress(b"1 0:1 3:2\n-1 1:1\n" * 200)
    (folder / "books_train.svmlight.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"corrupt or truncated file .*books_train"):
        AmazonBow("bow_books", "books").load(tmp_path)


def test_malformed_svmlight_line_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DA_VERIFY_DATA", "0")
    folder = tmp_path / "mdsd_dann_svmlight"
    folder.mkdir()
    bad = b"1 0:1 3:2\n-1 1:1\n1 4:x\n"
    for part in ("train", "test"):
        (folder / f"books_{part}.svmlight.gz").write_bytes(gzip.compress(bad))
    with pytest.raises(DataError, match=r"books_train.svmlight.gz, line 3"):
        AmazonBow("bow_books", "books").load(tmp_path)


def test_bad_encoding_names_line(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"x.txt, line 3"):
        read_lines(path)


def test_malformed_uci_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DA_VERIFY_DATA", "0")
    folder = tmp_path / "uci_sentiment_labelled_sentences"
    folder.mkdir()
    (folder / "yelp_labelled.txt").write_text("good\t1\nno label here\n")
    with pytest.raises(DataError, match=r"yelp_labelled.txt, line 2"):
        UciSentences("uci_yelp", "yelp").load(tmp_path)


def test_review_parser_is_lenient_about_xml():
    text = ("<review>\n<title>\nA & B\n</title>\n<review_text>\nGreat < 5 stars & cheap\n"
            "</review_text>\n</review>\n<review>\n<title>\nT\n</title>\n<review_text>\nX\n"
            "</review_text>\n</review>\n")
    assert parse_reviews(text, None) == ["A & B. Great < 5 stars & cheap", "T. X"]


def test_read_bytes_and_dataset_dir_errors(tmp_path):
    with pytest.raises(DataError, match="missing data file"):
        read_bytes(tmp_path / "nope.gz")
    with pytest.raises(DataError, match="the data root .* does not exist"):
        dataset_dir(tmp_path / "absent", "cr_custrev", "cr", "home")
