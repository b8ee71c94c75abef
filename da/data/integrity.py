"""Checking dataset files against their published sha256 (:mod:`da.data.registry`) on first use.

A file of the ``DA_DATA_DIR`` layout (a path ending in ``<folder>/<file>`` of the registry) is
accepted when the sha256 of its bytes equals the published one, or, for files that were
re-gzipped for the layout, when the sha256 of its gunzipped content does (a download made
without GNU ``gzip -9 -n`` holds the same content in different compressed bytes). Other files
(the user's own data) are not checked.

Each file is hashed once per process: the result is memoised by (absolute path, size,
modification time), so a replaced file is checked again. Hashing every registered file
(~25 MB) takes well under a second, so no stamp is kept on disk (the data directory may be
read-only). ``DA_VERIFY_DATA=0`` switches the check off, for deliberately modified copies.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from da.data.registry import DataFile, Dataset, published
from da.errors import DataError

ENV_VERIFY = "DA_VERIFY_DATA"
_OFF = {"0", "false", "no", "off"}
_VERIFIED: set[tuple[str, int, int]] = set()


def verification_enabled() -> bool:
    """False when ``$DA_VERIFY_DATA`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get(ENV_VERIFY, "1").strip().lower() not in _OFF


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def matches(entry: DataFile, raw: bytes) -> bool:
    """Whether ``raw`` (a file's bytes) is the published file, or holds its published content."""
    if sha256(raw) == entry.sha256:
        return True
    if entry.content_sha256 is None:
        return False
    try:
        return sha256(gzip.decompress(raw)) == entry.content_sha256
    except (OSError, EOFError, zlib.error):
        return False


def mismatch_message(path: Path, raw: bytes, dataset: Dataset, entry: DataFile) -> str:
    """The error for a file that is not the published one, naming the fix."""
    depth = len(Path(entry.path).parts) + 1
    root = path.parents[depth - 1] if len(path.parents) >= depth else path.parent
    return (f"{path}: sha256 {sha256(raw)} does not match the published {entry.sha256} "
            f"(size {len(raw)}, published {entry.size}: file corrupt, truncated or a different "
            f"version); delete it and run `da-data download {dataset.folder} --data-dir {root}`. "
            f"To use a deliberately modified copy, set {ENV_VERIFY}=0.")


def check_bytes(path: Path, raw: bytes) -> None:
    """Raise :class:`DataError` if ``path`` is a published file and ``raw`` (its bytes) is not it.

    The verdict is memoised per (path, size, mtime) for the life of the process.
    """
    if not verification_enabled():
        return
    found = published(path)
    if found is None:
        return
    path = Path(os.path.abspath(path))
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _VERIFIED:
        return
    dataset, entry = found
    if not matches(entry, raw):
        raise DataError(mismatch_message(path, raw, dataset, entry))
    if key is not None and key[1] == len(raw):
        _VERIFIED.add(key)


def forget() -> None:
    """Clear the memo of verified files (for tests)."""
    _VERIFIED.clear()
