"""Which encoders fit which data: checked before any data is loaded.

An encoder config says what it takes (``encoder.input``: ``vectors``, ``text`` or ``images``);
every domain class says what it holds (``DomainSource.modality``). The data side can turn text
into tf-idf vectors and images into flat vectors (:data:`da.data.pipeline.CONVERSIONS`); any other
mismatch is a config error that names the encoders that would fit.
"""

from __future__ import annotations

import os
import sys

from da.data.base import DomainSource
from da.data.pipeline import converts
from da.errors import ConfigError

#: modality -> the encoder choices that take it
ENCODERS_FOR = {"text": "encoder=mlp (bag-of-words), encoder=mpnet, encoder=minilm or encoder=hf",
                "vectors": "encoder=mlp",
                "images": "encoder=lenet, or encoder=mlp on the flattened pixels"}
#: modality -> the encoder ``encoder=auto`` (the default) picks for it (da/config/auto_encoder.py):
#: for text the stronger of the two offline sentence encoders (frozen mpnet beat MiniLM by 8.6
#: points on the six movie -> product pairs, issue #27), if installed (:func:`auto_encoder`)
AUTO_ENCODERS = {"text": "mpnet", "vectors": "mlp", "images": "lenet"}
#: What ``encoder=auto`` takes for text where mpnet is not installed (with a warning).
TEXT_FALLBACK = "minilm"
#: Environment variable naming the text encoder ``encoder=auto`` picks (e.g. ``minilm``: faster
#: cold runs); unset: mpnet, else the fallback.
TEXT_ENCODER_ENV = "DA_TEXT_ENCODER"
_warned: list[str] = []


def auto_encoder(modality: str) -> str:
    """The encoder option ``encoder=auto`` picks for domains of ``modality``. For text:
    ``$DA_TEXT_ENCODER`` if set, else ``mpnet`` when its packages are installed, else
    ``minilm`` with a one-line warning naming the install command (once per process)."""
    if modality != "text":
        return AUTO_ENCODERS[modality]
    chosen = os.environ.get(TEXT_ENCODER_ENV)
    if chosen:
        return chosen
    from da.encoders.model_path import PACKAGED_MODELS, packaged_model_available
    if packaged_model_available(AUTO_ENCODERS["text"]):
        return AUTO_ENCODERS["text"]
    if not _warned:
        _warned.append(TEXT_FALLBACK)
        install = PACKAGED_MODELS[AUTO_ENCODERS["text"]].install_command()
        print(f"da: warning: encoder=auto uses {TEXT_FALLBACK} for text: mpnet, the stronger "
              f"encoder, is not installed; install it with {install}", file=sys.stderr,
              flush=True)
    return TEXT_FALLBACK


def auto_modality(encoder: str) -> str | None:
    """The modality for which ``encoder=auto`` may pick ``encoder`` (``None``: never)."""
    if encoder in (TEXT_FALLBACK, os.environ.get(TEXT_ENCODER_ENV)):
        return "text"
    return {v: k for k, v in AUTO_ENCODERS.items()}.get(encoder)


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
