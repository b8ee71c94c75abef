"""Property-based tests (hypothesis) of every dataset parser in da.data: generated records written
in the format parse back to the same records, and arbitrary bytes never raise anything but
DataError."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from da.data.amazon import parse_reviews, parse_svmlight
from da.data.files import FeatureFile
from da.data.movies import ImdbSubset, PolarityV2, RtPolarity
from da.data.sentences import CustomerReviews, UciSentences
from da.data.tables import read_table
from da.errors import DataError

digits = pytest.importorskip("da.data.digits")
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30)
JUNK = st.binary(max_size=400)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A scratch data dir; the files written there are not the published ones, so the sha256
    check is off for this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DA_VERIFY_DATA", "0")
        yield tmp_path_factory.mktemp("layout")


def put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def data_error_or_result(call):
    """Run ``call``; any exception other than DataError fails the test."""
    try:
        return call()
    except DataError:
        return None


# --- svmlight (DANN bag-of-words) ------------------------------------------------------------
RECORDS = st.lists(st.tuples(st.sampled_from([-1, 1]),
                             st.dictionaries(st.integers(0, 4999), st.integers(1, 1000),
                                             max_size=8)), min_size=1, max_size=8)


@FAST
@given(RECORDS)
def test_svmlight_round_trip(records):
    text = "".join(f"{label} " + " ".join(f"{i}:{v}" for i, v in sorted(feats.items())) + "\n"
                   for label, feats in records)
    split = parse_svmlight(text.encode(), Path("x.svmlight"))
    dense = np.zeros((len(records), 5000), dtype=np.float32)
    for row, (_, feats) in enumerate(records):
        for i, v in feats.items():
            dense[row, i] = v
    np.testing.assert_array_equal(split.x.toarray(), dense)
    assert split.y.tolist() == [int(label > 0) for label, _ in records]


@FAST
@given(JUNK | st.text("0123456789:-+.e #\nqid", max_size=80).map(str.encode))
def test_svmlight_junk_is_a_data_error(data):
    data_error_or_result(lambda: parse_svmlight(data, Path("x.svmlight")))


# --- Blitzer .review pseudo-XML --------------------------------------------------------------
FIELD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"),
                max_size=20).map(lambda s: s.strip().strip(". ").strip()).filter(bool)


@FAST
@given(st.lists(st.tuples(FIELD, FIELD), min_size=1, max_size=5))
def test_review_round_trip(reviews):
    text = "".join(f"<review>\n<unique_id>\n{n}\n</unique_id>\n<title>\n{t}\n</title>\n"
                   f"<review_text>\n{r}\n</review_text>\n</review>\n"
                   for n, (t, r) in enumerate(reviews))
    assert parse_reviews(text, Path("x.review")) == [f"{t}. {r}" for t, r in reviews]


@FAST
@given(TEXT | st.lists(st.sampled_from(["<review>", "</review>", "<title>", "</title>", "x",
                                        "<review_text>", "</review_text>", "\n"])).map("".join))
def test_review_junk_is_a_data_error(text):
    data_error_or_result(lambda: parse_reviews(text, Path("x.review")))


# --- line-based corpora: UCI (sentence<TAB>label), rt_polarity (cp1252), CR ------------------
@FAST
@given(st.lists(st.tuples(LINE, st.sampled_from([0, 1])), min_size=1, max_size=10))
def test_uci_round_trip(root, rows):
    text = "".join(f"{s}\t{y}\n" for s, y in rows)
    put(root, "uci_sentiment_labelled_sentences/yelp_labelled.txt", text.encode())
    split = UciSentences("uci_yelp", "yelp").read_all(root)
    assert list(split.x) == [s.strip() for s, _ in rows]
    assert list(split.y) == [y for _, y in rows]


CP1252_LINE = st.binary(max_size=30).map(
    lambda b: bytes(c for c in b if c not in b"\n\x81\x8d\x8f\x90\x9d"))


@FAST
@given(st.lists(CP1252_LINE, min_size=1, max_size=8), st.lists(CP1252_LINE, min_size=1,
                                                                 max_size=8))
def test_rt_polarity_round_trip(root, pos, neg):
    for name, lines in (("pos", pos), ("neg", neg)):
        put(root, f"rt_polarity_v1/rt-polarity.{name}", b"\n".join(lines) + b"\n")
    split = RtPolarity("rt_polarity").read_all(root)
    expected = [b.decode("cp1252").strip() for b in neg + pos]  # negatives first
    assert list(split.x) == expected and list(split.y) == [0] * len(neg) + [1] * len(pos)


@FAST
@given(st.lists(LINE, min_size=1, max_size=8), st.lists(LINE, min_size=1, max_size=8))
def test_cr_round_trip_drops_blank_lines(root, pos, neg):
    for name, lines in (("pos", pos), ("neg", neg)):
        put(root, f"cr_custrev/custrev.{name}", "\n".join(lines).encode() + b"\n")
    split = CustomerReviews("cr").read_all(root)
    assert list(split.x) == [s.strip() for s in neg + pos if s.strip()]


@FAST
@given(JUNK, st.sampled_from(["uci", "rt", "cr"]))
def test_line_corpora_junk_is_a_data_error(root, data, which):
    loaders = {"uci": ("uci_sentiment_labelled_sentences/imdb_labelled.txt",
                       UciSentences("uci_imdb", "imdb")),
               "rt": ("rt_polarity_v1/rt-polarity.pos", RtPolarity("rt_polarity")),
               "cr": ("cr_custrev/custrev.pos", CustomerReviews("cr"))}
    rel, loader = loaders[which]
    put(root, rel, data)
    put(root, rel.replace("pos", "neg"), b"fine\n")
    data_error_or_result(lambda: loader.read_all(root))


# --- IMDB subset CSV and polarity v2.0 tar.gz ------------------------------------------------
@FAST
@given(st.lists(st.tuples(TEXT, st.sampled_from(["0", "1"])), min_size=1, max_size=6))
def test_imdb_csv_round_trip(root, rows):
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([("reviews", "labels"), *rows])
    put(root, "imdb_subset_2000/imdb.csv.gz", gzip.compress(buf.getvalue().encode()))
    split = ImdbSubset("imdb").read_all(root)
    assert list(split.x) == [t.replace("<br />", " ").strip() for t, _ in rows]
    assert list(split.y) == [int(y) for _, y in rows]


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ASCII_DOC = st.lists(st.text("abc .,!'\t", max_size=12), min_size=1, max_size=4)


@FAST
@given(st.lists(ASCII_DOC, min_size=1, max_size=4), st.lists(ASCII_DOC, min_size=1, max_size=4))
def test_polarity_v2_tar_round_trip(root, pos, neg):
    members = {f"txt_sentoken/{part}/cv{i:03d}_{i}.txt": "\n".join(doc).encode()
               for part, docs in (("pos", pos), ("neg", neg)) for i, doc in enumerate(docs)}
    members["poldata.README.2.0"] = b"readme"
    put(root, "polarity_v2_txt_sentoken/review_polarity.tar.gz", tar_gz(members))
    split = PolarityV2("polarity_v2").read_all(root)
    assert list(split.x) == [" ".join(doc).strip() for doc in neg + pos]


@FAST
@given(JUNK, st.booleans())
def test_imdb_and_polarity_junk_is_a_data_error(root, data, packed):
    put(root, "imdb_subset_2000/imdb.csv.gz", gzip.compress(data) if packed else data)
    put(root, "polarity_v2_txt_sentoken/review_polarity.tar.gz",
        tar_gz({"txt_sentoken/pos/a.txt": data}) if packed else data)
    data_error_or_result(lambda: ImdbSubset("imdb").read_all(root))
    data_error_or_result(lambda: PolarityV2("polarity_v2").read_all(root))


# --- the user's tables: CSV / TSV / JSONL ----------------------------------------------------
NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"),
               min_size=1, max_size=8).map(str.strip).filter(bool)


@FAST
@given(st.lists(NAME, min_size=1, max_size=4, unique=True), st.data(),
       st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_delimited_table_round_trip(root, columns, data, suffix):
    rows = data.draw(st.lists(st.lists(TEXT, min_size=len(columns), max_size=len(columns)),
                              min_size=1, max_size=5))
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter="\t" if suffix == ".tsv" else ",").writerows([columns, *rows])
    blob = buf.getvalue().encode()
    path = put(root, f"table{suffix}", gzip.compress(blob) if suffix.endswith(".gz") else blob)
    found_columns, found_rows = read_table(path)
    assert found_columns == columns
    assert [record for _, record in found_rows] == [dict(zip(columns, r)) for r in rows]


JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | TEXT
                          | st.floats(allow_nan=False, allow_infinity=False),
                          lambda inner: st.lists(inner, max_size=3), max_leaves=5)


@FAST
@given(st.lists(st.dictionaries(TEXT, JSON_VALUE, max_size=4), min_size=1, max_size=5))
def test_jsonl_round_trip(root, records):
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    columns, rows = read_table(put(root, "table.jsonl", text.encode()))
    assert [record for _, record in rows] == records
    assert columns == list(dict.fromkeys(k for r in records for k in r))


@FAST
@given(JUNK, st.sampled_from([".csv", ".tsv", ".jsonl", ".jsonl.gz"]))
@example(b'{"a": ' + b"9" * 5000 + b"}\n", ".jsonl")  # beyond Python's int-digits limit
@example(b'{"a": ' + b"[" * 100_000 + b"}\n", ".jsonl")  # nesting beyond the recursion limit
@example(b'"a\n' + b"x" * 200_000 + b'"\n', ".csv")  # field larger than the csv module's limit
def test_table_junk_is_a_data_error(root, data, suffix):
    blob = gzip.compress(data) if suffix.endswith(".gz") else data
    data_error_or_result(lambda: read_table(put(root, f"junk{suffix}", blob)))


# --- features: .npz and CSV ------------------------------------------------------------------
FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@FAST
@given(st.integers(1, 6), st.integers(1, 4), st.data())
def test_features_npz_and_csv_round_trip(root, n, d, data):
    x = np.array(data.draw(st.lists(st.lists(FLOAT32, min_size=d, max_size=d), min_size=n,
                                    max_size=n)), dtype=np.float32)
    y = data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    np.savez(root / "f.npz", X=x, y=np.array(y))
    lines = [",".join([f"f{j}" for j in range(d)] + ["label"])]
    lines += [",".join([repr(float(v)) for v in row] + [str(label)]) for row, label in zip(x, y)]
    put(root, "f.csv", ("\n".join(lines) + "\n").encode())
    for name in ("f.npz", "f.csv"):
        got_x, names, splits = FeatureFile(str(root / name)).read_file(root / name, "label")
        np.testing.assert_array_equal(got_x, x)
        assert names == [str(label) for label in y] and splits is None


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


VALID_NPZ = npz_bytes({"X": np.arange(12.0).reshape(4, 3), "y": np.array([0, 1, 0, 1])})


@st.composite
def damaged_npz(draw) -> bytes:
    """A valid .npz with a few bytes overwritten, or a zip of X.npy/y.npy with junk bodies."""
    if draw(st.booleans()):
        blob = bytearray(VALID_NPZ)
        for _ in range(draw(st.integers(1, 4))):
            blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
        return bytes(blob)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key in ("X.npy", "y.npy"):
            zf.writestr(key, draw(st.sampled_from([b"", b"\x93NUMPY\x01\x00"])) + draw(JUNK))
    return buf.getvalue()


@FAST
@given(JUNK | damaged_npz(), st.booleans())
def test_features_junk_is_a_data_error(root, data, as_csv):
    path = put(root, "junk.csv" if as_csv else "junk.npz", data)
    data_error_or_result(lambda: FeatureFile(str(path)).read_file(path, "label"))


# --- digits: IDX (MNIST) and HDF5 (USPS, MATLAB v7.3) ----------------------------------------
@FAST
@given(st.sampled_from([1, 3]), st.data())
def test_idx_round_trip(ndim, data):
    shape = tuple(data.draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    array = np.frombuffer(data.draw(st.binary(min_size=int(np.prod(shape)),
                                              max_size=int(np.prod(shape)))),
                          dtype=np.uint8).reshape(shape)
    blob = bytes([0, 0, 8, ndim]) + b"".join(s.to_bytes(4, "big") for s in shape)
    np.testing.assert_array_equal(digits.parse_idx(blob + array.tobytes(), Path("x"), ndim), array)


@FAST
@given(JUNK | st.binary(max_size=40).map(lambda b: b"\x00\x00\x08\x03" + b),
       st.sampled_from([1, 3]))
def test_idx_junk_is_a_data_error(data, ndim):
    data_error_or_result(lambda: digits.parse_idx(data, Path("x"), ndim))


@FAST
@given(st.integers(0, 5), st.data())
def test_h5_round_trip(root, n, data):
    x = np.array(data.draw(st.lists(st.lists(FLOAT32, min_size=4, max_size=4), min_size=n,
                                    max_size=n)), dtype=np.float32).reshape(n, 4)
    h5py = pytest.importorskip("h5py")
    with h5py.File(root / "d.h5", "w") as handle:
        handle["train/data"] = x
    np.testing.assert_array_equal(digits.read_h5(root / "d.h5", ["train/data"])["train/data"], x)
    with pytest.raises(DataError, match="no dataset"):
        digits.read_h5(root / "d.h5", ["test/data"])


@FAST
@given(JUNK | st.binary(max_size=200).map(lambda b: b"\x89HDF\r\n\x1a\n" + b))
def test_h5_junk_is_a_data_error(root, data):
    path = put(root, "junk.h5", data)
    data_error_or_result(lambda: digits.read_h5(path, ["train/data"]))
