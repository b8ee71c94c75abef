"""A per-process memo of loaded domains: the jobs of a sweep worker read each corpus once.

Hydra's joblib launcher (``hydra/launcher=parallel``) runs many jobs in each of its worker
processes, and most jobs of a sweep name the same few domains: 36 Amazon bag-of-words jobs read
4 corpora. Parsing them (svmlight files, review archives, idx images) is ~0.4 s per domain, the
same for every job that names the domain with the same settings. :func:`load_domain` keeps the
last :data:`MAX_DOMAINS` results of :meth:`DomainSource.load` in memory, keyed by the domain's
class, its settings (``vars(domain)``: name, split seed, max_examples, ...) and the resolved data
root.

Safe because:
- only classes that declare ``memoizable = True`` are kept: the built-in corpora, whose
  :class:`~da.data.types.DomainData` is a pure function of those settings and their files. A
  user's own :class:`DomainSource` (and the ``file`` / ``features`` domains, which read the
  user's files) are loaded afresh every time unless they opt in;
- every file a load reads through :func:`da.data.io.read_bytes` is stamped (size, mtime); a
  changed, replaced or deleted file makes the next load read the files again (and report their
  errors);
- nothing changes a loaded domain afterwards: the datamodule splits, converts and batches it
  into new arrays (a test checks that a job's metrics are the same alone and after other jobs).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from typing import Iterable

from da.data.base import DomainSource
from da.data.io import files_read, resolve_data_dir
from da.data.types import DomainData

log = logging.getLogger(__name__)

#: Domains kept per process (the least recently used goes first). 8 covers the 4 Amazon
#: domains in both roles; MNIST, the largest, is ~220 MB as float32.
MAX_DOMAINS = 8

_memo: OrderedDict[tuple, tuple[DomainData, dict[str, tuple[int, int]]]] = OrderedDict()
stats = {"hits": 0, "misses": 0}


def load_domain(domain: DomainSource, data_dir: str | os.PathLike | None) -> DomainData:
    """``domain.load(data_dir)``, from the memo when an earlier load in this process matches."""
    if not getattr(domain, "memoizable", False):
        return domain.load(data_dir)
    key = (type(domain).__module__, type(domain).__qualname__,
           repr(sorted(vars(domain).items())), str(resolve_data_dir(data_dir)))
    entry = _memo.get(key)
    if entry is not None and stamps(entry[1]) == entry[1]:
        _memo.move_to_end(key)
        stats["hits"] += 1
        log.info("%s: reused from an earlier job of this process (da.data.memo)", domain.name)
        return entry[0]
    with files_read() as files:
        loaded = domain.load(data_dir)
    stats["misses"] += 1
    _memo[key] = (loaded, stamps(files))
    _memo.move_to_end(key)
    while len(_memo) > MAX_DOMAINS:
        _memo.popitem(last=False)
    return loaded


def clear() -> None:
    """Forget every memoized domain (and reset :data:`stats`)."""
    _memo.clear()
    stats.update(hits=0, misses=0)


def stamps(files: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of ``files`` now; a missing file stamps as ``(-1, -1)``."""
    now = {}
    for path in files:
        try:
            st = os.stat(path)
            now[path] = (st.st_size, st.st_mtime_ns)
        except OSError:
            now[path] = (-1, -1)
    return now
