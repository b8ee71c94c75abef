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


def check_encoder_fits(encoder_input: str, *domains: DomainSource) -> None:
    """Raise a ConfigError naming the fitting encoders if a domain cannot feed this encoder."""
    for domain in domains:
        if not converts(domain.modality, encoder_input):
            raise ConfigError(
                f"domain '{domain.name}' holds {domain.modality} but the encoder takes "
                f"{encoder_input}; pick an encoder for {domain.modality} "
                f"({ENCODERS_FOR.get(domain.modality, 'see conf/encoder/')}).")
