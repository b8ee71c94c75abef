"""`InputPipeline`: the one seam between an encoder and the data it reads.

The hand-off runs one way. The encoder side builds the pipeline from its config before any data
is read (vector and image encoders: :func:`da.encoders.vectors.vector_pipeline`, tf-idf for text
and mSDA included; text encoders: :func:`da.encoders.text.text_encoding`), and
:class:`~da.data.datamodule.DomainPairDataModule` receives it when it is constructed. The data side
loads, checks and splits both domains and passes the raw inputs of the four parts through
``prepare`` once; nothing outside it changes the datamodule afterwards.

* ``prepare({part: raw inputs}) -> {part: encoder inputs}``: called once with the four parts
  (``source_train``, ``source_val``, ``target_train``, ``target_test``); what it fits (tf-idf,
  mSDA, ``max_length=auto``) it fits on the two training parts only, without labels. ``None``
  keeps the raw inputs;
* ``collate(items) -> batch``: how the DataLoader turns items into a batch (e.g. tokenizing
  texts); ``None``: tensor parts are served a whole batch at a time, anything else through
  PyTorch's default collation;
* ``lengths(encoder inputs of one part) -> lengths``: for inputs padded per batch, the length
  of each example, so that training batches can group similar lengths (``data.length_bucket_pool``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

#: encoder input -> the domain modalities the encoder side can turn into it
CONVERSIONS = {"vectors": ("vectors", "text", "images"),  # text: tf-idf; images: flattened
               "text": ("text",), "images": ("images",)}
#: The parts whose inputs a pipeline may fit on (never the target test part, never labels).
TRAINING_PARTS = ("source_train", "target_train")


def converts(modality: str, encoder_input: str) -> bool:
    """Whether domains of ``modality`` can feed an encoder that takes ``encoder_input``."""
    return modality in CONVERSIONS.get(encoder_input, ())


class InputPipeline:
    """How the parts of a datamodule become an encoder's inputs (see the module docstring).

    A plain class, not a dataclass: Hydra's ``instantiate`` would turn a dataclass argument of
    the DataModule into a config and back, i.e. into a copy that no longer shares its state
    (a fitted tf-idf, a backbone's ``max_length``) with the encoder side.
    """

    def __init__(self, prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 collate: Callable[[list], Any] | None = None,
                 lengths: Callable[[Any], Sequence[int]] | None = None) -> None:
        self.prepare, self.collate, self.lengths = prepare, collate, lengths
