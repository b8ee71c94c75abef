"""SHOT's target objective (Liang, Hu & Feng, "Do We Really Need to Access the Source Data?
Source Hypothesis Transfer for Unsupervised Domain Adaptation", ICML 2020, Sec. 3.2–3.3), trained
jointly with the source cross-entropy.

Per step, with ``p_t = softmax(h(g(x_t)))`` and the method's weight schedule ``w``:

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

SHOT is source-free (the source classifier is frozen and only the encoder is trained on the
target); here, as in `da`'s other methods, source and target are trained together, so the head
keeps its source supervision while the pseudo-labels pull it toward the target's clusters. That is
where they help most: a source classifier biased toward one class on the target (see
experiments/movie_to_product, "Target pseudo-labels on frozen features").

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
    """`AlignmentModule` plus SHOT's per-epoch centroid pseudo-labels on the target.

    Args:
        beta: β, weight of the pseudo-label cross-entropy inside the target term (SHOT: 0.3).
        rounds: centroid rounds per epoch (SHOT: 2, i.e. one relabelling).
        **kwargs: those of :class:`AlignmentModule` (the method's ``loss`` is ``ℓ_IM``; ``None``
            for none); ``target_loader``, the target training inputs without labels, is needed
            for the centroids.
    """

    def __init__(self, *, beta: float = 0.3, rounds: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if beta < 0:
            raise ConfigError(f"method.module.beta must be >= 0, got {beta}.")
        if rounds < 1:  # checked before training, not at the first epoch start
            raise ConfigError(f"method.module.rounds must be >= 1, got {rounds}.")
        self.beta, self.rounds = float(beta), int(rounds)
        self.register_buffer("centroids", torch.zeros(self.num_classes, self.encoder.out_dim))
        self.register_buffer("centroid_epoch", torch.tensor(-1))
        self._diagnostics: dict[str, torch.Tensor] = {}

    def on_train_epoch_start(self) -> None:
        if int(self.centroid_epoch) == self.current_epoch:  # resumed within this epoch
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

    def alignment_loss(self, inputs: dict[str, torch.Tensor], progress: float) -> torch.Tensor:
        loss_im = super().alignment_loss(inputs, progress)
        logits_t = inputs["logits_t"]
        pseudo = nearest_centroid(inputs["f_t"].detach(), self.centroids)
        loss_pl = F.cross_entropy(logits_t, pseudo)
        self._diagnostics = {
            "loss_im": loss_im.detach(), "loss_pseudo_label": loss_pl.detach(),
            "pseudo_label_agreement": (logits_t.detach().argmax(1) == pseudo).float().mean()}
        return loss_im + self.beta * loss_pl

    def step_diagnostics(self) -> dict[str, Any]:
        return {**super().step_diagnostics(), **self._diagnostics}
