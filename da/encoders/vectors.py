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
from da.errors import ConfigError, DataError


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
    """Every part through ``denoiser`` fitted on source train + target train inputs (cached; the
    fit's key is kept in ``denoiser.fit_key`` for ``da-predict``). Parts without the training
    parts (``da-predict``'s new inputs) go through the denoiser as fitted, never refitted."""
    arrays = flat_arrays(parts)
    if not set(TRAINING_PARTS) <= set(arrays):
        if not denoiser.weights:
            raise ConfigError("mSDA (encoder.denoiser) must be fitted on the run's training "
                              "inputs before it transforms new ones (da-predict refits it first).")
        # rounded through float16 as the training features were (the cache stores float16)
        return {k: torch.from_numpy(denoiser.transform(x).astype(np.float16).astype(np.float32))
                for k, x in arrays.items()}
    key = denoiser.fit_key = fit_key(denoiser, arrays)

    def compute() -> dict[str, np.ndarray]:
        denoiser.fit(np.vstack([arrays[part] for part in TRAINING_PARTS]))
        return {k: denoiser.transform(x).astype(np.float16) for k, x in arrays.items()}

    outputs = cached_parts(cache_root(cache_dir) / "msda", key,
                           {k: len(x) for k, x in arrays.items()}, compute, "mSDA")
    return {k: torch.from_numpy(np.asarray(outputs[k], dtype=np.float32)) for k in parts}


def flat_arrays(parts: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Each part as a 2-d NumPy array (rows × features), the form mSDA fits and transforms."""
    return {k: x.reshape(len(x), -1).numpy() for k, x in parts.items()}


def fit_key(denoiser: MSDA, arrays: dict[str, np.ndarray]) -> str:
    """The cache key of an mSDA fit: its settings and every part's inputs, in order."""
    return arrays_key(denoiser.fingerprint() + "|fit=source_train+target_train", *arrays.values())


def refit(denoiser: MSDA, parts: dict[str, torch.Tensor], expected_key: str) -> None:
    """Fit ``denoiser`` again on a run's training inputs (``parts``: the run's four parts before
    mSDA, in the run's order), after checking they are the ones it was fitted on (the same key):
    the fit is closed-form and deterministic, so this is the run's own mSDA, which is not stored
    in the run dir (5 layers of 5001 × 5000 weights: 500 MB for the Amazon domains)."""
    arrays = flat_arrays(parts)
    if fit_key(denoiser, arrays) != expected_key:
        raise DataError("the run's training inputs are not those its mSDA (encoder.denoiser) was "
                        "fitted on (the data files changed since training): da-predict refits "
                        "the run's mSDA from them, so restore the files or re-run the training.")
    denoiser.fit(np.vstack([arrays[part] for part in TRAINING_PARTS]))
