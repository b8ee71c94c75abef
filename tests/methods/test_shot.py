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


# ---------------------------------------------------------------- the paper's two stages
def _staged(progress: float, **kwargs) -> SHOTModule:
    """A two-stage SHOT module (IM + pseudo-labels) whose training progress is ``progress``."""
    from da.losses.entropy import EntropyLoss
    torch.manual_seed(0)
    model = SHOTModule(encoder=_Encoder(), num_classes=2, beta=0.3, source_fraction=0.5,
                       alignment=EntropyLoss(diversity=1.0), **kwargs)
    model.progress = lambda: progress
    return model


def test_stage_one_is_the_source_cross_entropy_alone():
    """Before ``source_fraction`` the step is source-only training: the loss is the source
    cross-entropy, and a target batch of NaN does not reach it."""
    model = _staged(0.2)
    x_s, y_s = torch.randn(6, 3), torch.tensor([0, 1, 1, 0, 1, 0])
    batch = {"source": (x_s, y_s), "target": torch.full((6, 3), float("nan"))}
    loss = model.training_step(batch, 0)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(model(x_s), y_s))
    loss.backward()
    assert all(p.grad is not None for p in model.head.parameters())


def test_stage_two_is_source_free_and_keeps_the_head_fixed():
    """After ``source_fraction`` the step is SHOT's target stage, checked against the objective
    written out here: ``ℓ_IM + β · CE(pseudo-labels)`` on the target batch alone (a source batch
    of NaN does not reach it), the gradient reaching the encoder and never the head (the frozen
    hypothesis, in eval mode)."""
    model = _staged(0.7)
    model.centroids.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    model.centroid_epoch.fill_(0)  # this epoch's centroids (no trainer: epoch 0)
    x_t = torch.randn(8, 3)
    batch = {"source": (torch.full((8, 3), float("nan")), torch.zeros(8, dtype=torch.long)),
             "target": x_t}
    loss = model.training_step(batch, 0)
    with torch.no_grad():
        f = model.encoder(x_t)
        p = torch.softmax(model.head(f), 1)
        mean_entropy = -(p * p.log()).sum(1).mean()
        p_bar = p.mean(0)
        im = mean_entropy + (p_bar * p_bar.log()).sum()  # IM: entropy minus diversity
        cosine = (f / f.norm(dim=1, keepdim=True)) @ model.centroids.T
        pseudo = cosine.argmax(1)
        expected = im + 0.3 * torch.nn.functional.cross_entropy(model.head(f), pseudo)
    torch.testing.assert_close(loss.detach(), expected)
    loss.backward()
    assert all(p.grad is None for p in model.head.parameters())
    assert not model.head.training
    assert model.encoder.weight.grad.abs().sum() > 0


def test_source_fraction_outside_zero_one_is_a_config_error():
    with pytest.raises(ConfigError, match="source_fraction must be in"):
        SHOTModule(encoder=_Encoder(), num_classes=2, source_fraction=1.0)


def test_two_stage_run_labels_only_in_stage_two_and_never_moves_the_head(shift, tmp_path,
                                                                          monkeypatch):
    """5 epochs with ``source_fraction=0.5``: the switch falls in the middle of epoch 2, so the
    centroids are computed there (at the switch, not at the epoch start, which is still stage 1)
    and at the starts of epochs 3 and 4, never in stage 1; the head at the switch is the head at
    the end, while the encoder goes on training."""
    from da.train import compose_config, train

    seen = []
    encode = SHOTModule._encode_target_train

    def spy(self):
        seen.append((self.current_epoch, self.progress(),
                     {k: v.clone() for k, v in self.head.state_dict().items()},
                     {k: v.clone() for k, v in self.encoder.state_dict().items()}))
        return encode(self)

    monkeypatch.setattr(SHOTModule, "_encode_target_train", spy)
    cfg = compose_config([
        "source=features", f"source.path={shift / 'source.npz'}", "source.name=src",
        "target=features", f"target.path={shift / 'target.npz'}", "target.name=tgt",
        "encoder=mlp", "method=shot", "method.module.source_fraction=0.5",
        "trainer.max_epochs=5", "seed=0", "trainer.enable_progress_bar=false", "logger=none"],
        tmp_path)
    metrics = train(cfg, tmp_path)
    assert [epoch for epoch, *_ in seen] == [2, 3, 4]
    assert seen[0][1] == pytest.approx(0.5, abs=0.05)  # at the switch, mid-epoch
    model_state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for name, value in seen[0][2].items():
        torch.testing.assert_close(model_state[f"head.{name}"], value)
    assert any(not torch.equal(model_state[f"encoder.{name}"], value)
               for name, value in seen[0][3].items())
    assert metrics["train/align/stage"] == 2.0


def test_the_two_stages_adapt(shift):
    """The paper's protocol (source model first, then the source-free target stage, constant
    weight 1) lifts the pivot shift well past source-only, as joint training does (measured:
    0.983 and 0.988 against 0.871)."""
    source_only = target_accuracy(shift, "source_only")
    two_stages = target_accuracy(shift, "shot", "method.module.source_fraction=0.5",
                                 "method.weight.value=1.0", "method.weight.gamma=null")
    assert two_stages >= source_only + 0.06, (two_stages, source_only)
