"""SHOT's target objective (Liang, Hu & Feng, "Do We Really Need to Access the Source Data?
Source Hypothesis Transfer for Unsupervised Domain Adaptation", ICML 2020, Sec. 3.2–3.3), trained
jointly with the source cross-entropy or, as in the paper, after it (``source_fraction``, below).

Per step of joint training, with ``p_t = softmax(h(g(x_t)))`` and the method's weight schedule
``w``:

    L = CE(h(g(x_s)), y_s) + w(p) · [ ℓ_IM(p_t) + β · CE(h(g(x_t)), ŷ_t) ]

* ``ℓ_IM`` is the method's loss (conf/method/shot.yaml: information maximization, the mean entropy
  of ``p_t`` minus the entropy of their mean, :mod:`da.losses.entropy`; ``method.loss=null``
  leaves the pseudo-labels alone);
* ``ŷ_t`` are SHOT's self-supervised pseudo-labels (Eq. 4–6). At the start of every training epoch
  the whole target training part is encoded and the class centroids are computed in the encoder's
  feature space, L2-normalised (``z = f / ||f||``):

      c_k⁽⁰⁾ = Σ_t p_tk z_t / Σ_t p_tk        (weighted by the current predictions)
      ŷ_t    = argmax_k cos(z_t, c_k⁽ʳ⁾)
      c_k⁽ʳ⁺¹⁾ = mean of the z_t with ŷ_t = k   (``rounds − 1`` times; SHOT: rounds = 2)

  and during the epoch each target batch is labelled by its nearest final centroid, from the
  batch's current features (train mode). SHOT labels each example once per epoch; here a
  trainable part of the encoder (the MLP on a frozen text backbone, or a fine-tuned backbone) can
  move the labels within the epoch, against centroids fixed at its start. Exact per-epoch labels
  would need the target indices, which losses do not get.

Two ways to train (``source_fraction``):

* **jointly** (``source_fraction=None``, conf/method/shot.yaml): source and target are trained
  together, as in `da`'s other methods, so the head keeps its source supervision while the
  pseudo-labels pull it toward the target's clusters. That is where they help most: a source
  classifier biased toward one class on the target (see experiments/movie_to_product, "Target
  pseudo-labels on frozen features").
* **the paper's two stages** (``source_fraction=f`` in (0, 1)), as ADDA's two stages in one run
  (:mod:`da.methods.adda`): the first ``f`` of the run's batches train encoder and head on the
  source cross-entropy alone (the source model); from then on the step is source-free, as SHOT's
  target stage: the head (SHOT's "hypothesis") is frozen (no gradient, eval mode) and the encoder
  alone minimises ``w(p) · [ℓ_IM(p_t) + β · CE(h(g(x_t)), ŷ_t)]``; the source batch is not used.
  The centroids are first computed at the first batch of stage 2 (mid-epoch if the switch falls
  there) and then at every epoch start; stage 1 computes none. The run's optimizer goes on
  through the switch (SHOT starts a new SGD optimizer for its target stage); under DDP the
  stage-2 terms see this rank's batch. Logged: ``train/align/stage`` (1 or 2).

The target training part comes from the module's ``target_loader`` (inputs only, no labels; given
by :func:`da.run.build.build_model`), not from the datamodule. The centroids and the epoch they
belong to are buffers, so a checkpoint taken mid-epoch resumes
with the same labels. Each epoch start costs one forward pass over the target training part (on
every rank under DDP, which then all hold the same centroids).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from lightning.fabric.utilities.apply_func import move_data_to_device

from da.errors import ConfigError
from da.methods.alignment import AlignmentModule


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm (an all-zero row, e.g. an empty cluster, stays zero)."""
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def cluster_centroids(features: torch.Tensor, probabilities: torch.Tensor,
                      rounds: int = 2) -> torch.Tensor:
    """SHOT's class centroids ``(k, d)``, unit-norm, of ``features`` ``(n, d)`` started from the
    class ``probabilities`` ``(n, k)``: one weighted round, then ``rounds − 1`` rounds of
    nearest-centroid (cosine) relabelling and plain means (module docstring)."""
    if rounds < 1:
        raise ConfigError(f"method.module.rounds must be >= 1, got {rounds}.")
    z, weights = unit_rows(features), probabilities
    for _ in range(rounds):
        centroids = unit_rows(weights.T @ z)
        weights = F.one_hot(nearest_centroid(z, centroids), len(centroids)).to(z.dtype)
    return centroids


