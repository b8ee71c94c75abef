"""On-disk caches of frozen-encoder outputs.

Two kinds, both under ``$DA_CACHE_DIR`` (default ``~/.cache/da``) and keyed by a hash of an
encoder fingerprint and the exact texts:

* :class:`FeatureCache` (``features/<key>.npy``): pooled features of a fully frozen encoder
  (``encoder.freeze=all``), one float32 row per text.
* :class:`PrefixCache` (``prefix/<key>.npy`` + ``prefix/<key>.lengths.npy``): token-level hidden
  states of the frozen prefix (embeddings + first ``N`` layers) of a partly frozen encoder
  (``encoder.freeze=N``), the real tokens of every text concatenated (float16 by default) and
  the number of tokens per text.

A third kind, :func:`cached_parts` (``msda/<key>-<part>.npy``), holds arrays computed from
other arrays (mSDA features of each part of a domain pair, keyed by :func:`arrays_key`).

Any change to the fingerprint or the inputs misses the cache; a file that cannot be read or does
not fit the texts is recomputed, never trusted. Writes go through a temporary file and a rename
(:func:`save_array`), so parallel sweep jobs never see half-written files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$DA_CACHE_DIR``, else ``~/.cache/da``."""
    raw = cache_dir or os.environ.get("DA_CACHE_DIR") or "~/.cache/da"
    return Path(raw).expanduser()


def texts_key(fingerprint: str, texts: Sequence[str]) -> str:
    """Cache key of ``texts`` encoded by the encoder with ``fingerprint``."""
    digest = hashlib.sha256(fingerprint.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:40]


def arrays_key(fingerprint: str, *arrays: np.ndarray) -> str:
    """Cache key of a computation ``fingerprint`` on exactly these arrays (dtype, shape, bytes)."""
    digest = hashlib.sha256(fingerprint.encode())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()[:40]


def load_array(path: Path, valid: Callable[[np.ndarray], bool], what: str,
               mmap: bool = False) -> np.ndarray | None:
    """The array in ``path`` if it exists, is readable and ``valid(array)``; else ``None``
    (with a warning for a file that exists but cannot be used). ``mmap`` maps it read-only."""
    if not path.is_file():
        return None
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError, EOFError) as exc:
        log.warning("%s cache file %s is unreadable (%s); recomputing", what, path, exc)
        return None
    if not valid(array):
        log.warning("%s cache file %s has shape %s, which does not fit the texts; recomputing",
                    what, path, array.shape)
        return None
    return array


def save_array(path: Path, array: np.ndarray, what: str) -> None:
    """Write ``array`` to ``path`` atomically (temporary file + rename); a failure only warns."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, array, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:  # a read-only cache must not stop training
        log.warning("could not write %s cache %s (%s); continuing without it", what, path, exc)


def cached_parts(folder: Path, key: str, rows: dict[str, int],
                 compute: Callable[[], dict[str, np.ndarray]], what: str) -> dict[str, np.ndarray]:
    """Named arrays ``<folder>/<key>-<name>.npy`` with ``rows[name]`` rows each; when any is
    missing or unusable, ``compute()`` makes all of them and they are saved."""
    paths = {name: folder / f"{key}-{name}.npy" for name in rows}
    arrays = {name: load_array(path, lambda a, n=rows[name]: a.ndim == 2 and a.shape[0] == n, what)
              for name, path in paths.items()}
    if all(array is not None for array in arrays.values()):
        return arrays
    log.info("%s cache miss in %s: computing", what, folder)
    arrays = compute()
    for name, path in paths.items():
        save_array(path, arrays[name], what)
    return arrays


class FeatureCache:
    """Compute-once storage of ``encode(texts)`` results.

    Attributes:
        hits, misses: counts since creation (reported in the run summary).
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None) -> None:
        self.folder = cache_root(cache_dir) / "features"
        self.hits = self.misses = 0

    def get(self, fingerprint: str, texts: Sequence[str],
            encode: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        """Features of ``texts``: loaded if cached and valid, else computed and stored."""
        path = self.folder / f"{texts_key(fingerprint, texts)}.npy"
        features = load_array(path, lambda a: a.ndim == 2 and a.shape[0] == len(texts),
                              "feature")
        if features is not None:
            self.hits += 1
            return features
        self.misses += 1
        features = np.asarray(encode(texts), dtype=np.float32)
        save_array(path, features, "feature")
        return features


class PrefixCache:
    """Compute-once storage of token-level prefix states (see the module docstring).

    ``get`` returns ``(states, offsets)``: the tokens of text ``i`` are
    ``states[offsets[i]:offsets[i + 1]]`` (shape ``(tokens_i, hidden)``). Cached states are
    memory-mapped, so parallel jobs on one machine share them through the page cache.

    Args:
        cache_dir: cache root (``None``: ``$DA_CACHE_DIR``, else ``~/.cache/da``).
        dtype: storage type; float16 halves disk and memory, float32 keeps the states exact.

    Attributes:
        hits, misses: counts since creation (reported in the run summary).
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None,
                 dtype: str | np.dtype = "float16") -> None:
        self.folder = cache_root(cache_dir) / "prefix"
        self.dtype = np.dtype(dtype)
        self.hits = self.misses = 0

    def get(self, fingerprint: str, texts: Sequence[str],
            compute: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]],
            dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """States and offsets of ``texts``: loaded if cached and valid, else computed by
        ``compute(texts) -> (states (sum of lengths, hidden), lengths (len(texts),))``."""
        key = texts_key(f"{fingerprint}|{self.dtype.name}", texts)
        states_path = self.folder / f"{key}.npy"
        lengths_path = self.folder / f"{key}.lengths.npy"
        lengths = load_array(lengths_path, lambda a: a.shape == (len(texts),)
                             and a.dtype.kind in "iu" and bool((a >= 0).all()), "prefix")
        if lengths is not None:
            total = int(lengths.sum())
            states = load_array(states_path, lambda a: a.ndim == 2 and a.shape[0] == total
                                and a.dtype == self.dtype and dim in (None, a.shape[1]),
                                "prefix", mmap=True)
            if states is not None:
                self.hits += 1
                return states, _offsets(lengths)
        self.misses += 1
        states, lengths = compute(texts)
        states, lengths = np.asarray(states, dtype=self.dtype), np.asarray(lengths, np.int64)
        if lengths.shape != (len(texts),) or states.shape[0] != int(lengths.sum()):
            raise ValueError(f"prefix states of {len(texts)} texts: got lengths of shape "
                             f"{lengths.shape} summing to {int(lengths.sum())} for "
                             f"{states.shape[0]} token states")
        save_array(states_path, states, "prefix")  # states first: lengths make the entry valid
        save_array(lengths_path, lengths, "prefix")
        return states, _offsets(lengths)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
