"""The input pipeline of vector and image encoders (``encoder=mlp``, ``encoder=lenet``): the
encoder side of the seam (:mod:`da.data.pipeline`) for inputs that become tensors.

* text domains with a vector encoder: tf-idf (``encoder.featurizer``), fitted on the source and
  target training texts;
* everything: a float tensor per part;
* optionally ``encoder.denoiser`` (mSDA, :class:`~da.data.msda.MSDA`), an unsupervised vector
  transform fitted on the source and target training inputs (no labels) and applied to every part;
  its outputs are cached under ``cache_dir/msda`` (float16).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from da.data.batching import to_tensor
from da.data.cache import arrays_key, cache_root, cached_parts
from da.data.featurize import TfidfFeaturizer
from da.data.msda import MSDA
from da.data.pipeline import TRAINING_PARTS, InputPipeline
from da.errors import ConfigError


def vector_pipeline(encoder_input: str, modality: str, featurizer: TfidfFeaturizer | None = None,
                    denoiser: MSDA | None = None, cache_dir: str | None = None) -> InputPipeline:
    """The pipeline that turns ``modality`` domains into the tensors a ``vectors`` or
    ``images`` encoder reads (module docstring). An encoder of your own that takes ``text``
    without a backbone (docs/EXTENDING.md) reads the texts as they are: an empty pipeline."""
    if denoiser is not None and encoder_input != "vectors":
        raise ConfigError(f"encoder.denoiser transforms vectors, but the encoder takes "
                          f"{encoder_input}; use it with encoder=mlp (or set "
                          f"encoder.denoiser=null).")
    if encoder_input not in ("vectors", "images"):
        return InputPipeline()
    def prepare(parts: dict[str, Any]) -> dict[str, torch.Tensor]:
        if modality == "text" and encoder_input == "vectors":
            tfidf = featurizer or TfidfFeaturizer()
            if not tfidf.fitted:  # restored from a run dir (da-predict): applied as it is
                tfidf.fit([text for part in TRAINING_PARTS for text in parts[part]])
            parts = {k: tfidf.transform(x) for k, x in parts.items()}
        tensors = {k: to_tensor(x) for k, x in parts.items()}
        if denoiser is not None:
            tensors = denoise(tensors, denoiser, cache_dir)
        return tensors

    return InputPipeline(prepare=prepare)


def denoise(parts: dict[str, torch.Tensor], denoiser: MSDA,
            cache_dir: str | None) -> dict[str, torch.Tensor]:
    """Every part through ``denoiser`` fitted on source train + target train inputs (cached)."""
    arrays = {k: x.reshape(len(x), -1).numpy() for k, x in parts.items()}
    key = arrays_key(denoiser.fingerprint() + "|fit=source_train+target_train", *arrays.values())

    def compute() -> dict[str, np.ndarray]:
        denoiser.fit(np.vstack([arrays[part] for part in TRAINING_PARTS]))
        return {k: denoiser.transform(x).astype(np.float16) for k, x in arrays.items()}

    outputs = cached_parts(cache_root(cache_dir) / "msda", key,
                           {k: len(x) for k, x in arrays.items()}, compute, "mSDA")
    return {k: torch.from_numpy(np.asarray(outputs[k], dtype=np.float32)) for k in parts}
