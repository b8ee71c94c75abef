"""Amazon multi-domain sentiment (Blitzer et al., ACL 2007) in two forms.

* :class:`AmazonBow` — the 5000-d bag-of-words files distributed with DANN (Ganin et al., JMLR
  2016, Sec. 5.1; features of Chen et al., ICML 2012). Protocol: ``<d>_train`` (2000 reviews) is
  the training part (labeled as source, unlabeled as target), ``<d>_test`` is the test part.
* :class:`AmazonText` — the raw ``sorted_data_acl`` reviews (title + review text), 1000 positive
  and 1000 negative per domain, with a seeded split.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from da.data.base import DomainSource, labeled_texts
from da.data.io import dataset_dir, decode, read_bytes
from da.data.types import Split
from da.errors import DataError

AMAZON_DOMAINS = ("books", "dvd", "electronics", "kitchen")
BOW_DIM = 5000
_REVIEW = re.compile(r"<review>(.*?)</review>", re.S)
_FIELD = "<{0}>\n?(.*?)\n?</{0}>"


def _check_domain(domain: str) -> str:
    if domain not in AMAZON_DOMAINS:
        raise DataError(f"unknown Amazon domain '{domain}'; choose one of {list(AMAZON_DOMAINS)}")
    return domain


def parse_svmlight(data: bytes, path: Path, n_features: int = BOW_DIM) -> Split:
    """Parse a zero-based svmlight file with labels ``-1``/``1`` into (CSR float32, {0, 1})."""
    try:
        from sklearn.datasets import load_svmlight_file  # heavy; encoder=auto imports this module
        x, y = load_svmlight_file(io.BytesIO(data), n_features=n_features, zero_based=True,
                                  dtype=np.float32)
    except ValueError as exc:
        raise DataError(f"{path}, line {_first_bad_svmlight_line(data, n_features)}: "
                        f"not a valid svmlight line ({exc})") from exc
    if not set(np.unique(y)) <= {-1.0, 1.0}:
        raise DataError(f"{path}: labels must be -1 or 1, found {sorted(set(np.unique(y)))}")
    return Split(x.tocsr(), (y > 0).astype(np.int64))


def _first_bad_svmlight_line(data: bytes, n_features: int) -> int | str:
    """1-based number of the first line that does not parse, for error messages."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            float(tokens[0])
            for token in tokens[1:]:
                index, value = token.split(b":")
                if not 0 <= int(index) < n_features:
                    return number
                float(value)
        except ValueError:
            return number
    return "?"


class AmazonBow(DomainSource):
    """DANN-paper bag-of-words Amazon domain (``mdsd_dann_svmlight``), official train/test files."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    modality = "vectors"
    home = "https://github.com/GRAAL-Research/domain_adversarial_neural_network (data/)"
    folder = "mdsd_dann_svmlight"

    def __init__(self, name: str, domain: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.domain = _check_domain(domain)

    def read_parts(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        folder = dataset_dir(data_dir, self.folder, self.name, self.home)
        parts = []
        for part in ("train", "test"):
            path = folder / f"{self.domain}_{part}.svmlight.gz"
            parts.append(parse_svmlight(read_bytes(path), path))
        return parts[0], parts[1], "official DANN split: <d>_train / <d>_test"


def parse_reviews(text: str, path: Path) -> list[str]:
    """``title + text`` of every ``<review>`` block of a (not well-formed) Blitzer ``.review`` file."""
    reviews = []
    for number, block in enumerate(_REVIEW.findall(text), start=1):
        fields = {}
        for tag in ("title", "review_text"):
            match = re.search(_FIELD.format(tag), block, re.S)
            fields[tag] = match.group(1).strip() if match else ""
        if not fields["review_text"] and not fields["title"]:
            raise DataError(f"{path}: review #{number} has neither <title> nor <review_text>")
        reviews.append(f"{fields['title']}. {fields['review_text']}".strip(". "))
    if not reviews:
        raise DataError(f"{path}: no <review> blocks found; the file is empty or not a .review file")
    return reviews


class AmazonText(DomainSource):
    """Raw Blitzer reviews (``mdsd_sorted_acl/<domain>/{positive,negative}.review.gz``)."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    modality = "text"
    home = "https://www.cs.jhu.edu/~mdredze/datasets/sentiment/ (sorted_data_acl.tar.gz)"
    folder = "mdsd_sorted_acl"

    def __init__(self, name: str, domain: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.domain = _check_domain(domain)

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        folder = dataset_dir(data_dir, self.folder, self.name, self.home) / self.domain
        texts = {}
        for polarity in ("positive", "negative"):
            path = folder / f"{polarity}.review.gz"
            texts[polarity] = parse_reviews(decode(read_bytes(path), path), path)
        return labeled_texts(texts["positive"], texts["negative"])