def nearest_centroid(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the centroid (unit rows) with the largest cosine similarity to each feature row.

    A zero centroid (a class no example was assigned to) is never the nearest: its similarity 0
    would beat the negative similarities of the real ones."""
    similarity = unit_rows(features) @ centroids.T
    empty = centroids.abs().sum(1) == 0
    return similarity.masked_fill(empty, float("-inf")).argmax(1)


class SHOTModule(AlignmentModule):
    """`AlignmentModule` plus SHOT's per-epoch centroid pseudo-labels on the target, trained
    jointly with the source or in the paper's two stages (module docstring).

    Args:
        beta: β, weight of the pseudo-label cross-entropy inside the target term (SHOT: 0.3).
        rounds: centroid rounds per epoch (SHOT: 2, i.e. one relabelling).
        source_fraction: ``None``: joint training; in (0, 1): the fraction of the run's batches
            spent in stage 1 (source only) before the source-free stage 2.
        **kwargs: those of :class:`AlignmentModule` (the method's ``loss`` is ``ℓ_IM``; ``None``
            for none); ``target_loader``, the target training inputs without labels, is needed
            for the centroids.
    """

    def __init__(self, *, beta: float = 0.3, rounds: int = 2,
                 source_fraction: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if beta < 0:
            raise ConfigError(f"method.module.beta must be >= 0, got {beta}.")
        if rounds < 1:  # checked before training, not at the first epoch start
            raise ConfigError(f"method.module.rounds must be >= 1, got {rounds}.")
        if source_fraction is not None and not 0.0 < float(source_fraction) < 1.0:
            raise ConfigError(f"method.module.source_fraction must be in (0, 1) (the paper's two "
                              f"stages) or null (joint training), got {source_fraction}.")
        self.beta, self.rounds = float(beta), int(rounds)
        self.source_fraction = None if source_fraction is None else float(source_fraction)
        self.register_buffer("centroids", torch.zeros(self.num_classes, self.encoder.out_dim))
        self.register_buffer("centroid_epoch", torch.tensor(-1))
        self._diagnostics: dict[str, torch.Tensor] = {}

    def in_source_stage(self) -> bool:
        """Whether this batch belongs to stage 1 of the two-stage protocol (never when joint)."""
        return self.source_fraction is not None and self.progress() < self.source_fraction

    def on_train_epoch_start(self) -> None:
        if not self.in_source_stage():  # stage 1 needs no pseudo-labels
            self.refresh_centroids()

    def refresh_centroids(self) -> None:
        """This epoch's centroids, unless they exist already (a run resumed within the epoch, or
        computed at the switch to stage 2)."""
        if int(self.centroid_epoch) == self.current_epoch:
            return
        features, probabilities = self._encode_target_train()
        self.centroids.copy_(cluster_centroids(features, probabilities, self.rounds))
        self.centroid_epoch.fill_(self.current_epoch)

    @torch.no_grad()
    def _encode_target_train(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and class probabilities of the whole target training part (``target_loader``),
        in eval mode."""
        if self.target_loader is None:
            raise ConfigError(f"method '{self.method}' (SHOT) needs the target training inputs for "
                              f"its centroids: pass target_loader (da.run.build.build_model does).")
        modes = {module: module.training for module in self.modules()}
        self.eval()
        features = []
        try:
            for x in self.target_loader:
                features.append(self.encoder(move_data_to_device(x, self.device)))
            features = torch.cat(features)
            return features, torch.softmax(self.classify(features), 1)
        finally:
            for module, mode in modes.items():
                module.training = mode

    # ------------------------------------------------------------------ the two stages
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        if self.source_fraction is None:  # joint training
            return super().training_step(batch, batch_idx)
        if self.in_source_stage():
            return self.source_step(*batch["source"])
        self.refresh_centroids()  # the switch may fall within an epoch
        return self.target_step(batch["target"])

    def source_step(self, x_s: Any, y_s: torch.Tensor) -> torch.Tensor:
        """Stage 1: encoder and head on the source cross-entropy alone."""
        logits_s = self(x_s)
        loss = F.cross_entropy(logits_s, y_s)
        self.check_finite(loss, loss_cls=loss)
        self.log_step({"loss": loss, "loss_cls": loss, "align/stage": 1.0,
                       "source_acc": (logits_s.detach().argmax(1) == y_s).float().mean()},
                      batch_size=y_s.shape[0])
        return loss

    def target_step(self, x_t: Any) -> torch.Tensor:
        """Stage 2, source-free: the encoder alone on ``w(p) · [ℓ_IM + β · CE(pseudo-labels)]``;
        the head is frozen (no gradient, so the optimizer never moves it; eval mode)."""
        self.head.requires_grad_(False).eval()
        f_t = self.encoder(x_t)
        logits_t = self.head(f_t)
        progress = self.progress()
        weight = self.align_weight(progress)
        loss_target = self.alignment_loss({"f_t": f_t, "logits_t": logits_t}, progress)
        loss = weight * loss_target
        self.check_finite(loss, loss_align=loss_target)
        values = {"loss": loss, "loss_align": loss_target, "align_weight": weight,
                  "align/stage": 2.0}
        values.update({f"align/{k}": v for k, v in self.step_diagnostics().items()})
        self.log_step(values, batch_size=logits_t.shape[0])
        return loss

    def alignment_loss(self, inputs: dict[str, torch.Tensor], progress: float) -> torch.Tensor:
        loss_im = (super().alignment_loss(inputs, progress) if self.alignment is not None
                   else inputs["logits_t"].new_zeros(()))
        logits_t = inputs["logits_t"]
        pseudo = nearest_centroid(inputs["f_t"].detach(), self.centroids)
        loss_pl = F.cross_entropy(logits_t, pseudo)
        self._diagnostics = {
            "loss_im": loss_im.detach(), "loss_pseudo_label": loss_pl.detach(),
            "pseudo_label_agreement": (logits_t.detach().argmax(1) == pseudo).float().mean()}
        return loss_im + self.beta * loss_pl

    def step_diagnostics(self) -> dict[str, Any]:
        return {**super().step_diagnostics(), **self._diagnostics}
