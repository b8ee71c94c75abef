"""Reading dataset files with errors that name the file, the line and the fix."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from da.errors import DataError

DEFAULT_DATA_DIR = "~/.cache/da/datasets"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The dataset root: ``data_dir`` if given, else ``$DA_DATA_DIR``, else ``~/.cache/da/datasets``."""
    raw = data_dir or os.environ.get("DA_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(raw).expanduser().resolve()


def dataset_dir(data_dir: str | os.PathLike | None, folder: str, domain: str, home: str) -> Path:
    """The folder ``<data_dir>/<folder>``, or a :class:`DataError` saying where it was expected."""
    root = resolve_data_dir(data_dir)
    path = root / folder
    if not path.is_dir():
        hint = "" if root.is_dir() else f" (the data root {root} itself does not exist)"
        raise DataError(
            f"dataset folder for domain '{domain}' not found: expected {path}{hint}. "
            f"Point DA_DATA_DIR (or data_dir=...) at the folder that holds '{folder}/', laid out "
            f"like shared/datasets in the README; the original data is at {home}."
        )
    return path


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, gunzipped if it ends in ``.gz``; corrupt files raise DataError."""
    if not path.is_file():
        raise DataError(
            f"missing data file {path}: the dataset folder is incomplete; restore the file "
            f"(compare with the PROVENANCE.md of the dataset) or re-download the dataset."
        )
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"corrupt or truncated file {path} ({exc}); delete it and restore or re-download it."
        ) from exc


def decode(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    """Decode ``data``; on failure say which file and line hold the bad bytes."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line}: bytes that are not valid {encoding} ({exc.reason}); "
            f"the file is corrupt or in another encoding."
        ) from exc


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """Lines of a text file split on ``\\n`` only (never on NEL/U+2028), without a final empty one."""
    lines = decode(read_bytes(path), path, encoding).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
