"""Adversarial discriminative domain adaptation (ADDA; Tzeng et al., CVPR 2017), a method with
its own training loop (manual optimization), two stages in one Lightning run.

Stage 1 (pre-training, Eq. 8), the first ``source_fraction`` of the run's batches: the source
encoder ``M_s`` and the classifier ``C`` minimise ``CE(C(M_s(x_s)), y_s)``.

The switch: the target encoder ``M_t`` starts as an exact copy of ``M_s``; from then on ``M_s``
and ``C`` are fixed (no gradient, never stepped; ``M_s`` runs in eval mode).

Stage 2 (adversarial adaptation, Eq. 9-10), with a discriminator ``D`` on features (one logit,
``σ(D(f))`` = P(source)) and the binary cross-entropy
``BCE(z, y) = −y log σ(z) − (1−y) log(1−σ(z))`` averaged over the batch:

    L_D = BCE(D(M_s(x_s)), 1) + BCE(D(M_t(x_t)), 0)     (D only)
    L_M = w(p) · BCE(D(M_t(x_t)), 1)                     (M_t only; the inverted-label GAN loss)

Both gradients are taken at the same ``D`` and applied in one optimizer step per batch, as in
the authors' ``tools/train_adda.py`` (one ``sess.run`` of both updates). ``w(p)`` is the method's
``weight`` schedule (constant 1 = the paper). ``M_t`` and ``D`` are trained by one
``adversary_optimizer`` over both (the authors': Adam, lr 2e-4, β1 0.5 for each; Adam's state is
per parameter, so one optimizer over both is two); stage 1 uses the run's optimizer.

Which encoder is which: ``encoder`` is the one that predicts on the target, trained as ``M_s``
in stage 1 and continued as ``M_t`` after the switch (so ``M_t = M_s`` before it);
``source_encoder`` holds ``M_s`` from the switch on (a frozen copy, registered from the start).
``forward``/``classify``, the target validation and test, the selection validators and the
diagnostics (which call ``encoder`` and ``classify``) therefore use ``C(M_t(x))``; the source
validation (``val/source_acc``, ``val/source_loss``) uses ``C(M_s(x))`` (:meth:`source_logits`).

Checkpoints and resume: the stage is the buffer ``stage`` (1 or 2) and ``M_s``, ``M_t``, ``D`` and
both optimizers (stage 1's, and stage 2's over ``M_t`` and ``D``) are in the checkpoint, so ``resume=true`` continues in the stage it stopped
in. Selection (``selection=<rule>``): every epoch is scored; an epoch before the switch is the
source-only model (``M_t = M_s``), so a rule that picks one says ADDA did not help by its score
(da's choice, as for any candidate). Sweeps: ``source_fraction`` is a fraction of each run's
batches, so it scales with ``trainer.max_epochs``. Each batch is one optimizer step in either
stage, so ``global_step`` and ``trainer.max_steps`` count batches: ``max_steps=20000`` is 10,000
source + 10,000 adaptation iterations with ``source_fraction=0.5``. Logged (``log_step``):
``train/loss_cls`` (stage 1), ``train/loss_align`` (``BCE(D(M_t(x_t)), 1)``, stage 2),
``train/align/loss_disc``, ``train/align/disc_acc``, ``train/align_weight``,
``train/align/stage``.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from da.errors import ConfigError
from da.methods.alignment import AlignmentModule
from da.methods.param_groups import parameter_groups, pretrained_part, scaled_optimizer
from da.nn.mlp import mlp

#: the authors' adaptation optimizer (scripts/svhn-mnist.sh: --solver adam --lr 0.0002;
#: tools/train_adda.py: tf.train.AdamOptimizer(lr, 0.5))
AUTHORS_ADVERSARY_OPTIMIZER = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


def bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    """Mean binary cross-entropy of one-logit outputs against a constant ``label``."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


