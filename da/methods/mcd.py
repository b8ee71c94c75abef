"""Maximum classifier discrepancy (MCD; Saito et al., CVPR 2018, Sec. 3.2), a method with its own
training loop (manual optimization).

A generator ``G`` (the encoder) and two classifier heads ``F1``, ``F2``, with the discrepancy

    d(p1, p2) = (1/(n k)) Σ_j Σ_c |p1_{jc} − p2_{jc}|,   p_i = softmax(F_i(G(x_t)))

(the mean absolute difference of the two heads' target probabilities, Eq. 1). Each training batch
runs three steps, each with freshly zeroed gradients:

* **A** (Eq. 2): ``G``, ``F1``, ``F2`` minimise ``CE(F1(G(x_s)), y_s) + CE(F2(G(x_s)), y_s)``;
* **B** (Eq. 3–4): ``F1``, ``F2`` only (``G`` fixed: its features are detached) minimise
  ``CE_1 + CE_2 − w(p) · d(F1(G(x_t)), F2(G(x_t)))``, i.e. the heads maximise their disagreement
  on the target while staying right on the source;
* **C** (Eq. 5): ``G`` only (the heads' optimizer does not step), ``num_k`` times,
  minimises ``w(p) · d(F1(G(x_t)), F2(G(x_t)))``.

``w(p)`` is the method's ``weight`` schedule (conf/method/mcd.yaml; the paper's setting is a
constant 1). Two optimizers are built with the configured factory: one over the encoder (with the
``encoder_lr_scale`` rule of :mod:`da.methods.param_groups`) and one over both heads; an LR
scheduler, if configured, is made for each and stepped here (Lightning does not step them under
manual optimization). Predictions (validation, test, ``forward``) are the ensemble of the two heads,
``log((p1 + p2) / 2)``, which are valid logits for cross-entropy and accuracy.

The training step is written with the step API of :class:`AlignmentModule` only
(docs/EXTENDING.md §6). Logged per epoch, with ``log_step`` (epoch means): ``train/loss_cls``
(the mean of the two heads' source cross-entropies in step A; each head's in
``train/align/loss_cls_head1`` / ``…head2``), ``train/loss_align`` (the discrepancy in step B),
``train/align_weight``, ``train/loss`` (``loss_cls + w · loss_align``) and
``train/align/discrepancy_generator`` (the discrepancy in the last step C); ``train/source_acc``
(ensemble, step A) is counted exactly with ``log_accuracy``. Because each batch takes
``3 + num_k`` optimizer steps, Lightning's ``global_step`` (and ``train/steps``,
``trainer.max_steps``) counts optimizer steps, not batches: ``trainer.max_steps=N`` trains
``N / (3 + num_k)`` batches (``optimizer_steps_per_batch``), and training progress ``p``
(``progress()``) runs from 0 to 1 over those batches.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from da.errors import ConfigError
from da.methods.alignment import AlignmentModule
from da.methods.param_groups import parameter_groups, pretrained_part, scaled_optimizer


def discrepancy(logits_1: torch.Tensor, logits_2: torch.Tensor) -> torch.Tensor:
    """``mean |softmax(logits_1) − softmax(logits_2)|`` over examples and classes (MCD Eq. 1)."""
    return (torch.softmax(logits_1, 1) - torch.softmax(logits_2, 1)).abs().mean()


class MCDModule(AlignmentModule):
    """MCD: ``AlignmentModule`` with a second head and the three-step training loop.

    Args:
        num_k: generator updates (step C) per batch; 4 in the authors' digit experiments.
        *args, **kwargs: as for :class:`AlignmentModule`; ``alignment`` must be ``None`` (the
            discrepancy is MCD's alignment term), ``align_weight`` scales it.
    """

    def __init__(self, *args: Any, num_k: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.alignment is not None:
            raise ConfigError(f"method '{self.method}' (MCD) uses its own classifier discrepancy; "
                              f"set method.loss=null (got {type(self.alignment).__name__})")
        if int(num_k) < 1:
            raise ConfigError(f"MCD num_k must be >= 1, got {num_k}")
        self.automatic_optimization = False
        self.num_k = int(num_k)
        self.head2 = copy.deepcopy(self.head)
        for module in self.head2.modules():  # an independent initialization of the second head
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    @property
    def optimizer_steps_per_batch(self) -> int:  # type: ignore[override]
        """Steps A (2: generator and heads), B (1) and C (``num_k``)."""
        return 3 + self.num_k

    # ------------------------------------------------------------------ predictions
    def head_logits(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(F1(f), F2(f))``."""
        return self.head(features), self.head2(features)

    @staticmethod
    def ensemble(logits_1: torch.Tensor, logits_2: torch.Tensor) -> torch.Tensor:
        """``log((softmax(l1) + softmax(l2)) / 2)``: logits of the two heads' mean prediction."""
        stacked = torch.stack([F.log_softmax(logits_1, 1), F.log_softmax(logits_2, 1)])
        return torch.logsumexp(stacked, 0) - math.log(2.0)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits of encoder features: the ensemble of both heads."""
        return self.ensemble(*self.head_logits(features))

    # ------------------------------------------------------------------ the three steps
    @staticmethod
    def _zero(*optimizers: Any) -> None:
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)

    def step_a(self, x_s: Any, y_s: torch.Tensor, opt_g: Any,
               opt_f: Any) -> dict[str, torch.Tensor]:
        """Step A: encoder and both heads on the source cross-entropy."""
        self._zero(opt_g, opt_f)
        logits_1, logits_2 = self.head_logits(self.encoder(x_s))
        ce_1, ce_2 = F.cross_entropy(logits_1, y_s), F.cross_entropy(logits_2, y_s)
        loss = ce_1 + ce_2
        self.check_finite(loss, loss_cls_head1=ce_1, loss_cls_head2=ce_2)
        self.manual_backward(loss)
        opt_g.step()
        opt_f.step()
        return {"ce_1": ce_1.detach(), "ce_2": ce_2.detach(),
                "logits": self.ensemble(logits_1, logits_2).detach()}

    def step_b(self, x_s: Any, y_s: torch.Tensor, x_t: Any, weight: float, opt_g: Any,
               opt_f: Any) -> torch.Tensor:
        """Step B: heads only; source cross-entropy minus the weighted target discrepancy."""
        self._zero(opt_g, opt_f)
        with torch.no_grad():  # G is fixed in this step
            f_s, f_t = self.encoder(x_s), self.encoder(x_t)
        logits_s1, logits_s2 = self.head_logits(f_s)
        loss_cls = F.cross_entropy(logits_s1, y_s) + F.cross_entropy(logits_s2, y_s)
        disc = discrepancy(*self.head_logits(f_t))
        loss = loss_cls - weight * disc
        self.check_finite(loss, loss_cls=loss_cls, discrepancy=disc)
        self.manual_backward(loss)
        opt_f.step()
        self._zero(opt_g, opt_f)
        return disc.detach()

    def step_c(self, x_t: Any, weight: float, opt_g: Any, opt_f: Any) -> torch.Tensor:
        """Step C: the encoder only, ``num_k`` times, minimising the weighted discrepancy."""
        disc = None
        for _ in range(self.num_k):
            self._zero(opt_g, opt_f)
            disc = discrepancy(*self.head_logits(self.encoder(x_t)))
            loss = weight * disc
            self.check_finite(loss, discrepancy=disc)
            self.manual_backward(loss)
            opt_g.step()
        self._zero(opt_g, opt_f)  # the heads' gradients of step C are never applied
        return disc.detach()

    # ------------------------------------------------------------------ Lightning hooks
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        (x_s, y_s), x_t = batch["source"], batch["target"]
        opt_g, opt_f = self.optimizers()
        weight = self.align_weight(self.progress())  # progress in batches
        out_a = self.step_a(x_s, y_s, opt_g, opt_f)
        disc_b = self.step_b(x_s, y_s, x_t, weight, opt_g, opt_f)
        disc_c = self.step_c(x_t, weight, opt_g, opt_f)
        if self.scheduler_factory is not None and self.scheduler_interval == "step":
            self._step_schedulers()
        loss_cls = (out_a["ce_1"] + out_a["ce_2"]) / 2
        self.log_accuracy("source_acc", out_a["logits"], y_s)
        self.log_step({"loss": loss_cls + weight * disc_b, "loss_cls": loss_cls,
                       "loss_align": disc_b, "align_weight": weight,
                       "align/discrepancy_generator": disc_c,
                       "align/loss_cls_head1": out_a["ce_1"],
                       "align/loss_cls_head2": out_a["ce_2"]}, batch_size=y_s.shape[0])
        return loss_cls

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()  # logs the epoch means and train/source_acc
        if self.scheduler_factory is not None and self.scheduler_interval != "step":
            self._step_schedulers()

    def _step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                metric = self.trainer.callback_metrics.get("val/source_loss")
                if metric is not None:
                    scheduler.step(metric)
            else:
                scheduler.step()

    @property
    def alignment_name(self) -> str:
        return "MCD classifier discrepancy"

    def configure_optimizers(self) -> Any:
        # Generator: the pretrained part of the encoder at lr · encoder_lr_scale, then the rest of
        # the encoder at lr (this group order is that of existing checkpoints). Heads: both at lr.
        rest, *scaled = parameter_groups(self.encoder,
                                         {pretrained_part(self.encoder): self.encoder_lr_scale})
        generator = [group for group in (*scaled, rest) if group["params"]]
        if not generator:
            raise ConfigError(f"method '{self.method}' (MCD) needs a trainable encoder: the "
                              f"generator has no parameters to train")
        heads = nn.ModuleList([self.head, self.head2])
        opt_f = scaled_optimizer(self.optimizer_factory, parameter_groups(heads, {}))
        opt_g = scaled_optimizer(self.optimizer_factory, generator)
        if self.scheduler_factory is None:
            return [opt_g, opt_f]
        schedulers = [{"scheduler": self.make_scheduler(opt),
                       "interval": self.scheduler_interval} for opt in (opt_g, opt_f)]
        return [opt_g, opt_f], schedulers
