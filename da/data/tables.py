"""Reading user tables (CSV / TSV / JSON lines, optionally gzipped) with errors naming file and line."""

from __future__ import annotations

import csv
import difflib
import io
import json
from pathlib import Path
from typing import Any, Sequence

from da.data.io import decode, read_bytes
from da.errors import DataError

#: Table formats by suffix: the delimiter, or ``None`` for JSON lines.
DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".jsonl": None, ".ndjson": None}
Row = tuple[int, dict[str, Any]]  # (line number, {column: value})


def read_table(path: Path) -> tuple[list[str], list[Row]]:
    """Column names and ``(line, record)`` rows of a CSV / TSV / JSONL file (skips blank lines)."""
    suffix = Path(path.name.lower().removesuffix(".gz")).suffix
    if suffix not in DELIMITERS:
        raise DataError(f"{path}: unknown table type '{suffix}'; use one of "
                        f"{', '.join(DELIMITERS)} (optionally gzipped, .gz).")
    text = decode(read_bytes(path), path).lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"{path} is empty: expected a header line (or JSON objects) and one row "
                        f"per example.")
    delimiter = DELIMITERS[suffix]
    columns, rows = _read_jsonl(text, path) if delimiter is None else _read_delimited(
        text, path, delimiter)
    if not rows:
        raise DataError(f"{path} has columns {columns} but no rows.")
    return columns, rows


def _read_delimited(text: str, path: Path, delimiter: str) -> tuple[list[str], list[Row]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    try:
        columns = [c.strip() for c in next(r for r in reader if r)]
        if len(set(columns)) < len(columns):
            raise DataError(f"{path}, line {reader.line_num}: repeated column names in {columns}.")
        for record in reader:
            if not record:
                continue
            if len(record) != len(columns):
                raise DataError(f"{path}, line {reader.line_num}: {len(record)} fields, but the "
                                f"header has {len(columns)} {columns}; quote fields that "
                                f"contain {delimiter!r} or a line break.")
            rows.append((reader.line_num, dict(zip(columns, record))))
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: unparseable row ({exc}).") from exc
    return columns, rows


def _read_jsonl(text: str, path: Path) -> tuple[list[str], list[Row]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:  # also too many digits, too deep nesting
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
            raise DataError(f"{path}, line {number}: not valid JSON ({reason}): "
                            f"{line[:60]!r}") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: expected one JSON object per line, found "
                            f"{type(record).__name__}.")
        columns.update(dict.fromkeys(record))
        rows.append((number, record))
    return list(columns), rows


def require_columns(path: Path, columns: Sequence[str], **wanted: str | None) -> None:
    """Raise unless every ``option=column`` names a column; the error lists the columns found."""
    for option, column in wanted.items():
        if column is not None and column not in columns:
            close = difflib.get_close_matches(str(column), list(columns), n=1)
            hint = f" Did you mean {option}={close[0]}?" if close else ""
            raise DataError(f"{path}: no column '{column}' ({option}); columns found: "
                            f"{list(columns)}.{hint}")


def cell(path: Path, row: Row, column: str) -> Any:
    line, record = row
    if column not in record or record[column] is None:
        raise DataError(f"{path}, line {line}: no value for column '{column}'.")
    return record[column]
