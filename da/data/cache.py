"""On-disk cache of frozen-encoder features.

A feature matrix is stored under ``$DA_CACHE_DIR/features/<key>.npy`` (default
``~/.cache/da/features``), where ``key`` hashes the encoder fingerprint (weights, tokenizer,
max_length, pooling) and the exact texts. Any change to those misses the cache; a file that cannot
be read or has the wrong shape is recomputed, never trusted. Writes go through a temporary file
and a rename, so parallel sweep jobs never see half-written features.
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
        if path.is_file():
            try:
                features = np.load(path, allow_pickle=False)
                if features.ndim == 2 and features.shape[0] == len(texts):
                    self.hits += 1
                    return features
                log.warning("feature cache file %s has shape %s for %d texts; recomputing",
                            path, features.shape, len(texts))
            except (OSError, ValueError, EOFError) as exc:
                log.warning("feature cache file %s is unreadable (%s); recomputing", path, exc)
        self.misses += 1
        features = np.asarray(encode(texts), dtype=np.float32)
        self._store(path, features)
        return features

    def _store(self, path: Path, features: np.ndarray) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                np.save(out, features, allow_pickle=False)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache must not stop training
            log.warning("could not write feature cache %s (%s); continuing without it", path, exc)
