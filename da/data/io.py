"""Reading dataset files with errors that name the file, the line and the fix."""

from __future__ import annotations

import gzip
import os
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from da.data.integrity import check_bytes
from da.data.registry import published
from da.errors import DataError

DEFAULT_DATA_DIR = "~/.cache/da/datasets"

_recorders: list[set[str]] = []  # one set per open files_read() block


@contextmanager
def files_read() -> Iterator[set[str]]:
    """The paths that :func:`read_bytes` reads inside this block (da.data.memo stamps them)."""
    files: set[str] = set()
    _recorders.append(files)
    try:
        yield files
    finally:
        _recorders.remove(files)


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
            f"like shared/datasets in the README, or download it: `da-data download {folder}"
            f"{'' if data_dir is None else f' --data-dir {root}'}` (the original data is at "
            f"{home})."
        )
    return path


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, gunzipped if it ends in ``.gz``; corrupt files raise DataError.

    A file of the dataset layout is first checked against its published sha256
    (:mod:`da.data.integrity`; ``DA_VERIFY_DATA=0`` skips the check).
    """
    for files in _recorders:
        files.add(str(path))
    if not path.is_file():
        found = published(path)
        fix = (f"run `da-data download {found[0].folder} --data-dir "
               f"{Path(path).absolute().parents[len(Path(found[1].path).parts)]}`" if found
               else "restore the file (compare with the PROVENANCE.md of the dataset)")
        raise DataError(f"missing data file {path}: the dataset folder is incomplete; {fix}.")
    try:
        raw = path.read_bytes()
        check_bytes(path, raw)
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
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
