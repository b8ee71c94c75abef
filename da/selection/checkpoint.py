"""`SelectionCheckpoint`: keep the checkpoint a validator scores best (``selection=<rule>``)."""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from da.errors import ConfigError
from da.selection.validators import MODES


#: The validator a selection rule monitors where its name is not the rule's own.
RULE_VALIDATORS = {"oracle": "oracle_target_acc"}


def rule_monitor(rule: str) -> tuple[str, str]:
    """``(monitor, mode)`` of selection rule ``rule``: ``select/<validator>`` and its direction
    from :data:`da.selection.validators.MODES`, so a rule's yaml names only the rule."""
    name = RULE_VALIDATORS.get(rule, rule)
    if name not in MODES:
        rules = sorted({*MODES, *RULE_VALIDATORS} - set(RULE_VALIDATORS.values()))
        raise ConfigError(f"selection rule '{rule}' has no validator; a rule is one of "
                          f"{', '.join(rules)} (or selection=last).")
    return f"select/{name}", MODES[name]


class SelectionCheckpoint(ModelCheckpoint):
    """A ``ModelCheckpoint`` keeping the one best (weights-only) checkpoint by the rule's score.

    It monitors ``select/<validator>`` in the validator's direction (:func:`rule_monitor`). An
    epoch whose value is missing (the validator could not be computed) or not finite is no
    candidate: it is counted in :attr:`missing_epochs` instead of failing the run (a plain
    ``ModelCheckpoint`` raises). :attr:`best_epoch` is the epoch of the kept checkpoint.

    Args:
        rule: the selection rule's name (``conf/selection/<rule>.yaml``): what is monitored,
            and the file name.
        dirpath: where to write ``selected-<rule>-epoch<N>.ckpt``.
        fallback: the ``select/source_acc`` checkpoint kept beside another rule's, in case that
            rule's validator is never computed (``selected-fallback_<rule>-epoch<N>.ckpt``).
        **kwargs: passed to ``ModelCheckpoint`` (not ``monitor`` and ``mode``: the rule's).
    """

    def __init__(self, rule: str, dirpath: str | None = None, fallback: bool = False,
                 **kwargs: Any) -> None:
        monitor, mode = rule_monitor(rule)
        given = sorted({"monitor", "mode"} & set(kwargs))
        if given:
            raise ConfigError(f"selection '{rule}': {' and '.join(given)} follow from the rule "
                              f"({monitor}, mode {mode}: da.selection.validators.MODES); remove "
                              f"{' and '.join(given)} from its checkpoint node.")
        kwargs = {"save_top_k": 1, "save_last": False, "save_weights_only": True,
                  "auto_insert_metric_name": False, **kwargs}
        tag = f"fallback_{rule}" if fallback else rule
        super().__init__(dirpath=dirpath, monitor=monitor, mode=mode,
                         filename=f"selected-{tag}-epoch{{epoch}}", **kwargs)
        self.rule = rule
        self.missing_epochs = 0
        self._epoch_of: dict[str, int] = {}

    @property
    def best_epoch(self) -> int | None:
        """Epoch (0-based) of the kept checkpoint; ``None`` if none was kept."""
        return self._epoch_of.get(self.best_model_path)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "epoch_of": dict(self._epoch_of),
                "missing_epochs": self.missing_epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._epoch_of = dict(state_dict.get("epoch_of", {}))
        self.missing_epochs = int(state_dict.get("missing_epochs", 0))
        super().load_state_dict(state_dict)

    def _save_topk_checkpoint(self, trainer: Any, monitor_candidates: dict[str, Any]) -> None:
        value = monitor_candidates.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            self.missing_epochs += 1
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)

    def _save_checkpoint(self, trainer: Any, filepath: str) -> None:
        self._epoch_of[filepath] = trainer.current_epoch
        super()._save_checkpoint(trainer, filepath)
