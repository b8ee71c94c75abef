"""Diagnostics of a run (da/selection/diagnostics.py, embedding.py): the A-distance and the
embedding plot."""

from __future__ import annotations

import numpy as np
import pytest

from da.selection.diagnostics import a_distance
from da.selection.embedding import embedding_plot
from tests.helpers import PNG_SIGNATURE


def test_a_distance_is_zero_for_identical_and_two_for_separable_domains():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(600, 10)), rng.normal(size=(600, 10))
    assert a_distance(a, b) < 0.3
    assert a_distance(a, a.copy()) < 0.3  # the very same points: no classifier can split them
    assert a_distance(a, b + np.eye(10)[0] * 10) > 1.95
    with pytest.raises(ValueError, match=">= 4"):
        a_distance(a[:3], b)


def test_embedding_plot_writes_a_valid_png(tmp_path):
    rng = np.random.default_rng(4)
    path = embedding_plot(rng.normal(size=(40, 6)), rng.integers(0, 2, 40),
                          rng.normal(size=(40, 6)) + 2, rng.integers(0, 2, 40),
                          tmp_path / "embedding.png", ["neg", "pos"], title="t")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    from PIL import Image
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100
