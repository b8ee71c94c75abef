"""``da-data download``: fetch a dataset's public originals and rebuild the ``DA_DATA_DIR`` layout.

Steps per dataset (:mod:`da.data.registry`): download each source into
``<data_dir>/.da-downloads/<folder>/`` (resumable, :func:`da.data.fetch.fetch`); check its
sha256 where one is published; read the needed members of a tar/zip archive without writing
any member path to disk (names with ``..`` or an absolute path, links and devices are refused,
as tarfile's ``data`` filter does); convert to the layout (gzip ``-9 -n`` where the layout file
is gzipped, the renamed folders of the registry); write everything into a staging folder under
the data dir, check every file against its published sha256, and only then move it into place
with atomic renames. A failure leaves the data dir as it was (plus a resumable ``.part`` file
after a broken connection).
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from da.data.archives import read_members
from da.data.fetch import fetch
from da.data.integrity import matches, sha256
from da.data.io import resolve_data_dir
from da.data.registry import Dataset, Source, find_datasets
from da.errors import DataError

ENV_URL_BASE = "DA_DATA_URL_BASE"
_DATA_TAGS = re.compile(rb"\A<data>\r?\n|(?<=\n)</data>[\r\n]*\Z")


def source_urls(source: Source, folder: str, url_base: str | None) -> list[str]:
    """The URLs to try: ``<url_base>/<folder>/<original file name>`` if a mirror base is given,
    else the original URL and its mirrors."""
    if url_base:
        return [f"{url_base.rstrip('/')}/{folder}/{source.filename}"]
    return [source.url, *source.mirrors]


def gzip_bytes(data: bytes) -> bytes:
    """``gzip -9 -n`` of ``data``: GNU gzip when installed (byte-identical to the layout files),
    else Python's gzip (same content, other bytes; the content hash still verifies)."""
    if shutil.which("gzip"):
        done = subprocess.run(["gzip", "-9", "-n", "-c"], input=data, capture_output=True)
        if done.returncode == 0:
            return done.stdout
    return gzip.compress(data, compresslevel=9, mtime=0)


def convert(data: bytes, member: str, layout: str, source: Source) -> bytes:
    """Original bytes of ``member`` → the bytes of the layout file ``layout``."""
    if source.strip_data_tags and member.endswith(".review"):
        data = _DATA_TAGS.sub(b"", data)
    if layout.endswith(".gz") and not (member or source.filename).endswith(".gz"):
        data = gzip_bytes(data)
    return data


def _build(dataset: Dataset, staging: Path, work: Path, url_base: str | None,
           log: Callable[[str], None]) -> None:
    """Download, check and convert every source of ``dataset`` into ``staging``."""
    for source in dataset.sources:
        archive = work / source.filename
        if not archive.exists():
            _fetch_any(source_urls(source, dataset.folder, url_base), archive, log)
        if source.sha256 and sha256(archive.read_bytes()) != source.sha256:
            archive.unlink()
            raise DataError(f"{source.filename}: sha256 does not match the published "
                            f"{source.sha256}; the download was deleted: run the command again.")
        try:
            originals = read_members(archive, source)
        except DataError as exc:
            archive.unlink()
            raise DataError(f"{exc} The download was deleted: run the command again.") from exc
        for member, layout in source.members:
            path = staging / layout
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(convert(originals[layout], member, layout, source))
    for entry in dataset.files:
        raw = (staging / entry.path).read_bytes()
        if not matches(entry, raw):
            shutil.rmtree(work, ignore_errors=True)
            raise DataError(f"{dataset.folder}/{entry.path}: the downloaded original gives sha256 "
                            f"{sha256(raw)}, not the published {entry.sha256}; the source changed "
                            f"or was corrupted in transit. Nothing was installed; the downloads "
                            f"were deleted.")


def _fetch_any(urls: list[str], dest: Path, log: Callable[[str], None]) -> None:
    """Fetch the first of ``urls`` that works."""
    for number, url in enumerate(urls):
        log(f"  fetching {url}")
        try:
            fetch(url, dest, log=log)
            return
        except DataError:
            if number == len(urls) - 1:
                raise


def _install(dataset: Dataset, staging: Path, target: Path) -> None:
    """Move the checked files into ``target`` (one rename if it does not exist yet)."""
    if not target.exists():
        os.rename(staging, target)
        return
    for entry in dataset.files:
        (target / entry.path).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / entry.path, target / entry.path)


def missing_or_bad(dataset: Dataset, folder: Path) -> list[str]:
    """Layout files of ``dataset`` under ``folder`` that are absent or not the published ones."""
    return [e.path for e in dataset.files
            if not (folder / e.path).is_file() or not matches(e, (folder / e.path).read_bytes())]


def download(name: str, data_dir: str | os.PathLike | None = None, url_base: str | None = None,
             log: Callable[[str], None] = print) -> list[Path]:
    """Download the dataset(s) of ``name`` (folder or domain) into ``data_dir``; their folders.

    Args:
        name: a folder (``rt_polarity_v1``) or domain name (``rt_polarity``, ``bow_dvd``).
        data_dir: the layout root (default ``$DA_DATA_DIR``, else ``~/.cache/da/datasets``).
        url_base: a mirror serving ``<url_base>/<folder>/<original file name>`` (default
            ``$DA_DATA_URL_BASE``, else the original URLs).
        log: progress messages.
    """
    root = resolve_data_dir(data_dir)
    url_base = url_base or os.environ.get(ENV_URL_BASE)
    done = []
    for dataset in find_datasets(name):
        target = root / dataset.folder
        if target.is_dir() and not missing_or_bad(dataset, target):
            log(f"{dataset.folder}: already present and verified in {root}")
            done.append(target)
            continue
        log(f"{dataset.folder}: downloading into {root}")
        work = root / ".da-downloads" / dataset.folder
        work.mkdir(parents=True, exist_ok=True)
        staging = root / f".{dataset.folder}.staging-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            _build(dataset, staging, work, url_base, log)
            _install(dataset, staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            _remove_empty(work, root)
        shutil.rmtree(work, ignore_errors=True)
        _remove_empty(work.parent, root)
        log(f"{dataset.folder}: {len(dataset.files)} files verified in {target}")
        done.append(target)
    return done


def _remove_empty(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty."""
    while folder != root and root in folder.parents:
        if folder.is_dir():
            if any(folder.iterdir()):
                return
            folder.rmdir()
        folder = folder.parent


__all__ = ["convert", "download", "gzip_bytes", "missing_or_bad", "source_urls"]
