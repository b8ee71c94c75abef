"""Sentence-level corpora: CR product reviews and the UCI sentiment labelled sentences."""

from __future__ import annotations

import os

from da.data.base import DomainSource, labeled_texts
from da.data.io import dataset_dir, read_lines
from da.data.types import Split
from da.errors import DataError

UCI_SITES = {"imdb": "imdb_labelled.txt", "amazon": "amazon_cells_labelled.txt",
             "yelp": "yelp_labelled.txt"}


class CustomerReviews(DomainSource):
    """CR (Hu & Liu 2004 sentences as in Kim 2014): 2405 positive, 1366 negative; blank lines dropped."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    home = "https://www.cs.uic.edu/~liub/FBS/sentiment-analysis.html (sentence version: " \
           "github.com/harvardnlp/sent-conv-torch data/raw/custrev.*)"
    folder = "cr_custrev"

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        folder = dataset_dir(data_dir, self.folder, self.name, self.home)
        pos = [s.strip() for s in read_lines(folder / "custrev.pos") if s.strip()]
        neg = [s.strip() for s in read_lines(folder / "custrev.neg") if s.strip()]
        return labeled_texts(pos, neg)


class UciSentences(DomainSource):
    """Kotzias et al. (KDD 2015): 1000 ``sentence<TAB>label`` lines per site, split on the last tab."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    home = "https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences"
    folder = "uci_sentiment_labelled_sentences"

    def __init__(self, name: str, site: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        if site not in UCI_SITES:
            raise DataError(f"unknown UCI site '{site}'; choose one of {list(UCI_SITES)}")
        self.site = site

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        path = dataset_dir(data_dir, self.folder, self.name, self.home) / UCI_SITES[self.site]
        texts, labels = [], []
        for number, line in enumerate(read_lines(path), start=1):
            sentence, sep, label = line.rstrip("\r").rpartition("\t")
            if not sep or label.strip() not in ("0", "1"):
                raise DataError(f"{path}, line {number}: expected '<sentence>\\t<0|1>', "
                                f"found {line[:60]!r}")
            texts.append(sentence.strip())
            labels.append(int(label))
        return Split(texts, labels)


__all__ = ["CustomerReviews", "UciSentences", "labeled_texts"]
