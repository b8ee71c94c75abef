"""`AlignmentModule`: shared encoder + classifier head + optional alignment loss.

Objective per step, with training progress ``p = step / total_steps``:

    L = CE(h(g(x_s)), y_s) + w(p) · ℓ_align(f_s=g(x_s), f_t=g(x_t), ..., progress=p)

``g`` is the encoder, ``h`` the head, ``w`` the alignment-weight schedule and ``ℓ_align`` any loss
that follows the contract of :mod:`da.losses.base` (``None`` = source only). Under DDP with
``gather=True`` (``method.gather``) ``ℓ_align`` sees the global batch of all ranks
(:mod:`da.methods.distributed`, docs/MULTIGPU.md).

A method with a training step of its own (MCD, manual optimization; docs/EXTENDING.md §6)
subclasses it and uses its public step API: :meth:`AlignmentModule.log_step`,
:meth:`AlignmentModule.log_accuracy`, :meth:`AlignmentModule.check_finite`,
:meth:`AlignmentModule.progress`, :meth:`AlignmentModule.manual_backward`, ``num_classes`` and
``target_loader``; the module's own ``training_step`` uses the same calls.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

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
        head_batch_norm: ``BatchNorm1d`` after each hidden layer of the head.
        head_dropout: dropout before every linear layer of the head, the first included.
        encoder_lr_scale: the encoder's learning rate relative to the heads' (fine-tuning;
            :mod:`da.methods.param_groups`).
        alignment_lr_scale: the learning rate of the alignment loss's own parameters (DANN's
            discriminator) relative to the heads'.
        method: method name, used in error messages.
        gather: under data parallelism, compute the alignment loss on the inputs of all ranks
            (the global batch) instead of this rank's slice; a no-op on one process.
        target_loader: the target training part's inputs, batched, without labels (re-iterable,
            e.g. a DataLoader), for a method that needs a pass over the whole part (SHOT's
            centroids); :func:`da.run.build.build_model` gives it. ``None``: not available.

    Attributes:
        num_classes: the number of classes (the heads' output size).
        target_loader: as the argument.
        alignment_name: the alignment term's name in error messages (default: the loss class).
    """

    def __init__(self, encoder: nn.Module, num_classes: int, alignment: nn.Module | None = None,
                 align_weight: Callable[[float], float] | None = None,
                 optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 scheduler: Callable[..., Any] | None = None, scheduler_interval: str = "epoch",
                 head_hidden_dims: Sequence[int] = (), head_batch_norm: bool = False,
                 head_dropout: float = 0.0, encoder_lr_scale: float = 1.0,
                 alignment_lr_scale: float = 1.0, method: str = "custom",
                 gather: bool = False, target_loader: Iterable[Any] | None = None) -> None:
        super().__init__()
        self.encoder, self.alignment = encoder, alignment
        self.num_classes, self.target_loader = int(num_classes), target_loader
        self.head = mlp(encoder.out_dim, list(head_hidden_dims), num_classes,
                        dropout=head_dropout, batch_norm=head_batch_norm,
                        input_dropout=head_dropout)
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
        self._train_accuracy = nn.ModuleDict()  # exact epoch accuracies of log_accuracy
        self._total_steps = 1
        self._train_means, self._val_means = EpochMeans(), EpochMeans()

    def forward(self, x: Any) -> torch.Tensor:
        """Class logits of inputs ``x``."""
        return self.classify(self.encoder(x))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits of encoder features (a subclass with other heads overrides this)."""
        return self.head(features)

    #: optimizer steps that one training step takes (manual optimization; MCD: 3 + num_k), so
    #: that ``trainer.max_steps``, which Lightning counts in optimizer steps, ends the run after
    #: ``max_steps / optimizer_steps_per_batch`` batches for :meth:`progress` as well
    optimizer_steps_per_batch = 1

    def total_batches(self) -> int:
        """The run's length in batches (``progress()`` = 1 at the end; LR schedules of progress).

        Lightning's ``estimated_stepping_batches`` (batches per epoch × ``max_epochs``, capped at
        ``max_steps``) counts optimizer steps; under manual optimization ``max_steps`` is turned
        into batches with :attr:`optimizer_steps_per_batch`."""
        trainer = self.trainer
        estimate = trainer.estimated_stepping_batches
        if self.automatic_optimization or trainer.max_steps == -1:
            return max(1, int(estimate))
        by_steps = math.ceil(trainer.max_steps / self.optimizer_steps_per_batch)
        if trainer.max_epochs == -1 or not math.isfinite(trainer.num_training_batches):
            return max(1, by_steps)
        by_epochs = trainer.num_training_batches * max(trainer.max_epochs, 1)
        return max(1, min(by_steps, int(by_epochs)))

    def on_train_start(self) -> None:
        self._total_steps = self.total_batches()

    def progress(self) -> float:
        """Training progress ``p = done / total ∈ [0, 1]`` read by every schedule; 0 outside a
        Trainer.

        ``total`` is :meth:`total_batches`. ``done`` is
        ``global_step`` (optimizer steps) under automatic optimization, and the batches trained
        before the current one under manual optimization, where ``global_step`` counts every
        ``optimizer.step()`` (MCD: ``3 + num_k`` per batch). Valid anywhere in a training step.
        """
        if self._trainer is None or self.automatic_optimization:
            return min(1.0, self.global_step / self._total_steps)
        return min(1.0, self._batches_done() / self._total_steps)

    def _batches_done(self) -> int | float:
        loop = self.trainer.fit_loop.epoch_loop
        per_epoch = self.trainer.num_training_batches
        if not isinstance(per_epoch, int) and not math.isfinite(per_epoch):  # no epoch length
            return max(loop.total_batch_idx, 0)
        return self.current_epoch * per_epoch + max(loop.batch_idx, 0)

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
        self.check_finite(loss, loss_cls=loss_cls, loss_align=loss_align)
        values = {"loss": loss, "loss_cls": loss_cls, "loss_align": loss_align,
                  "align_weight": weight,
                  # a batch-size-weighted mean of batch accuracies = the epoch's accuracy, without
                  # a torchmetrics update per step (5x the cost of this line)
                  "source_acc": (logits_s.detach().argmax(1) == y_s).float().mean()}
        values.update({f"align/{k}": v for k, v in self.step_diagnostics().items()})
        self.log_step(values, batch_size=y_s.shape[0])
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

    # ------------------------------------------------------------------ the step API
    def log_step(self, values: Mapping[str, torch.Tensor | float], batch_size: int) -> None:
        """Log a training step's values: each ``name`` as ``train/<name>``, the epoch's mean
        weighted by batch size, ``Σ_b n_b · v_b / Σ_b n_b`` (logged once, at the epoch's end,
        synced across ranks). Call it once per batch.

        Args:
            values: ``{name: value}``, scalar tensors (detached here) or numbers; e.g.
                ``{"loss_cls": ..., "align/my_term": ...}``.
            batch_size: the batch's weight in the mean (its number of source examples).
        """
        self._train_means.add({f"train/{k}": v for k, v in values.items()}, weight=batch_size)
        self._train_batches += 1

    def log_accuracy(self, name: str, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Count a step's predictions ``argmax(logits)`` against ``target`` toward an exact
        epoch accuracy (a torchmetrics ``MulticlassAccuracy``, synced across ranks), logged as
        ``train/<name>`` at the epoch's end."""
        if name not in self._train_accuracy:
            self._train_accuracy[name] = MulticlassAccuracy(
                self.num_classes, average="micro").to(self.device)
        self._train_accuracy[name].update(logits.detach(), target)

    def check_finite(self, loss: torch.Tensor, **terms: torch.Tensor | float) -> None:
        """Stop training with a :class:`~da.errors.TrainingError` if ``loss`` is NaN/Inf.

        Args:
            loss: the value about to be backpropagated (one host sync when it is finite).
            **terms: its parts by name (e.g. ``loss_cls=..., loss_align=...``); the error names
                each non-finite one, or "the weighted sum" when they are all finite, and gives
                all their values.
        """
        if torch.isfinite(loss):
            return
        values = {name: torch.as_tensor(term).detach() for name, term in terms.items()}
        bad = [name for name, value in values.items()
               if not torch.isfinite(value)] or ["the weighted sum"]
        shown = ", ".join(f"{name}={value.item():.4g}" for name, value in values.items())
        raise TrainingError(
            f"non-finite loss at step {self.global_step} (epoch {self.current_epoch}) of method "
            f"'{self.method}' (alignment loss {self.alignment_name}): {', '.join(bad)} is "
            f"NaN/Inf ({shown}). Lower the learning rate or the alignment weight, or check the "
            f"inputs for NaN/Inf.")

    def manual_backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """Lightning's ``manual_backward`` (manual optimization); outside a Trainer (a step
        called directly, in a unit test) a plain ``loss.backward()``."""
        if self._trainer is None:
            loss.backward(*args, **kwargs)
        else:
            super().manual_backward(loss, *args, **kwargs)

    @property
    def alignment_name(self) -> str:
        """The alignment term's name in error messages (a subclass with its own term overrides
        it)."""
        return type(self.alignment).__name__ if self.alignment is not None else "none"

    # ------------------------------------------------------------------ epoch ends
    def on_train_epoch_end(self) -> None:
        self.log_dict(self._train_means.pop(), sync_dist=True)
        for name, metric in self._train_accuracy.items():
            self._log_metric(f"train/{name}", metric)

    def _log_metric(self, name: str, metric: Any) -> None:
        """Log a torchmetrics metric accumulated over the epoch (synced across ranks), reset it."""
        if metric.update_count:
            self.log(name, metric.compute())
        metric.reset()

    def on_train_end(self) -> None:
        if world_size() > 1:  # every rank must have run the same number of steps
            log.info("rank %d/%d: %d training batches, global step %d", self.global_rank,
                     world_size(), self._train_batches, self.global_step)

    def _check_scalar(self, loss_align: Any) -> None:
        if isinstance(loss_align, torch.Tensor) and loss_align.dim() == 0:
            return
        found = (f"a tensor of shape {tuple(loss_align.shape)}"
                 if isinstance(loss_align, torch.Tensor) else f"a {type(loss_align).__name__}")
        raise ConfigError(
            f"alignment loss {self.alignment_name} (method '{self.method}') returned {found}; an "
            f"alignment loss must return a scalar (0-d) tensor, e.g. reduce it with .mean() "
            f"(see da/losses/base.py).")

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
        self._log_metric("val/source_acc", self.metrics["val_source_acc"])
        self._log_metric("val/target_acc_oracle", self.metrics["val_target_acc"])

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
            steps = self.total_batches() if self._trainer is not None else 1
            return self.scheduler_factory(optimizer, total_steps=steps)
        return self.scheduler_factory(optimizer)
