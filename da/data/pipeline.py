"""`InputPipeline`: the one seam between an encoder and the data it reads.

The data side (:class:`~da.data.datamodule.DomainPairDataModule`) loads, splits and checks both
domains and turns them into the modality the encoder takes (``encoder.input``): text stays text,
or becomes tf-idf vectors for a vector encoder; images and vectors become tensors. What happens
after that is the encoder's business. The encoder side builds an ``InputPipeline`` (text encoders:
:func:`da.encoders.text.text_encoding`) and hands it to ``DomainPairDataModule.use``:

* ``convert(inputs of one part) -> encoder inputs``: applied once to each of the four parts
  (e.g. cached frozen-backbone features, cached token states of a frozen prefix); ``None`` keeps
  the parts as they are;
* ``collate(items) -> batch``: how the DataLoader turns items into a batch (e.g. tokenizing
  texts); ``None``: tensor parts are served a whole batch at a time, anything else through
  PyTorch's default collation;
* ``input_dim``: the size of the vectors ``convert`` makes (``None``: unchanged);
* ``lengths(encoder inputs of one part) -> lengths``: for inputs padded per batch, the length
  of each example, so that training batches can group similar lengths (``data.length_bucket_pool``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

#: encoder input -> the domain modalities the data side can turn into it
CONVERSIONS = {"vectors": ("vectors", "text", "images"),  # text: tf-idf; images: flattened
               "text": ("text",), "images": ("images",)}


def converts(modality: str, encoder_input: str) -> bool:
    """Whether domains of ``modality`` can feed an encoder that takes ``encoder_input``."""
    return modality in CONVERSIONS.get(encoder_input, ())


@dataclass(frozen=True)
class InputPipeline:
    """How the parts of a datamodule become an encoder's inputs (see the module docstring)."""

    convert: Callable[[list], Any] | None = None
    collate: Callable[[list], Any] | None = None
    input_dim: int | None = None
    lengths: Callable[[Any], Sequence[int]] | None = None
