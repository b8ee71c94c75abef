"""``max_length: auto``: a text encoder's truncation length taken from the data.

Batches are padded to their own longest text (dynamic padding; length-sorted encoding, length
buckets in training: :mod:`da.data.sampling`), so ``max_length`` only decides how many tokens of
a long text are kept. ``auto`` keeps every token of a share ``coverage`` of the training texts
(the source and target training parts; never the test part):

    max_length = min(limit, max(2, Q_coverage(n_1, ..., n_N)))

where ``n_i`` is the token count of text ``i`` (special tokens included) and ``Q_c`` is the
smallest count that at least a share ``c`` of the texts do not exceed. ``limit`` is the length
the model was trained for (:func:`model_length_limit`): beyond it, position embeddings are
missing or untrained. With ``coverage=1`` no training text is truncated below ``limit``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from da.errors import ConfigError

log = logging.getLogger(__name__)

# tokenizers that know no limit report a huge model_max_length (int(1e30))
_NO_LIMIT = 1_000_000


def check_max_length(max_length: Any) -> int | str:
    """``max_length`` as an int >= 2 or the string ``"auto"``, else a ConfigError."""
    if max_length == "auto":
        return "auto"
    try:
        value = int(max_length)
    except (TypeError, ValueError):
        value = None
    if value is None or value != max_length or value < 2:
        raise ConfigError(f"max_length must be an integer >= 2 or 'auto' (the length that covers "
                          f"most training texts), got {max_length!r}")
    return value


def check_coverage(coverage: float) -> float:
    if not 0.0 < float(coverage) <= 1.0:
        raise ConfigError(f"length_coverage must be in (0, 1] (the share of training texts that "
                          f"max_length=auto keeps whole), got {coverage!r}")
    return float(coverage)


def covering_length(counts: Sequence[int], coverage: float) -> int:
    """The smallest ``n`` such that at least a share ``coverage`` of ``counts`` are ``<= n``."""
    counts = np.sort(np.asarray(counts, dtype=np.int64))
    if counts.size == 0:
        raise ConfigError("max_length=auto needs training texts to measure, got none")
    rank = max(1, math.ceil(check_coverage(coverage) * counts.size - 1e-9))
    return int(counts[rank - 1])


def model_length_limit(model_dir: str | Path, tokenizer: Any) -> int:
    """Tokens per text the model was trained for: ``max_seq_length`` of a sentence-transformers
    folder (``sentence_bert_config.json``), else the tokenizer's ``model_max_length``, else the
    model's ``max_position_embeddings`` (``config.json``), else 512."""
    folder = Path(model_dir)
    st_config = folder / "sentence_bert_config.json"
    if st_config.is_file():
        value = json.loads(st_config.read_text()).get("max_seq_length")
        if isinstance(value, int) and value >= 2:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 2 <= value < _NO_LIMIT:
        return value
    config = folder / "config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_position_embeddings")
        if isinstance(value, int) and value >= 2:
            return value
    return 512


def length_from_data(tokenizer: Any, texts: Sequence[str], coverage: float, limit: int) -> int:
    """``min(limit, max(2, Q_coverage(token counts of texts)))`` (module docstring), logged."""
    tokens = tokenizer(list(texts), truncation=False, verbose=False)
    counts = [len(ids) for ids in tokens["input_ids"]]
    covering = covering_length(counts, coverage)
    length = min(int(limit), max(2, covering))
    truncated = int(np.sum(np.asarray(counts) > length))
    log.info("max_length=auto: %d tokens (%d cover %.3g of the %d training texts, the longest "
             "has %d; model limit %d): %d texts will be truncated", length, covering, coverage,
             len(counts), max(counts), limit, truncated)
    return length
