"""`SelectionCallback`: log the unsupervised validators as ``select/<name>`` every validation epoch.

At the end of each validation epoch (not the sanity check) it runs the module on fixed, seeded
subsets of the data parts (at most ``max_samples`` rows each; the target test part for the
oracle in full unless ``oracle_max_samples`` is set) and logs

- ``select/source_acc``: accuracy on the source validation part;
- ``select/entropy``: mean prediction entropy on the target training part (unlabeled; min);
- ``select/iwv``, ``select/dev``: importance-weighted source-validation accuracy (max) and
  DEV risk (min), weights from a domain classifier of source-validation vs target-training
  features, cross-fitted over the source rows (:func:`~da.selection.validators.importance_weights`);
- ``select/snd``: soft neighborhood density of the target training part (max);
- ``select/prior_kl``: KL from the source class prior (source validation labels) to the mean
  target prediction (min), a guard against collapse to one class, not a selection rule;
- ``select/oracle_target_acc``: accuracy on the target test part — the **oracle** (target labels).

A validator that cannot be computed (too few examples, a non-finite value) is not logged; its
reason is logged as a warning once and kept in :attr:`SelectionCallback.missing`.

``final_only=True`` (``validators.final_only``; da-tune, which scores the final model) computes
them at the run's last validation only (:func:`final_validation`), in epoch-based and step-based
runs alike.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import lightning as L
import numpy as np
from scipy.special import log_softmax

from da.selection import validators as V
from da.selection.features import Outputs, collect, subset_index

log = logging.getLogger(__name__)

#: Validators in logging order; every one is always attempted.
NAMES = ("source_acc", "entropy", "iwv", "dev", "snd", "prior_kl", "oracle_target_acc")
_PARTS = ("source_val", "target_train", "target_test")


def compute_all(out: dict[str, Outputs], min_samples: int = 20, tau: float = 0.05
                ) -> tuple[dict[str, float], dict[str, str]]:
    """Every validator on the collected parts → ``(scores, reasons of the missing ones)``."""
    src_val, tgt = out["source_val"], out["target_train"]
    weights: dict[str, np.ndarray] = {}

    def target_logits() -> np.ndarray:
        if len(tgt) < min_samples:
            raise V.MissingValidator(f"too few target training examples: {len(tgt)} < "
                                     f"validators.min_samples={min_samples}")
        return tgt.logits

    def importance() -> np.ndarray:
        target_logits()
        if len(src_val) < min_samples:
            raise V.MissingValidator(f"too few source validation examples: {len(src_val)} < "
                                     f"validators.min_samples={min_samples}")
        if "w" not in weights:
            weights["w"] = V.importance_weights(src_val.features, tgt.features)
        return weights["w"]

    def ce() -> np.ndarray:
        log_p = log_softmax(src_val.logits.astype(np.float64), axis=1)
        return -log_p[np.arange(len(src_val)), src_val.labels]

    def oracle() -> float:
        if "target_test" not in out:
            raise V.MissingValidator("the target was declared unlabeled and has no test_path")
        return V.accuracy(out["target_test"].logits, out["target_test"].labels)

    rules: dict[str, Callable[[], float]] = {
        "source_acc": lambda: V.accuracy(src_val.logits, src_val.labels),
        "entropy": lambda: V.entropy(target_logits()),
        "iwv": lambda: V.iwv(importance(), src_val.logits.argmax(1) == src_val.labels),
        "dev": lambda: V.dev(importance(), ce()),
        "snd": lambda: V.snd(target_logits(), tau),
        "prior_kl": lambda: V.prior_kl(target_logits(), src_val.labels),
        "oracle_target_acc": oracle,
    }
    scores, missing = {}, {}
    for name in NAMES:
        try:
            scores[name] = rules[name]()
        except V.MissingValidator as exc:
            missing[name] = str(exc)
    return scores, missing


def final_validation(trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
    """Whether this validation, at the end of a training epoch, is the run's last: the epoch is
    the last of ``max_epochs``, or another whole epoch would pass ``max_steps`` (a step-based run
    stops within that epoch, and Lightning does not validate a cut epoch). ``max_steps`` counts
    optimizer steps: an epoch is ``num_training_batches`` × the module's
    ``optimizer_steps_per_batch`` of them (MCD: 7)."""
    if trainer.max_epochs is not None and trainer.max_epochs > 0 \
            and trainer.current_epoch >= trainer.max_epochs - 1:
        return True
    if trainer.max_steps is None or trainer.max_steps < 0:
        return False
    per_epoch = trainer.num_training_batches * getattr(pl_module, "optimizer_steps_per_batch", 1)
    return trainer.global_step + per_epoch > trainer.max_steps


class SelectionCallback(L.Callback):
    """Logs ``select/<name>`` for every validator at the end of each validation epoch.

    Args:
        enabled: ``false`` turns the callback off (no ``select/*``; only ``selection=last`` works).
        max_samples: rows used per data part (seeded subset, the same every epoch).
        oracle_max_samples: rows of the target test part for the oracle (``None`` = all).
        min_samples: fewer target (or source validation) rows → the validators needing them are
            missing.
        tau: SND temperature (0.05 in Saito et al. 2021).
        seed: seed of the subsets.
        final_only: compute them at the run's last validation only (:func:`final_validation`).
    """

    def __init__(self, enabled: bool = True, max_samples: int | None = 2000,
                 oracle_max_samples: int | None = None, min_samples: int = 20,
                 tau: float = 0.05, seed: int = 0, final_only: bool = False) -> None:
        self.enabled, self.max_samples, self.final_only = enabled, max_samples, final_only
        self.oracle_max_samples, self.min_samples = oracle_max_samples, min_samples
        self.tau, self.seed = tau, seed
        self.missing: dict[str, dict[str, Any]] = {}  # name -> {"reason", "epochs"}
        self._index: dict[str, np.ndarray] = {}

    def _subsets(self, datamodule: Any) -> dict[str, np.ndarray]:
        if not self._index:
            for offset, part in enumerate(_PARTS):
                if part not in datamodule.parts:  # an unlabeled target: no target_test
                    continue
                cap = self.oracle_max_samples if part == "target_test" else self.max_samples
                self._index[part] = subset_index(len(datamodule.parts[part]), cap,
                                                 self.seed + offset)
        return self._index

    def state_dict(self) -> dict[str, Any]:
        return {"missing": {k: dict(v) for k, v in self.missing.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.missing = {k: dict(v) for k, v in state_dict.get("missing", {}).items()}

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or trainer.sanity_checking:
            return
        if self.final_only and not final_validation(trainer, pl_module):
            return
        datamodule = trainer.datamodule
        out = {part: collect(pl_module, datamodule, part, index)
               for part, index in self._subsets(datamodule).items()}
        scores, missing = compute_all(out, self.min_samples, self.tau)
        for name, value in scores.items():
            pl_module.log(f"select/{name}", value, sync_dist=trainer.world_size > 1)
        for name, reason in missing.items():
            entry = self.missing.setdefault(name, {"reason": reason, "epochs": 0})
            if entry["epochs"] == 0:
                log.warning("validator select/%s cannot be computed: %s (not logged)", name,
                            reason)
            entry["epochs"] += 1