class ADDAModule(AlignmentModule):
    """ADDA: source pre-training, then an adversarially trained target encoder.

    Args:
        source_fraction: the fraction of the run's batches spent in stage 1 (in ``(0, 1)``);
            the switch happens at the first batch with ``progress() >= source_fraction``.
        disc_hidden_dims: hidden sizes of the discriminator (ReLU), one output logit.
        adversary_optimizer: partial optimizer of stage 2, one over ``M_t`` and ``D``.
        *args, **kwargs: as for :class:`AlignmentModule`; ``alignment`` must be ``None``,
            ``align_weight`` scales ``L_M``.
    """

    def __init__(self, *args: Any, source_fraction: float = 0.5,
                 disc_hidden_dims: Sequence[int] = (500, 500),
                 adversary_optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.alignment is not None:
            raise ConfigError(f"method '{self.method}' (ADDA) has its own discriminator; set "
                              f"method.loss=null (got {type(self.alignment).__name__})")
        if not 0.0 < float(source_fraction) < 1.0:
            raise ConfigError(f"ADDA source_fraction must be in (0, 1), got {source_fraction}")
        if self.scheduler_factory is not None:
            raise ConfigError(f"method '{self.method}' (ADDA) uses constant learning rates, as "
                              f"the paper; set scheduler=null (e.g. optim=adam)")
        self.automatic_optimization = False
        self.source_fraction = float(source_fraction)
        self.adversary_factory = adversary_optimizer or AUTHORS_ADVERSARY_OPTIMIZER
        self.source_encoder = copy.deepcopy(self.encoder)  # M_s from the switch on
        self.discriminator = mlp(self.encoder.out_dim, list(disc_hidden_dims), 1)
        self.register_buffer("stage", torch.tensor(1))

    # ------------------------------------------------------------------ predictions
    @property
    def switched(self) -> bool:
        """Whether stage 2 has begun (``M_s`` fixed in ``source_encoder``)."""
        return int(self.stage) == 2

    def source_logits(self, x: Any) -> torch.Tensor:
        """``C(M_s(x))``: the source model's logits (``forward`` gives ``C(M_t(x))``)."""
        return self.classify((self.source_encoder if self.switched else self.encoder)(x))

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if dataloader_idx != 0:  # target: C(M_t(x))
            return super().validation_step(batch, batch_idx, dataloader_idx)
        x, y = batch
        logits = self.source_logits(x)
        self.metrics["val_source_acc"].update(logits, y)
        self._val_means.add({"val/source_loss": F.cross_entropy(logits, y)}, y.shape[0])

    # ------------------------------------------------------------------ the two stages
    def switch(self) -> None:
        """End stage 1: ``M_s`` is frozen as an exact copy of the trained encoder, which goes
        on as ``M_t``."""
        self.source_encoder.load_state_dict(self.encoder.state_dict())
        self.stage.fill_(2)

    @staticmethod
    def _zero(*optimizers: Any) -> None:
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)

    def source_step(self, x_s: Any, y_s: torch.Tensor, opt_src: Any) -> dict[str, Any]:
        """Stage 1: ``M_s`` and ``C`` on the source cross-entropy."""
        self._zero(opt_src)
        logits = self(x_s)
        loss = F.cross_entropy(logits, y_s)
        self.check_finite(loss, loss_cls=loss)
        self.manual_backward(loss)
        opt_src.step()
        self._zero(opt_src)
        self.log_accuracy("source_acc", logits, y_s)
        return {"loss": loss.detach(), "loss_cls": loss.detach()}

    def adversarial_step(self, x_s: Any, x_t: Any, weight: float,
                         opt_adv: Any) -> dict[str, Any]:
        """Stage 2: ``M_t`` on ``w · L_M`` and ``D`` on ``L_D``, both gradients at the same ``D``,
        applied by one step of ``opt_adv``; ``M_s`` and ``C`` get none."""
        self._zero(opt_adv)
        self.source_encoder.eval()  # fixed: no batch-norm statistics or dropout drift
        with torch.no_grad():
            f_s = self.source_encoder(x_s)
        f_t = self.encoder(x_t)
        loss_map = bce(self.discriminator(f_t), 1.0)  # inverted label: "source"
        self.check_finite(weight * loss_map, loss_align=loss_map)
        self.manual_backward(weight * loss_map)
        self.discriminator.zero_grad(set_to_none=True)  # L_M's gradient on D is never applied
        d_s, d_t = self.discriminator(f_s), self.discriminator(f_t.detach())
        loss_disc = bce(d_s, 1.0) + bce(d_t, 0.0)
        self.check_finite(loss_disc, loss_disc=loss_disc)
        self.manual_backward(loss_disc)  # reaches D only: both feature batches are detached
        opt_adv.step()
        self._zero(opt_adv)
        hits = (d_s > 0).sum() + (d_t <= 0).sum()
        return {"loss": (weight * loss_map).detach(), "loss_align": loss_map.detach(),
                "align/loss_disc": loss_disc.detach(),
                "align/disc_acc": hits.float() / (len(d_s) + len(d_t))}

    # ------------------------------------------------------------------ Lightning hooks
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        (x_s, y_s), x_t = batch["source"], batch["target"]
        opt_src, opt_adv = self.optimizers()
        progress = self.progress()  # in batches
        if not self.switched and progress >= self.source_fraction:
            self.switch()
        weight = self.align_weight(progress)
        if self.switched:
            values = self.adversarial_step(x_s, x_t, weight, opt_adv)
        else:
            values = self.source_step(x_s, y_s, opt_src)
        values.update({"align_weight": weight, "align/stage": float(self.stage)})
        self.log_step(values, batch_size=y_s.shape[0])
        return values["loss"]

    @property
    def alignment_name(self) -> str:
        return "ADDA adversarial discriminator"

    def configure_optimizers(self) -> Any:
        # stage 1: M_s (pretrained part at encoder_lr_scale) and C with the run's optimizer;
        # stage 2: M_t (same rule) and D with one adversary optimizer
        scales = {pretrained_part(self.encoder): self.encoder_lr_scale}
        rest, *scaled = parameter_groups(self.encoder, scales)
        encoder_groups = [group for group in (*scaled, rest) if group["params"]]
        if not encoder_groups:
            raise ConfigError(f"method '{self.method}' (ADDA) needs a trainable encoder")
        opt_src = scaled_optimizer(self.optimizer_factory, parameter_groups(
            nn.ModuleList([self.encoder, self.head]), scales))
        opt_adv = scaled_optimizer(self.adversary_factory,
                                   [*encoder_groups, *parameter_groups(self.discriminator, {})])
        return [opt_src, opt_adv]
