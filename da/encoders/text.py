"""A pretrained text encoder and the inputs it reads: the encoder side of the seam between
encoders and data (:mod:`da.data.pipeline`).

A text encoder is a Hugging Face ``backbone`` (:class:`~da.encoders.hf.HFBackbone`) followed by a
trainable ``top`` (``encoder.model``). It reads its data in one of three ways:

1. **Cached features** (backbone fully frozen, ``encoder.cache: true``): every text becomes its
   backbone embedding once (:class:`~da.data.cache.FeatureCache`); only ``top`` trains, on
   vectors.
2. **Cached prefix states** (``freeze=N >= 1``, ``encoder.prefix_cache: true``, a BERT-like
   backbone): every text becomes the token states of the frozen prefix once
   (:class:`~da.data.cache.PrefixCache`); each step runs layers ``N+1..L`` and ``top``
   (:class:`~da.encoders.hf_prefix.PrefixCachedTextEncoder`).
3. **Tokens**: batches of texts are tokenized as they are served, and the whole backbone runs in
   every step (:class:`~da.encoders.hf.TextEncoder`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from da.data.batching import PrefixCollate, TextCollate, TokenStates, to_tensor
from da.data.cache import FeatureCache, PrefixCache
from da.data.pipeline import TRAINING_PARTS, InputPipeline
from da.encoders.hf import HFBackbone, TextEncoder
from da.encoders.hf_prefix import PrefixCachedTextEncoder, check_split, encode_prefix
from da.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class TextEncoding:
    """A text encoder, the pipeline that serves its inputs, and the cache behind it (if any)."""

    encoder: nn.Module
    pipeline: InputPipeline
    cache: FeatureCache | PrefixCache | None = None

    def cache_info(self) -> dict[str, int]:
        """``cache/hits`` and ``cache/misses`` so far (empty without a cache)."""
        if self.cache is None:
            return {}
        return {"cache/hits": self.cache.hits, "cache/misses": self.cache.misses}


def fitting_max_length(backbone: HFBackbone,
                       convert: Callable[[list[str]], Any] | None) -> Callable[[dict], dict]:
    """A pipeline's ``prepare``: with ``max_length=auto``, the length is first taken from the
    training texts (never the test part; :meth:`HFBackbone.fit_max_length`), then every part
    goes through ``convert`` (``None``: texts stay texts)."""
    def prepare(parts: dict[str, Any]) -> dict[str, Any]:
        backbone.fit_max_length([text for part in TRAINING_PARTS for text in parts.get(part, ())])
        return {k: convert(list(x)) if convert is not None else x for k, x in parts.items()}

    return prepare


def text_encoding(backbone: HFBackbone, top: nn.Module, cache: bool = True,
                  prefix_cache: bool = True, cache_dir: str | None = None) -> TextEncoding:
    """The cheapest of the three ways (module docstring) that trains the same model."""
    if backbone.fully_frozen and cache:
        return cached_features(backbone, top, FeatureCache(cache_dir))
    backbone.load()  # part of the trained model from here on
    if isinstance(backbone.freeze, int) and backbone.freeze >= 1 and prefix_cache:
        try:
            check_split(backbone)
        except ConfigError as exc:
            log.warning("%s; prefix cache off, every step runs the whole backbone", exc)
        else:
            return cached_prefix_states(backbone, top, PrefixCache(cache_dir))
    return TextEncoding(TextEncoder(backbone, top), InputPipeline(
        prepare=fitting_max_length(backbone, None), collate=TextCollate(backbone.tokenize),
        lengths=lambda texts: [len(t) for t in texts]))


def cached_features(backbone: HFBackbone, top: nn.Module, cache: FeatureCache) -> TextEncoding:
    """Way 1: texts -> frozen backbone embeddings (computed once, cached); ``top`` trains."""
    def convert(texts: list[str]) -> torch.Tensor:  # the fingerprint holds max_length: known now
        return to_tensor(cache.get(backbone.fingerprint(), texts, backbone.encode))

    return TextEncoding(top, InputPipeline(prepare=fitting_max_length(backbone, convert)), cache)


def cached_prefix_states(backbone: HFBackbone, top: nn.Module,
                         cache: PrefixCache) -> TextEncoding:
    """Way 2: texts -> token states of the frozen prefix (computed once, cached)."""
    def convert(texts: list[str]) -> TokenStates:  # the fingerprint holds max_length: known now
        return TokenStates(*cache.get(
            backbone.prefix_fingerprint(), texts,
            lambda t: encode_prefix(backbone, t, dtype=cache.dtype), dim=backbone.out_dim))

    return TextEncoding(PrefixCachedTextEncoder(backbone, top),
                        InputPipeline(prepare=fitting_max_length(backbone, convert),
                                      collate=PrefixCollate(),
                                      lengths=lambda states: np.diff(states.offsets)), cache)
