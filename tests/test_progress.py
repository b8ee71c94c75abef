"""The progress bar (da/run/progress.py): redrawn on a clock, the default unless bars are off."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from da.run.build import build_trainer
import io
import logging

from da.errors import ConfigError
from da.run.progress import EpochLog, ThrottledProgressBar, bar_wanted
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


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_draws_a_bar_only_on_a_terminal():
    assert bar_wanted("auto", _Terminal()) and not bar_wanted("auto", io.StringIO())
    assert bar_wanted(True, io.StringIO()) and not bar_wanted(False, _Terminal())
    with pytest.raises(ValueError, match="true, false or auto"):
        bar_wanted("sometimes")


def test_auto_without_a_terminal_logs_epochs_instead_of_a_bar(compose_cfg, tmp_path, monkeypatch):
    # pytest's stderr is not a terminal: the default (auto) gives no bar, an EpochLog instead
    cfg = compose_cfg([*QUICK, "trainer.enable_progress_bar=auto"])
    monkeypatch.setattr("sys.stderr", io.StringIO())
    trainer = build_trainer(cfg, tmp_path, [])
    assert trainer.progress_bar_callback is None
    assert any(isinstance(c, EpochLog) for c in trainer.callbacks)
    monkeypatch.setattr("sys.stderr", _Terminal())
    trainer = build_trainer(cfg, tmp_path, [])
    assert isinstance(trainer.progress_bar_callback, ThrottledProgressBar)
    assert not any(isinstance(c, EpochLog) for c in trainer.callbacks)
    with pytest.raises(ConfigError, match="true, false or auto"):
        build_trainer(compose_cfg([*QUICK, "trainer.enable_progress_bar=maybe"]), tmp_path, [])


def test_epoch_log_writes_throttled_lines_and_always_the_last(caplog):
    def fit(log: EpochLog, epochs: int) -> None:
        data = torch.utils.data.TensorDataset(torch.randn(4, 4))
        trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False,
                            enable_model_summary=False, enable_progress_bar=False,
                            callbacks=[log])
        trainer.fit(_Tiny(), DataLoader(data, batch_size=2))

    with caplog.at_level(logging.INFO, logger="da.run.progress"):
        every, rare = EpochLog(min_interval_s=0), EpochLog(min_interval_s=3600)
        fit(every, 5)
        fit(rare, 5)
    assert (every.lines, rare.lines) == (5, 2)  # rare: the first epoch and the last
    assert "epoch 4, step 10" in caplog.text


def test_a_sweep_without_a_terminal_writes_no_bar_lines(data_dir, tmp_path):
    """Issue #27: `da-train -m` with its output in a file (the default `auto`) writes one line
    per epoch per job, not a bar redraw per batch."""
    from tests.helpers import TINY, da_train
    pair = [o for o in TINY if not o.startswith("trainer.enable_progress_bar")]
    result = da_train(["-m", *pair, "method=source_only,dann", "trainer.max_epochs=2",
                       "logger=none", f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "\r" not in output and "it/s]" not in output  # no tqdm redraws
    assert output.count("epoch 1, step") == 2  # each job's last epoch, once
