"""Diagnostics of a run (da/selection/diagnostics.py, embedding.py): the A-distance and the
embedding plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from da.selection.diagnostics import PAPER_C_GRID, a_distance, a_distance_svm
from da.selection.embedding import embedding_plot
from tests.helpers import PNG_SIGNATURE


@pytest.mark.parametrize("probe", [a_distance, a_distance_svm])
def test_a_distance_is_zero_for_identical_and_two_for_separable_domains(probe):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 10)), rng.normal(size=(300, 10))
    assert probe(a, b) < 0.3
    assert probe(a, a.copy()) < 0.3  # the very same points: no classifier can split them
    assert probe(a, b + np.eye(10)[0] * 10) > 1.95
    with pytest.raises(ValueError, match=">= 4"):
        probe(a[:3], b)


def test_the_svm_probe_sees_a_shrunk_dimension_at_its_scale():
    """An encoder that shrinks the one dimension telling the domains apart: the standardized
    probe scales it back up (2.0), the paper's SVM on raw features sees it at the trained scale.
    """
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    b[:, 0] += 10.0  # separable along dimension 0 ...
    a[:, 0] *= 1e-7  # ... which the encoder shrinks to ~1e-6
    b[:, 0] *= 1e-7
    assert a_distance(a, b) > 1.95
    assert a_distance_svm(a, b) < 0.3
    assert PAPER_C_GRID[0] == pytest.approx(1e-5) and PAPER_C_GRID[-1] == pytest.approx(1e4)
    # the same shift at full scale: the SVM separates it as well
    b[:, 0] *= 1e7
    a[:, 0] *= 1e7
    assert a_distance_svm(a, b) > 1.95


def colour_pixels(pixels: np.ndarray, colour: str, alpha: float = 0.6) -> int:
    """How many pixels have ``colour`` drawn at ``alpha`` on white (within 25 of 255 per
    channel): the points embedding_plot scatters, where they do not overlap."""
    from matplotlib.colors import to_rgb

    blended = np.array(to_rgb(colour)) * 255 * alpha + 255 * (1 - alpha)
    return int((np.abs(pixels - blended).max(axis=2) < 25).sum())


def test_embedding_plot_writes_a_valid_png(tmp_path: Path) -> None:
    """The PNG decodes and shows the points: the left panel in the two domain colours, the
    right one in the two class colours, each with far more pixels than its legend markers (a
    legend alone gives ~80 pixels a colour, 40 points ~500).

    Catches a blank or legend-only picture (points not drawn, an empty figure saved) and
    panels coloured by the wrong thing; checking the PNG header and size let all of these
    through."""
    rng = np.random.default_rng(4)
    path = embedding_plot(rng.normal(size=(40, 6)), rng.integers(0, 2, 40),
                          rng.normal(size=(40, 6)) + 2, rng.integers(0, 2, 40),
                          tmp_path / "embedding.png", ["neg", "pos"], title="t")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    from PIL import Image
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(float)
    half = pixels.shape[1] // 2
    left, right = pixels[:, :half], pixels[:, half:]
    for colour in ("tab:blue", "tab:orange"):  # by domain: source, target
        assert colour_pixels(left, colour) > 200 and colour_pixels(right, colour) < 20, colour
    for colour in ("C2", "C3"):  # by class: neg, pos
        assert colour_pixels(right, colour) > 200 and colour_pixels(left, colour) < 20, colour


def test_domain_accuracy_uses_danns_convention_and_restores_the_mode():
    """diag/disc_acc_heldout: logit > 0 means target (DANNLoss labels source 0, target 1)."""
    import torch

    from da.selection.diagnostics import domain_accuracy
    disc = torch.nn.Linear(2, 1)
    with torch.no_grad():
        disc.weight.copy_(torch.tensor([[1.0, 0.0]]))
        disc.bias.zero_()
    source = np.array([[-1.0, 5.0], [-2.0, 0.0], [3.0, 1.0], [-0.5, 2.0]])  # 3 of 4 below 0
    target = np.array([[1.0, 0.0], [2.0, 1.0]])                              # all above 0
    disc.train()
    assert domain_accuracy(disc, source, target) == pytest.approx((0.75 + 1.0) / 2)
    assert domain_accuracy(disc, target, source) == pytest.approx((0.0 + 0.25) / 2)
    assert disc.training
