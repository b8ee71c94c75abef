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
    def fitted(self) -> bool:
        """Whether the vocabulary and idf weights are known (fitted or restored)."""
        return hasattr(self.vectorizer, "vocabulary_") or self.vectorizer.vocabulary is not None

    def state(self) -> dict:
        """The fitted vocabulary (terms in column order) and idf weights, as JSON-able lists,
        saved in the run dir so that ``da-predict`` applies the run's own tf-idf."""
        vocabulary = self.vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        return {"terms": terms, "idf": [float(v) for v in self.vectorizer.idf_]}

    def restore(self, state: dict) -> "TfidfFeaturizer":
        """Take the vocabulary and idf weights of :meth:`state` instead of fitting them."""
        terms, idf = list(state["terms"]), np.asarray(state["idf"], dtype=np.float64)
        if len(terms) != len(idf):
            raise ValueError(f"tf-idf state: {len(terms)} terms but {len(idf)} idf weights")
        params = self.vectorizer.get_params()
        params["vocabulary"] = {term: i for i, term in enumerate(terms)}
        self.vectorizer = TfidfVectorizer(**params)
        self.vectorizer.fit(terms[:1])  # sets up the transformer; idf replaced next
        self.vectorizer.idf_ = idf
        return self

    @property
    def dim(self) -> int:
        """Length of the output vectors."""
        return len(self.vectorizer.vocabulary_)
