"""A progress bar that redraws on a clock instead of on every batch.

Lightning's default bar redraws after every batch (``refresh_rate=1``) and reads the logged
metrics for its postfix each time: about 0.25 ms per batch on this CPU, which is a tenth of a
whole training step of the bag-of-words MLP. Redrawing every N batches instead would leave the
bar frozen for minutes when steps are slow (fine-tuning a transformer on a CPU takes 1-2 s per
step), so :class:`ThrottledProgressBar` redraws at most once per ``min_interval_s`` seconds, and
always on the first and the last batch of a loop.

Where stderr is not a terminal (a sweep job, a batch job, output piped to a file), a bar writes
each redraw as another line: ``trainer.enable_progress_bar: auto`` (the default) then drops the
bar (:func:`bar_wanted`) and :class:`EpochLog` logs one line per epoch instead, at most one per
``min_interval_s`` (runs of hundreds of short epochs, such as the digits protocol's, stay short).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, TQDMProgressBar

log = logging.getLogger(__name__)


def bar_wanted(setting: bool | str, stream: Any = None) -> bool:
    """``trainer.enable_progress_bar`` resolved: ``true``/``false`` as given, ``auto`` only when
    ``stream`` (default ``sys.stderr``, where the bar draws) is a terminal."""
    if isinstance(setting, bool):
        return setting
    if str(setting).lower() != "auto":
        raise ValueError(f"trainer.enable_progress_bar must be true, false or auto, got {setting!r}")
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


class ThrottledProgressBar(TQDMProgressBar):
    """Lightning's TQDM bar, redrawn at most every ``min_interval_s`` seconds.

    Args:
        min_interval_s: least time between two redraws (0: every ``refresh_rate`` batches, as in
            Lightning).
        **kwargs: passed to :class:`~lightning.pytorch.callbacks.TQDMProgressBar`.
    """

    def __init__(self, min_interval_s: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if min_interval_s < 0:
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s}")
        self.min_interval_s = min_interval_s
        self.redraws = 0
        self._last_redraw = float("-inf")

    def _should_update(self, current: int, total: int) -> bool:
        if not super()._should_update(current, total):
            return False
        now = time.monotonic()
        if current in (1, total) or now - self._last_redraw >= self.min_interval_s:
            self._last_redraw = now
            self.redraws += 1
            return True
        return False


class EpochLog(Callback):
    """One log line per training epoch (epoch, step, the epoch's logged metrics), at most one
    every ``min_interval_s`` seconds, always the last epoch; what a bar shows, for non-terminal
    output."""

    def __init__(self, min_interval_s: float = 30.0) -> None:
        if min_interval_s < 0:
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s}")
        self.min_interval_s = min_interval_s
        self.lines = 0
        self._last = float("-inf")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        now = time.monotonic()
        last = trainer.max_epochs not in (None, -1) and trainer.current_epoch + 1 >= \
            trainer.max_epochs
        if not (last or now - self._last >= self.min_interval_s) or not trainer.is_global_zero:
            return
        self._last, self.lines = now, self.lines + 1
        shown = {k: float(v) for k, v in sorted(trainer.callback_metrics.items())
                 if k.startswith(("train/loss", "val/")) and v.numel() == 1}
        log.info("epoch %d, step %d: %s", trainer.current_epoch, trainer.global_step,
                 " ".join(f"{k} {v:.4g}" for k, v in shown.items()) or "(no metrics yet)")
