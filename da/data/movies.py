"""Movie-review corpora: sentence polarity (rt_polarity), polarity v2.0 and an IMDB subset.

None ships an official train/test split: :class:`~da.data.base.DomainSource` applies a seeded,
stratified one.
"""

from __future__ import annotations

import csv
import io
import os
import tarfile

from da.data.base import DomainSource, labeled_texts
from da.data.io import dataset_dir, decode, read_bytes, read_lines
from da.data.types import Split
from da.errors import DataError

_CORNELL = "http://www.cs.cornell.edu/people/pabo/movie-review-data/"


class RtPolarity(DomainSource):
    """Pang & Lee (ACL 2005) sentence polarity, 5331 + 5331 snippets, cp1252-encoded.

    Lines are split on ``\\n`` only: byte 0x85 is "…" in cp1252 but a line break for
    ``str.splitlines``.
    """

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    home = _CORNELL + " (rt-polaritydata.tar.gz)"
    folder = "rt_polarity_v1"

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        folder = dataset_dir(data_dir, self.folder, self.name, self.home)
        pos = read_lines(folder / "rt-polarity.pos", encoding="cp1252")
        neg = read_lines(folder / "rt-polarity.neg", encoding="cp1252")
        return labeled_texts([s.strip() for s in pos], [s.strip() for s in neg])


class PolarityV2(DomainSource):
    """Pang & Lee (ACL 2004) polarity v2.0: 1000 + 1000 full reviews, read from the tar.gz."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    home = _CORNELL + " (review_polarity.tar.gz)"
    folder = "polarity_v2_txt_sentoken"

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        path = dataset_dir(data_dir, self.folder, self.name, self.home) / "review_polarity.tar.gz"
        data = read_bytes(path)
        texts: dict[str, list[tuple[str, str]]] = {"pos": [], "neg": []}
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
                for member in archive:
                    parts = member.name.split("/")
                    if member.isfile() and len(parts) == 3 and parts[1] in texts:
                        raw = archive.extractfile(member).read()
                        text = " ".join(decode(raw, path / member.name).split("\n")).strip()
                        texts[parts[1]].append((member.name, text))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(f"corrupt or truncated archive {path} ({exc}); re-download it.") from exc
        if not texts["pos"] or not texts["neg"]:
            raise DataError(f"{path}: no txt_sentoken/pos or txt_sentoken/neg reviews found")
        pos = [t for _, t in sorted(texts["pos"])]
        neg = [t for _, t in sorted(texts["neg"])]
        return labeled_texts(pos, neg)


class ImdbSubset(DomainSource):
    """2000 balanced IMDB reviews (Maas et al. 2011 subset from BERT-AAD), CSV ``reviews,labels``."""

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    home = "http://ai.stanford.edu/~amaas/data/sentiment/ (subset: github.com/bzantium/bert-AAD)"
    folder = "imdb_subset_2000"

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        path = dataset_dir(data_dir, self.folder, self.name, self.home) / "imdb.csv.gz"
        reader = csv.reader(io.StringIO(decode(read_bytes(path), path)))
        header = next(reader, None)
        if header != ["reviews", "labels"]:
            raise DataError(f"{path}, line 1: expected header 'reviews,labels', found {header}")
        texts, labels = [], []
        for number, row in enumerate(reader, start=2):
            if len(row) != 2 or row[1] not in ("0", "1"):
                raise DataError(f"{path}, line {number}: expected '<review>,<0|1>', found {row[:2]}")
            texts.append(row[0].replace("<br />", " ").strip())
            labels.append(int(row[1]))
        return Split(texts, labels)
