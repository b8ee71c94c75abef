"""`AlignmentModule`: shared encoder + classifier head + optional alignment loss.

Objective per step, with training progress ``p = step / total_steps``:

    L = CE(h(g(x_s)), y_s) + w(p) · ℓ_align(f_s=g(x_s), f_t=g(x_t), ..., progress=p)

``g`` is the encoder, ``h`` the head, ``w`` the alignment-weight schedule and ``ℓ_align`` any loss
that follows the contract of :mod:`da.losses.base` (``None`` = source only). Under DDP with
``gather=True`` (``method.gather``) ``ℓ_align`` sees the global batch of all ranks
(:mod:`da.methods.distributed`, docs/MULTIGPU.md).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from da.errors import ConfigError, TrainingError
from da.methods.distributed import gather_batch, world_size
from da.methods.epoch_means import EpochMeans
from da.methods.param_groups import parameter_groups, pretrained_part, scaled_optimizer
from da.nn.mlp import mlp
from da.methods.lr_schedule import needs_total_steps
from da.schedules import Constant

log = logging.getLogger(__name__)


class AlignmentModule(L.LightningModule):
    """Source-supervised training with a feature-alignment loss between domains.

    Args:
        encoder: shared encoder with an ``out_dim`` attribute.
        num_classes: number of classes.
        alignment: alignment loss (see :mod:`da.losses.base`) or ``None`` for source only.
        align_weight: schedule ``w(progress)``; default constant 1.
        optimizer: partial optimizer, called with parameter groups.
        scheduler: optional partial LR scheduler, called with the optimizer.
        scheduler_interval: ``"epoch"`` or ``"step"``.
        head_hidden_dims: hidden sizes of the classifier head (``[]`` = linear head).
        encoder_lr_scale: the encoder's learning rate relative to the heads' (fine-tuning;
            :mod:`da.methods.param_groups`).
        alignment_lr_scale: the learning rate of the alignment loss's own parameters (DANN's
            discriminator) relative to the heads'.
        method: method name, used in error messages.
        gather: under data parallelism, compute the alignment loss on the inputs of all ranks
            (the global batch) instead of this rank's slice; a no-op on one process.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, alignment: nn.Module | None = None,
                 align_weight: Callable[[float], float] | None = None,
                 optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 scheduler: Callable[..., Any] | None = None, scheduler_interval: str = "epoch",
                 head_hidden_dims: Sequence[int] = (), encoder_lr_scale: float = 1.0,
                 alignment_lr_scale: float = 1.0, method: str = "custom",
                 gather: bool = False) -> None:
        super().__init__()
        self.encoder, self.alignment = encoder, alignment
        self.head = mlp(encoder.out_dim, list(head_hidden_dims), num_classes)
        self.align_weight = align_weight or Constant(0.0 if alignment is None else 1.0)
        self.optimizer_factory = optimizer or (lambda params: torch.optim.Adam(params, lr=1e-3))
        self.scheduler_factory, self.scheduler_interval = scheduler, scheduler_interval
        self.encoder_lr_scale, self.method, self.gather = encoder_lr_scale, method, gather
        self.alignment_lr_scale = float(alignment_lr_scale)
        self._train_batches = 0  # batches this rank trained on (logged per rank under DDP)
        self.metrics = nn.ModuleDict({
            name: MulticlassAccuracy(num_classes, average="micro")
            for name in ("val_source_acc", "val_target_acc", "test_target_acc")})
        self.test_f1 = MulticlassF1Score(num_classes, average="macro")
        self._total_steps = 1
        self._train_means, self._val_means = EpochMeans(), EpochMeans()

    def forward(self, x: Any) -> torch.Tensor:
        """Class logits of inputs ``x``."""
        return self.classify(self.encoder(x))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits of encoder features (a subclass with other heads overrides this)."""
        return self.head(features)

    def on_train_start(self) -> None:
        self._total_steps = max(1, int(self.trainer.estimated_stepping_batches))

    def progress(self) -> float:
        """Training progress ``p ∈ [0, 1]`` read by every schedule."""
        return min(1.0, self.global_step / self._total_steps)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        (x_s, y_s), x_t = batch["source"], batch["target"]
        f_s, f_t = self.encoder(x_s), self.encoder(x_t)
        logits_s, logits_t = self.head(f_s), self.head(f_t)
        loss_cls = F.cross_entropy(logits_s, y_s)
        progress = self.progress()
        weight = self.align_weight(progress)
        inputs = dict(f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s)
        if self.gather:  # the global batch of all ranks, with gradients
            inputs = gather_batch(**inputs)
        loss_align = self.alignment_loss(inputs, progress)
        self._check_scalar(loss_align)
        loss = loss_cls + weight * loss_align
        self._check_finite(loss, loss_cls, loss_align)
        logs = {"train/loss": loss, "train/loss_cls": loss_cls, "train/loss_align": loss_align,
                "train/align_weight": weight,
                # a batch-size-weighted mean of batch accuracies = the epoch's accuracy, without a
                # torchmetrics update per step (5x the cost of this line)
                "train/source_acc": (logits_s.detach().argmax(1) == y_s).float().mean()}
        logs.update({f"train/align/{k}": v for k, v in self.step_diagnostics().items()})
        self._add_train_logs(logs, batch_size=y_s.shape[0])
        return loss

    def alignment_loss(self, inputs: dict[str, torch.Tensor], progress: float) -> torch.Tensor:
        """``ℓ_align`` of one step, 0 without an alignment loss (a subclass with a target loss
        of its own extends it)."""
        if self.alignment is None:
            return inputs["logits_s"].new_zeros(())
        return self.alignment(**inputs, progress=progress)

    def step_diagnostics(self) -> dict[str, Any]:
        """Values of the last step, logged as ``train/align/<name>`` (default: the loss's
        ``diagnostics``)."""
        return getattr(self.alignment, "diagnostics", {}) or {}

    def _add_train_logs(self, logs: dict[str, Any], batch_size: int) -> None:
        """Add a training step's values to the epoch means (logged in ``on_train_epoch_end``)."""
        self._train_means.add(logs, weight=batch_size)  # once per epoch: epoch_means.py
        self._train_batches += 1

    def on_train_epoch_end(self) -> None:
        self.log_dict(self._train_means.pop(), sync_dist=True)

    def _log_metric(self, name: str, metric: str) -> None:
        """Log a torchmetrics metric accumulated over the epoch (synced across ranks), reset it."""
        if self.metrics[metric].update_count:
            self.log(name, self.metrics[metric].compute())
        self.metrics[metric].reset()

    def on_train_end(self) -> None:
        if world_size() > 1:  # every rank must have run the same number of steps
            log.info("rank %d/%d: %d training batches, global step %d", self.global_rank,
                     world_size(), self._train_batches, self.global_step)

    def _loss_name(self) -> str:
        return type(self.alignment).__name__ if self.alignment is not None else "none"

    def _check_scalar(self, loss_align: Any) -> None:
        if isinstance(loss_align, torch.Tensor) and loss_align.dim() == 0:
            return
        found = (f"a tensor of shape {tuple(loss_align.shape)}"
                 if isinstance(loss_align, torch.Tensor) else f"a {type(loss_align).__name__}")
        raise ConfigError(
            f"alignment loss {self._loss_name()} (method '{self.method}') returned {found}; an "
            f"alignment loss must return a scalar (0-d) tensor, e.g. reduce it with .mean() "
            f"(see da/losses/base.py).")

    def _check_finite(self, loss: torch.Tensor, loss_cls: torch.Tensor,
                      loss_align: torch.Tensor) -> None:
        if torch.isfinite(loss):
            return
        loss_cls, loss_align = loss_cls.detach(), loss_align.detach()
        bad = [name for name, value in (("loss_cls", loss_cls), ("loss_align", loss_align))
               if not torch.isfinite(value)] or ["the weighted sum"]
        raise TrainingError(
            f"non-finite loss at step {self.global_step} (epoch {self.current_epoch}) of method "
            f"'{self.method}' (alignment loss {self._loss_name()}): {', '.join(bad)} is NaN/Inf "
            f"(loss_cls={loss_cls.item():.4g}, "
            f"loss_align={loss_align.item():.4g}). Lower the learning rate or the alignment "
            f"weight, or check the inputs for NaN/Inf.")

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        x, y = batch
        logits = self(x)
        if dataloader_idx == 0:
            self.metrics["val_source_acc"].update(logits, y)
            self._val_means.add({"val/source_loss": F.cross_entropy(logits, y)}, y.shape[0])
        else:
            self.metrics["val_target_acc"].update(logits, y)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self._val_means.pop(), sync_dist=True)
        self._log_metric("val/source_acc", "val_source_acc")
        self._log_metric("val/target_acc_oracle", "val_target_acc")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.metrics["test_target_acc"](logits, y)
        self.test_f1(logits, y)
        self.log("test/target_loss", F.cross_entropy(logits, y), batch_size=y.shape[0],
                 sync_dist=True)
        self.log("test/target_acc", self.metrics["test_target_acc"])
        self.log("test/target_f1", self.test_f1)

    def configure_optimizers(self) -> Any:
        # the heads and adapters at the base LR, the pretrained part of the encoder at
        # encoder_lr_scale x, the alignment loss's parameters at alignment_lr_scale x
        optimizer = scaled_optimizer(self.optimizer_factory, parameter_groups(self, {
            pretrained_part(self.encoder): self.encoder_lr_scale,
            self.alignment: self.alignment_lr_scale}))
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {
            "scheduler": self.make_scheduler(optimizer), "interval": self.scheduler_interval}}

    def make_scheduler(self, optimizer: torch.optim.Optimizer) -> Any:
        """The configured LR scheduler; one of training progress gets the run's total steps."""
        if needs_total_steps(self.scheduler_factory):
            steps = self.trainer.estimated_stepping_batches if self._trainer is not None else 1
            return self.scheduler_factory(optimizer, total_steps=max(1, int(steps)))
        return self.scheduler_factory(optimizer)
