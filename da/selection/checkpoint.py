"""`SelectionCheckpoint`: keep the checkpoint a validator scores best (``selection=<rule>``)."""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from da.errors import ConfigError
from da.selection.validators import MODES


class SelectionCheckpoint(ModelCheckpoint):
    """A ``ModelCheckpoint`` keeping the one best (weights-only) checkpoint by ``monitor``.

    An epoch whose ``monitor`` value is missing (the validator could not be computed) or not
    finite is no candidate: it is counted in :attr:`missing_epochs` instead of failing the run
    (a plain ``ModelCheckpoint`` raises). :attr:`best_epoch` is the epoch of the kept checkpoint.

    Args:
        rule: the selection rule's name (``conf/selection/<rule>.yaml``), used in the file name.
        monitor: the ``select/<name>`` metric.
        mode: ``max`` or ``min``; must agree with :data:`da.selection.validators.MODES`.
        dirpath: where to write ``selected-<rule>-epoch<N>.ckpt``.
        **kwargs: passed to ``ModelCheckpoint``.
    """

    def __init__(self, rule: str, monitor: str, mode: str, dirpath: str | None = None,
                 **kwargs: Any) -> None:
        name = monitor.removeprefix("select/")
        if name in MODES and MODES[name] != mode:
            raise ConfigError(f"selection '{rule}' monitors {monitor} with mode={mode}, but "
                              f"{monitor} is better when {MODES[name]}imal; set mode: "
                              f"{MODES[name]}.")
        kwargs = {"save_top_k": 1, "save_last": False, "save_weights_only": True,
                  "auto_insert_metric_name": False, **kwargs}
        super().__init__(dirpath=dirpath, monitor=monitor, mode=mode,
                         filename=f"selected-{rule}-epoch{{epoch}}", **kwargs)
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
