"""The progress bar (da/run/progress.py): redrawn on a clock, the default unless bars are off."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from da.run.build import build_trainer
from da.run.progress import ThrottledProgressBar
from tests.helpers import QUICK


class _Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _fit(bar: ThrottledProgressBar, batches: int = 60) -> None:
    data = torch.utils.data.TensorDataset(torch.randn(batches, 4))
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[bar])
    trainer.fit(_Tiny(), DataLoader(data, batch_size=1))


def test_progress_bar_redraws_on_a_clock():
    slow = ThrottledProgressBar(min_interval_s=3600)
    _fit(slow)
    assert slow.redraws == 2  # the first and the last batch only
    every = ThrottledProgressBar(min_interval_s=0)
    _fit(every)
    assert every.redraws == 60
    with pytest.raises(ValueError, match="min_interval_s"):
        ThrottledProgressBar(min_interval_s=-1)


def test_default_callbacks_have_the_throttled_bar_unless_bars_are_off(compose_cfg, tmp_path):
    on = build_trainer(compose_cfg([*QUICK, "trainer.enable_progress_bar=true"]), tmp_path, [])
    assert isinstance(on.progress_bar_callback, ThrottledProgressBar)
    off = build_trainer(compose_cfg(QUICK), tmp_path, [])  # QUICK sets enable_progress_bar=false
    assert off.progress_bar_callback is None
