"""SHOT (da/methods/shot.py): the centroid pseudo-labels against an independent NumPy reference
and a hand-made case, the per-epoch relabelling inside a run, and that the pseudo-labels alone
adapt (the information-maximization term is measured with every method in test_adaptation.py)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch import nn

from da.errors import ConfigError
from da.methods.shot import SHOTModule, cluster_centroids, nearest_centroid
from tests.pivot_shift import target_accuracy, write_shift


def reference_labels(features: np.ndarray, probabilities: np.ndarray, rounds: int) -> np.ndarray:
    """SHOT Eq. 4–6 written directly in NumPy: cosine distances to probability-weighted, then
    hard-label centroids; labels after ``rounds`` centroid computations."""
    z = features / np.linalg.norm(features, axis=1, keepdims=True)
    weights = probabilities
    for _ in range(rounds):
        centroids = (weights.T @ z) / weights.sum(0)[:, None]  # weighted means (Eq. 4 / 6)
        cosine = (z @ centroids.T) / np.linalg.norm(centroids, axis=1)
        labels = (1 - cosine).argmin(1)  # nearest by cosine distance (Eq. 5)
        weights = np.eye(probabilities.shape[1])[labels]
    return labels


@pytest.mark.parametrize("rounds", [1, 2, 5])
def test_pseudo_labels_match_a_numpy_reference(rounds):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((300, 16)) + 2.0 * rng.integers(0, 3, (300, 1))
    probabilities = rng.dirichlet(np.ones(3), 300)
    centroids = cluster_centroids(torch.tensor(features), torch.tensor(probabilities), rounds)
    ours = nearest_centroid(torch.tensor(features), centroids).numpy()
    expected = reference_labels(features, probabilities, rounds)
    assert len(set(expected)) > 1  # a non-trivial labelling
    np.testing.assert_array_equal(ours, expected)


def test_centroids_undo_a_biased_classifier():
    """Two clean clusters, and a classifier that calls 90 % of the examples class 0: the
    weighted centroids still sit in their clusters, so after the relabelling every example gets
    its own cluster's label (the case of a source classifier biased on the target)."""
    rng = np.random.default_rng(1)
    clusters = rng.integers(0, 2, 200)
    features = np.where(clusters[:, None] == 0, [1.0, 0.1], [0.1, 1.0])
    features = features + 0.05 * rng.standard_normal((200, 2))
    p0 = np.where(clusters == 0, 0.95, 0.75)  # biased: class 0 almost everywhere
    probabilities = np.stack([p0, 1 - p0], 1)
    assert (probabilities.argmax(1) == 0).all()
    centroids = cluster_centroids(torch.tensor(features), torch.tensor(probabilities), rounds=2)
    np.testing.assert_array_equal(nearest_centroid(torch.tensor(features), centroids).numpy(),
                                  clusters)


def test_an_empty_cluster_gives_a_zero_centroid_not_nan():
    features = torch.randn(20, 4)
    one_class = torch.nn.functional.one_hot(torch.zeros(20, dtype=torch.long), 3).double()
    centroids = cluster_centroids(features.double(), one_class, rounds=2)
    assert torch.isfinite(centroids).all()
    assert (centroids[1:] == 0).all()
    torch.testing.assert_close(centroids[0].norm().item(), 1.0)
    assert (nearest_centroid(features.double(), centroids) == 0).all()


def test_bad_settings_are_config_errors():
    module = functools.partial(SHOTModule, encoder=_Encoder(), num_classes=2)
    with pytest.raises(ConfigError, match="beta must be >= 0"):
        module(beta=-0.1)
    with pytest.raises(ConfigError, match="rounds must be >= 1"):
        module(rounds=0)
    with pytest.raises(ConfigError, match="rounds must be >= 1"):
        cluster_centroids(torch.randn(4, 2), torch.rand(4, 2), rounds=0)


def test_the_target_loss_uses_the_centroid_labels_not_the_heads():
    """Where the head calls every target example class 1, the pseudo-label term is the
    cross-entropy against the nearest centroids (0, 1, 0), weighted by β; without a loss
    (method.loss=null) it is the whole target term. Plain self-training would use the head's
    labels and give a much smaller loss."""
    model = SHOTModule(encoder=_Encoder(), num_classes=2, beta=0.3)
    model.centroids.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    f_t = torch.tensor([[2.0, 0.1], [0.1, 2.0], [3.0, 0.2]])
    logits_t = torch.tensor([[0.0, 5.0], [0.0, 5.0], [0.0, 4.0]], requires_grad=True)
    inputs = dict(f_s=f_t, f_t=f_t, logits_s=logits_t, logits_t=logits_t,
                  y_s=torch.zeros(3, dtype=torch.long))
    loss = model.alignment_loss(inputs, progress=0.5)
    expected = 0.3 * torch.nn.functional.cross_entropy(logits_t, torch.tensor([0, 1, 0]))
    torch.testing.assert_close(loss, expected)
    diagnostics = model.step_diagnostics()
    torch.testing.assert_close(diagnostics["pseudo_label_agreement"], torch.tensor(1 / 3))
    loss.backward()
    assert logits_t.grad[0, 0] < 0 and logits_t.grad[2, 0] < 0  # pushed toward class 0


def test_a_run_resumed_within_an_epoch_keeps_that_epochs_centroids():
    """A checkpoint taken mid-epoch holds the centroids of that epoch (``centroid_epoch``); on
    resuming, the epoch start must not recompute them from the half-trained model. Without a
    trainer ``current_epoch`` is 0 and encoding the target part would need one, so this passes
    only if the recomputation is skipped."""
    model = SHOTModule(encoder=_Encoder(), num_classes=2)
    saved = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    model.centroids.copy_(saved)
    model.centroid_epoch.fill_(0)
    model.on_train_epoch_start()
    torch.testing.assert_close(model.centroids, saved)


class _Encoder(nn.Linear):
    def __init__(self) -> None:
        super().__init__(3, 2)
        self.out_dim = 2


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    return write_shift(tmp_path_factory.mktemp("shot_shift"))


def test_pseudo_labels_alone_adapt_and_beta_zero_is_source_only(shift):
    """Without the information-maximization loss (method.loss=null) the pseudo-labels alone
    lift the pivot shift well past source-only (measured: 0.983 against 0.871); with β = 0 the
    run is source-only, to the last digit."""
    source_only = target_accuracy(shift, "source_only")
    pseudo_labels = target_accuracy(shift, "shot", "method.loss=null")
    no_beta = target_accuracy(shift, "shot", "method.loss=null", "method.module.beta=0")
    assert pseudo_labels >= source_only + 0.06, (pseudo_labels, source_only)
    assert no_beta == source_only


def test_centroids_are_recomputed_every_epoch_and_saved(shift, tmp_path):
    """The centroid buffers hold the last epoch's centroids (epoch index 2 of 3) and are part of
    the checkpoint, so a resumed run labels the target as the uninterrupted one did."""
    from da.train import compose_config, train

    cfg = compose_config([
        "source=features", f"source.path={shift / 'source.npz'}", "source.name=src",
        "target=features", f"target.path={shift / 'target.npz'}", "target.name=tgt",
        "encoder=mlp", "method=shot", "trainer.max_epochs=3", "seed=0",
        "trainer.enable_progress_bar=false", "logger=none"], tmp_path)
    train(cfg, tmp_path)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert int(state["centroid_epoch"]) == 2
    centroids = state["centroids"]
    assert centroids.shape == (2, cfg.encoder.out_dim)
    torch.testing.assert_close(centroids.norm(dim=1), torch.ones(2))
