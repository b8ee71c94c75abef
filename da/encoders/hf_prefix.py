"""Prefix cache for partly frozen text encoders (``encoder.freeze=N``, ``encoder.prefix_cache``).

The embeddings and the first ``N`` layers are frozen and run in eval mode, so their token-level
output for a text never changes. :func:`encode_prefix` computes it once per text (stored by
:class:`da.data.cache.PrefixCache`), the datamodule serves padded batches of those states, and
:class:`PrefixCachedTextEncoder` runs only layers ``N+1..L``, pooling and the MLP in each step.
It trains the same model as :class:`~da.encoders.hf.TextEncoder` on tokens (same parameters,
same state-dict keys), up to the float16 rounding of the stored states.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from da.encoders.hf import HFBackbone, TextEncoder
from da.errors import ConfigError


def check_split(backbone: HFBackbone, atol: float = 1e-4) -> None:
    """ConfigError unless ``forward_suffix(forward_prefix(t))`` reproduces ``forward(t)``."""
    tokens = backbone.tokenize(["a short probe sentence.", "another, somewhat longer one here."],
                               max_length=32)  # short probes: before max_length=auto is fitted
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.inference_mode():
            split = backbone.forward_suffix(backbone.forward_prefix(tokens),
                                            tokens["attention_mask"])
            full = backbone(tokens)
    except ConfigError:
        raise
    except Exception as exc:  # any other failure: the layers are not called the BERT way
        raise ConfigError(f"cannot split {type(backbone.model).__name__} after its frozen "
                          f"layers ({type(exc).__name__}: {exc})") from exc
    finally:
        backbone.train(was_training)
    error = float((full - split).abs().max())
    if not error <= atol:
        raise ConfigError(f"splitting {type(backbone.model).__name__} after layer "
                          f"{backbone.freeze} changes its output by {error:.2g}: not BERT-like")


@torch.inference_mode()
def encode_prefix(backbone: HFBackbone, texts: Sequence[str], batch_size: int = 64,
                  dtype: str | np.dtype = "float16") -> tuple[np.ndarray, np.ndarray]:
    """Prefix states of the real tokens of ``texts`` (padding dropped), in the order given.

    Returns ``(states, lengths)``: ``states`` of shape ``(sum(lengths), hidden)`` holds the
    tokens of text 0, then text 1, ...; ``lengths[i]`` is the number of tokens of text ``i``.
    Texts run longest-first so each batch pads to similar lengths.
    """
    was_training = backbone.training
    backbone.eval()
    device = next(backbone.parameters()).device
    max_length = backbone.resolved_max_length()
    lengths = np.array([len(ids) for ids in backbone.tokenizer(
        list(texts), truncation=True, max_length=max_length)["input_ids"]], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    states = np.empty((int(offsets[-1]), backbone.out_dim), dtype=np.dtype(dtype))
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        tokens = backbone.tokenize([texts[i] for i in index])
        hidden = backbone.forward_prefix({k: v.to(device) for k, v in tokens.items()})
        hidden = hidden.float().cpu().numpy()
        for row, i in enumerate(index):
            n = int(tokens["attention_mask"][row].sum())
            if n != lengths[i]:
                raise RuntimeError(f"text {i} has {n} tokens in a batch, {lengths[i]} alone")
            states[offsets[i]:offsets[i + 1]] = hidden[row, :n]
    backbone.train(was_training)
    return states, lengths


class PrefixCachedTextEncoder(TextEncoder):
    """:class:`~da.encoders.hf.TextEncoder` on cached prefix states instead of tokens.

    Input: ``{"hidden_states": (batch, tokens, hidden), "attention_mask": (batch, tokens)}``
    as made by :class:`da.data.datamodule.PrefixCollate`. ``backbone`` is kept whole (its frozen
    prefix is unused here), so optimizers scale the backbone LR as for ``TextEncoder``.
    """

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.top(self.backbone.forward_suffix(batch["hidden_states"],
                                                     batch["attention_mask"]))
