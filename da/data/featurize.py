"""Featurizers that turn text into fixed-length vectors for vector encoders (``encoder=mlp``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class TfidfFeaturizer:
    """Uni/bi-gram tf-idf bag of words (scikit-learn), fitted on training text only.

    The vocabulary and idf weights are fitted on the training text of *both* domains (source
    train and target unlabeled train) and never on validation or test text.

    Args:
        max_features: vocabulary size (the DANN Amazon features use 5000).
        ngram_max: largest n-gram length.
        min_df: drop n-grams seen in fewer documents.
        sublinear_tf: use ``1 + log(tf)`` instead of raw counts.
    """

    def __init__(self, max_features: int = 5000, ngram_max: int = 2, min_df: int = 2,
                 sublinear_tf: bool = True) -> None:
        self.vectorizer = TfidfVectorizer(max_features=max_features, ngram_range=(1, ngram_max),
                                          min_df=min_df, sublinear_tf=sublinear_tf,
                                          dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> "TfidfFeaturizer":
        """Fit vocabulary and idf on ``texts``."""
        self.vectorizer.fit(texts)
        return self

    def transform(self, texts: Sequence[str]):
        """Sparse ``(len(texts), vocabulary)`` float32 tf-idf matrix."""
        return self.vectorizer.transform(texts)

    @property
    def dim(self) -> int:
        """Length of the output vectors."""
        return len(self.vectorizer.vocabulary_)
