"""A progress bar that redraws on a clock instead of on every batch.

Lightning's default bar redraws after every batch (``refresh_rate=1``) and reads the logged
metrics for its postfix each time: about 0.25 ms per batch on this CPU, which is a tenth of a
whole training step of the bag-of-words MLP. Redrawing every N batches instead would leave the
bar frozen for minutes when steps are slow (fine-tuning a transformer on a CPU takes 1-2 s per
step), so :class:`ThrottledProgressBar` redraws at most once per ``min_interval_s`` seconds, and
always on the first and the last batch of a loop.
"""

from __future__ import annotations

import time
from typing import Any

from lightning.pytorch.callbacks import TQDMProgressBar


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
