"""Which encoders fit which data: checked before any data is loaded.

An encoder config says what it takes (``encoder.input``: ``vectors``, ``text`` or ``images``);
every domain class says what it holds (``DomainSource.modality``). The data side can turn text
into tf-idf vectors and images into flat vectors (:data:`da.data.pipeline.CONVERSIONS`); any other
mismatch is a config error that names the encoders that would fit.
"""

from __future__ import annotations

from da.data.base import DomainSource
from da.data.pipeline import converts
from da.errors import ConfigError

#: modality -> the encoder choices that take it
ENCODERS_FOR = {"text": "encoder=mlp (bag-of-words), encoder=minilm or encoder=hf",
                "vectors": "encoder=mlp",
                "images": "encoder=lenet, or encoder=mlp on the flattened pixels"}
#: modality -> the encoder ``encoder=auto`` (the default) picks for it (da/config/auto_encoder.py)
AUTO_ENCODERS = {"text": "minilm", "vectors": "mlp", "images": "lenet"}


def check_same_modality(source: tuple[str, str], target: tuple[str, str]) -> None:
    """Raise a ConfigError when the two domains hold different kinds of data.

    Args:
        source: ``(name, modality)`` of the source domain.
        target: ``(name, modality)`` of the target domain.
    """
    if source[1] != target[1]:
        raise ConfigError(
            f"source '{source[0]}' holds {source[1]} but target '{target[0]}' holds {target[1]}; "
            f"a source and a target must hold the same kind of data (two text, two vector or two "
            f"image domains).")


def check_encoder_fits(encoder_input: str, *domains: DomainSource) -> None:
    """Raise a ConfigError naming the fitting encoders if a domain cannot feed this encoder."""
    for domain in domains:
        if not converts(domain.modality, encoder_input):
            raise ConfigError(
                f"domain '{domain.name}' holds {domain.modality} but the encoder takes "
                f"{encoder_input}; pick an encoder for {domain.modality} "
                f"({ENCODERS_FOR.get(domain.modality, 'see conf/encoder/')}).")
