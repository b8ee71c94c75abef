"""HTTP(S) download into ``<dest>.part`` that resumes with a ``Range`` request after a break.

A broken connection (reset, timeout, or fewer bytes than ``Content-Length`` announced) keeps the
bytes received; the next try asks for ``Range: bytes=<received>-``. A ``206`` answer is
appended, a ``200`` (a server without range support) restarts the file. The ``.part`` file
outlives the process, so running the command again also resumes. Standard library only.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
from pathlib import Path
from typing import Callable
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

from da.errors import DataError

USER_AGENT = "Mozilla/5.0 (compatible; da-data)"  # some hosts refuse urllib's own
CHUNK = 1 << 16
_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


class _Interrupted(Exception):
    """The transfer stopped early; the ``.part`` file holds what arrived."""


def fetch(url: str, dest: Path, *, attempts: int = 4, timeout: float = 60.0,
          log: Callable[[str], None] = print) -> Path:
    """Download ``url`` to ``dest`` (via ``dest.part``), resuming after interruptions.

    Args:
        url: an ``http://`` or ``https://`` URL.
        dest: the final file; written only once the transfer is complete.
        attempts: tries in this call (each resumes where the previous one stopped).
        timeout: seconds without data before a try counts as interrupted.
        log: progress messages.

    Raises:
        DataError: an HTTP error status, or still incomplete after ``attempts`` tries (the
            ``.part`` file is kept so that the next run resumes).
    """
    if urlparse(url).scheme not in ("http", "https"):
        raise DataError(f"{url}: only http:// and https:// URLs can be downloaded.")
    part = dest.with_name(dest.name + ".part")
    problem: Exception | None = None
    for _ in range(attempts):
        try:
            _fetch_once(url, part, timeout, log)
            os.replace(part, dest)
            return dest
        except (_Interrupted, http.client.HTTPException, ConnectionError, TimeoutError,
                socket.timeout) as exc:
            problem = exc
        except URLError as exc:
            if isinstance(exc, HTTPError) or isinstance(exc.reason, socket.gaierror):
                _drop_if_empty(part)
                reason = f"HTTP {exc.code} {exc.reason}" if isinstance(exc, HTTPError) else \
                    f"cannot resolve the host: {exc.reason}"
                raise DataError(f"{url}: {reason}; check the URL, the network, or use "
                                f"--url-base with a mirror.") from exc
            problem = exc
        have = part.stat().st_size if part.exists() else 0
        log(f"  interrupted ({problem}); resuming at byte {have}")
    _drop_if_empty(part)
    raise DataError(f"{url}: download incomplete after {attempts} tries ({problem}); the "
                    f"{part.stat().st_size if part.exists() else 0} bytes received are kept in "
                    f"{part}: run the same command again to resume.")


def _fetch_once(url: str, part: Path, timeout: float, log: Callable[[str], None]) -> None:
    """One request: from byte ``part.stat().st_size`` (if any) to the end."""
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and start:  # asked beyond the end: the part file is stale
            part.unlink()
            raise _Interrupted("range not satisfiable; restarting") from exc
        raise
    with response:
        if start and response.status == 206:
            match = _RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != start:
                part.unlink()
                raise _Interrupted(f"unexpected Content-Range "
                                   f"{response.headers.get('Content-Range')!r}; restarting")
        elif start:
            log(f"  {urlparse(url).netloc} does not resume downloads; starting over")
            start = 0
        length = response.headers.get("Content-Length")
        expected = start + int(length) if length and length.isdigit() else None
        with open(part, "ab" if start else "wb") as out:
            while block := response.read(CHUNK):
                out.write(block)
            written = out.tell()
    if expected is not None and written < expected:
        raise _Interrupted(f"connection closed after {written} of {expected} bytes")


def _drop_if_empty(part: Path) -> None:
    """Remove a ``.part`` file that holds nothing worth resuming."""
    if part.exists() and part.stat().st_size == 0:
        part.unlink()
