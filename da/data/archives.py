"""Reading the needed members of a downloaded tar / zip archive, safely and in memory.

No member path is ever written to disk: the wanted members are read into memory and the caller
writes them under layout names from the registry. Members with an absolute path or ``..``, and
(in tars) links or devices, make the whole archive refused, as ``extractall(filter="data")``
would.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from da.data.registry import Source
from da.errors import DataError


def _safe_name(name: str, archive: Path) -> str:
    """A member name without ``./``; absolute names and ``..`` parts raise DataError."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise DataError(f"{archive}: unsafe member name {name!r} (absolute or with '..'); the "
                        f"archive is not the published one: delete it.")
    return "/".join(p for p in path.parts if p != ".")


def _hit(name: str, wanted: str) -> bool:
    """Whether member ``name`` is ``wanted`` or ends in ``/<wanted>`` (macOS junk never is)."""
    return (name == wanted or name.endswith("/" + wanted)) and not name.startswith("__MACOSX/")


def _one(hits: list, wanted: str, archive: Path):
    if len(hits) != 1:
        raise DataError(f"{archive}: {'no' if not hits else 'several'} member(s) named {wanted!r};"
                        f" not the published archive.")
    return hits[0]


def _read_tar(archive: Path, source: Source) -> dict[str, bytes]:
    """One sequential pass (no seeking back in a large .tar.gz), refusing unsafe members."""
    hits: dict[str, list[bytes]] = {layout: [] for _, layout in source.members}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            try:  # the checks of extractall(filter="data"): paths, links, devices
                tarfile.data_filter(member, str(archive.parent))
            except tarfile.FilterError as exc:
                raise DataError(f"{archive}: unsafe member ({exc}); the archive is not the "
                                f"published one.") from exc
            name = _safe_name(member.name, archive)
            for wanted, layout in source.members:
                if _hit(name, wanted):
                    if not member.isfile():
                        raise DataError(f"{archive}: member {name!r} is not a regular file.")
                    hits[layout].append(tar.extractfile(member).read())
    return {layout: _one(hits[layout], wanted, archive) for wanted, layout in source.members}


def read_members(archive: Path, source: Source) -> dict[str, bytes]:
    """``{layout path: original bytes}`` of ``source`` from the downloaded ``archive``."""
    if source.kind == "file":
        return {source.members[0][1]: archive.read_bytes()}
    try:
        if source.kind == "tar":
            return _read_tar(archive, source)
        with zipfile.ZipFile(archive) as zf:
            names = {_safe_name(n, archive): n for n in zf.namelist()}
            return {layout: zf.read(names[_one([n for n in names if _hit(n, wanted)], wanted,
                                                archive)])
                    for wanted, layout in source.members}
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error,
            NotImplementedError) as exc:  # NotImplementedError: unsupported zip compression
        raise DataError(f"{archive}: corrupt or not a {source.kind} archive ({exc}).") from exc
