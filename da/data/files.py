"""The user's own data: ``file`` (text in CSV / TSV / JSONL), ``features`` (vectors: .npz or CSV).

Both read one file (optionally ``.gz``) with a label column, rename the labels through
``label_map`` if given (``{0: negative, 1: positive}``), map them to class indices by sorted label
names (integers sort numerically) unless ``classes`` lists the names in order, and either take the
split from ``split_column`` (values ``train`` / ``test``), take the test part from a second file
(``test_path``) or make the seeded stratified split of :class:`~da.data.base.DomainSource`. A
target nobody has labels for is declared with ``label_column=None``: every row trains, unlabeled. Every problem raises a :class:`~da.errors.DataError` naming
the file, and the line where there is one.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from da.data.base import DomainSource
from da.data.io import resolve_data_dir
from da.data.labels import encode_labels, label_name
from da.data.tables import Row, cell, read_table, require_columns
from da.data.types import UNLABELED, DomainData, Split
from da.errors import ConfigError, DataError

#: Suffixes dropped from a file's name to give its domain name (``reviews.csv.gz`` → ``reviews``).
_DATA_SUFFIXES = (".gz", ".csv", ".tsv", ".jsonl", ".json", ".npz", ".txt")


def file_stem(path: str | os.PathLike) -> str:
    """A file domain's default name: the file name without its data suffixes
    (``data/amazon_books.csv.gz`` → ``amazon_books``), so that two files are two domains in run
    names, W&B tags and ``da-compare`` tables (``${da_file_stem:file}`` in conf/domain/file.yaml)."""
    name = Path(str(path)).name
    while True:
        suffix = next((s for s in _DATA_SUFFIXES if name.lower().endswith(s)), None)
        if suffix is None or len(name) == len(suffix):
            return name
        name = name[: -len(suffix)]


def find_file(path: str | os.PathLike, data_dir: str | os.PathLike | None, domain: str) -> Path:
    """``path`` as given (relative to the working directory), else relative to ``data_dir``."""
    given = Path(path).expanduser()
    tried = [given.resolve()]
    if not given.is_absolute():
        tried.append(resolve_data_dir(data_dir) / path)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise DataError(f"data file of domain '{domain}' not found: {' or '.join(map(str, tried))}; "
                    f"set its path (e.g. source.path=reviews.csv).")


class _FileDomain(DomainSource):
    """Shared part of :class:`TextFile` and :class:`FeatureFile`: path, labels, split, classes.

    ``label_column=None`` declares the file **unlabeled** (a target whose labels nobody has):
    every row is an unlabeled training example, the test part is empty (or ``test_path``), and
    the classes are the source's (or ``classes``). ``test_path``: a second, labeled file of the
    same kind as the test part; the first file is then the training part in full.
    """

    own_file = True

    def __init__(self, path: str, label_column: str | None = "label",
                 split_column: str | None = None, name: str | None = None,
                 classes: Sequence[Any] | None = None, label_map: Mapping[Any, Any] | None = None,
                 test_path: str | None = None, test_label_column: str = "label",
                 **kwargs: Any) -> None:
        super().__init__(name or file_stem(path), **kwargs)
        self.path, self.label_column, self.split_column = str(path), label_column, split_column
        self.test_path = None if test_path is None else str(test_path)
        self.test_label_column = test_label_column
        self.classes = None if classes is None else list(classes)
        self.label_map = None if label_map is None else dict(label_map)
        if split_column is not None and (label_column is None or test_path is not None):
            why = "test_path gives the test part" if test_path is not None else \
                "label_column=null: its test part would have no labels"
            raise ConfigError(f"domain '{self.name}': split_column={split_column} with {why}; "
                              f"drop split_column (a labeled test file goes in test_path=).")

    @property
    def labeled(self) -> bool:
        """Whether the file has labels (``label_column`` is set)."""
        return self.label_column is not None

    @property
    def has_test_labels(self) -> bool:  # type: ignore[override]
        return self.labeled or self.test_path is not None

    def read_file(self, path: Path, label_column: str | None
                  ) -> tuple[Any, list[str] | None, list[str] | None]:
        """``(inputs, label names or None, split values or None)`` of every example in
        ``path``; label names are read from ``label_column`` (``None``: no labels)."""
        raise NotImplementedError

    def load(self, data_dir: str | os.PathLike | None = None) -> DomainData:
        try:
            data = super().load(data_dir)
        except ValueError as exc:  # scikit-learn: a class too small for a stratified split
            raise DataError(f"domain '{self.name}' ({self.path}): no stratified split possible "
                            f"({exc}); add examples or give the split in split_column.") from exc
        data.classes = list(self._classes or [])
        data.labeled = self.labeled
        return data

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        return self._read(data_dir)[0]

    def read_parts(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        if self.test_path is not None:
            train, _, path = self._read(data_dir)
            test, _, test_file = self._read(data_dir, self.test_path,
                                            self.label_column or self.test_label_column)
            return train, test, f"training part: every row of {path}; test part: {test_file}"
        if not self.labeled:
            train, _, path = self._read(data_dir)
            return train, train.subset([]), (
                f"unlabeled (label_column=null): every row of {path} is an unlabeled training "
                f"example; no test part (a labeled file goes in test_path=)")
        if self.split_column is None:
            return super().read_parts(data_dir)  # seeded stratified split of read_all
        everything, splits, path = self._read(data_dir)
        parts = {}
        for part in ("train", "test"):
            index = [i for i, s in enumerate(splits) if s == part]
            if not index:
                raise DataError(f"{path}: no row has {self.split_column}={part}; both parts "
                                f"are needed (or drop split_column for a seeded split).")
            parts[part] = everything.subset(index)
        return parts["train"], parts["test"], f"split from column '{self.split_column}' of {path}"

    def _read(self, data_dir: str | os.PathLike | None, file: str | None = None,
              label_column: str | None = None) -> tuple[Split, list[str] | None, Path]:
        """The examples of ``file`` (default ``path``, read with ``label_column``; the test file
        with its own label column), each with its row number."""
        test_file = file is not None
        path = find_file(file or self.path, data_dir, self.name)
        x, names, splits = self.read_file(path, label_column if test_file else self.label_column)
        n = len(names) if names is not None else (x.shape[0] if hasattr(x, "shape") else len(x))
        if names is None:
            y, self._classes = np.full(n, UNLABELED, dtype=np.int64), self.classes
        elif test_file:  # the training file's classes where it has them, else its own names
            known = self._classes if self.labeled else self.classes
            y, classes = encode_labels(names, known, str(path), self.label_map,
                                       single_ok=known is None)
            self._classes = self._classes or classes
        else:
            y, self._classes = encode_labels(names, self.classes, str(path), self.label_map)
        return Split(x, y, rows=np.arange(n)), splits, path

    def _labels_and_splits(self, path: Path, rows: list[Row], label_column: str | None
                           ) -> tuple[list[str] | None, list[str] | None]:
        names = None if label_column is None else [
            label_name(cell(path, row, label_column), f"{path}, line {row[0]}") for row in rows]
        splits = None if self.split_column is None else [
            self.split_value(cell(path, row, self.split_column), f"{path}, line {row[0]}")
            for row in rows]
        return names, splits

    def split_value(self, value: Any, where: str) -> str:
        part = str(value).strip().lower()
        if part not in ("train", "test"):
            raise DataError(f"{where}: {self.split_column} is {value!r}; expected train or test.")
        return part


class TextFile(_FileDomain):
    """Text examples in one CSV / TSV / JSONL file (domain ``file``).

    Args:
        path: the file (relative to the working directory, else to ``data_dir``).
        text_column: the column holding the text.
        label_column: the column holding the label (strings or integers); ``None``: the file
            has no labels (an unlabeled target: its classes are the source's).
        split_column: optional column with ``train`` / ``test`` per row.
        name: the domain name in run names and tables (default: the file's stem).
        classes: optional class names in label-index order (labels given as names or indices).
        label_map: optional ``{label in the file: class name}``, e.g. ``{0: negative, 1:
            positive}``, applied before ``classes``; every label value must be a key.
        test_path: optional labeled file of the same kind: the test part (``path`` then trains
            in full, with or without labels).
        test_label_column: the label column of ``test_path`` when ``label_column`` is ``None``.
    """

    modality = "text"

    def __init__(self, path: str, text_column: str = "text", **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.text_column = text_column

    def read_file(self, path: Path, label_column: str | None
                  ) -> tuple[Any, list[str] | None, list[str] | None]:
        columns, rows = read_table(path)
        require_columns(path, columns, text_column=self.text_column,
                        label_column=label_column, split_column=self.split_column)
        texts = [str(cell(path, row, self.text_column)) for row in rows]
        return (texts, *self._labels_and_splits(path, rows, label_column))


class FeatureFile(_FileDomain):
    """Feature vectors (domain ``features``): a ``.npz`` with arrays ``X`` ``(n, d)`` and ``y``
    ``(n,)`` (and the ``split_column`` array if set), or a CSV / TSV / JSONL table whose columns
    other than ``label_column`` and ``split_column`` are the numeric features. With
    ``label_column=None`` the file has no labels (a ``.npz`` needs no ``y``; a table's every
    column is a feature). Other arguments as :class:`TextFile`."""

    modality = "vectors"

    def __init__(self, path: str, ignore_columns: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.ignore_columns = tuple(ignore_columns)  # of a table: neither features nor labels

    def read_file(self, path: Path, label_column: str | None
                  ) -> tuple[Any, list[str] | None, list[str] | None]:
        if path.name.lower().endswith(".npz"):
            return self._read_npz(path, labeled=label_column is not None)
        columns, rows = read_table(path)
        require_columns(path, columns, label_column=label_column,
                        split_column=self.split_column)
        features = [c for c in columns
                    if c not in (label_column, self.split_column, *self.ignore_columns)]
        if not features:
            raise DataError(f"{path}: no feature columns besides '{label_column}'.")
        try:
            x = np.asarray([[row[1].get(c) for c in features] for row in rows], dtype=np.float32)
            ok = bool(np.isfinite(x).all())
        except (TypeError, ValueError):
            ok = False
        if not ok:
            line, record = next(r for r in rows
                                if not all(_is_number(r[1].get(c)) for c in features))
            found = {c: record.get(c) for c in features if not _is_number(record.get(c))}
            raise DataError(f"{path}, line {line}: features must be finite numbers, found "
                            f"{found} (every column but label_column/split_column is a feature).")
        return (x, *self._labels_and_splits(path, rows, label_column))

    def _read_npz(self, path: Path, labeled: bool = True
                  ) -> tuple[Any, list[str] | None, list[str] | None]:
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (OSError, ValueError, EOFError, NotImplementedError, zipfile.BadZipFile,
                zlib.error) as exc:  # NotImplementedError: an unsupported zip compression
            raise DataError(f"{path}: not a readable .npz archive ({exc}); write it with "
                            f"np.savez(path, X=features, y=labels).") from exc
        keys = ["X"] + (["y"] if labeled else []) + ([self.split_column] if self.split_column
                                                      else [])
        # a member without the .npy magic comes back as bytes: not an array either
        missing = [k for k in keys if not isinstance(arrays.get(k), np.ndarray)]
        if missing:
            fix = " (a file without labels: label_column=null)" if missing == ["y"] else ""
            raise DataError(f"{path}: no array {missing}; arrays found: {sorted(arrays)}{fix}.")
        x = arrays["X"]
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or len(x) == 0:
            raise DataError(f"{path}: X must be a non-empty 2-D numeric array (n, d), found "
                            f"shape {x.shape} dtype {x.dtype}.")
        for key in keys[1:]:
            if arrays[key].shape != (len(x),):
                raise DataError(f"{path}: {key} has shape {arrays[key].shape}, expected "
                                f"({len(x)},) to match X {x.shape}.")
        bad = np.flatnonzero(~np.isfinite(x).all(1))
        if len(bad):
            raise DataError(f"{path}: X row {int(bad[0])} holds NaN/Inf ({len(bad)} rows do).")
        names = None if not labeled else [label_name(v, f"{path}, y[{i}]")
                                          for i, v in enumerate(arrays["y"].tolist())]
        splits = None if self.split_column is None else [
            self.split_value(v, f"{path}, {self.split_column}[{i}]")
            for i, v in enumerate(arrays[self.split_column].tolist())]
        return x.astype(np.float32), names, splits


def _is_number(value: Any) -> bool:
    """Whether ``value`` parses as a number that is finite in float32."""
    try:
        return math.isfinite(float(value)) and abs(float(value)) <= 3.4e38
    except (TypeError, ValueError):
        return False


__all__ = ["FeatureFile", "TextFile", "encode_labels", "read_table"]
