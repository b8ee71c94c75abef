"""The cheap defaults of issue #9 (4a): batched fetching and the throttled progress bar."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from da.build import build_trainer
from da.data.batching import ArrayDataset, TensorBatchDataset, already_batched
from da.data.sampling import EpochShuffle
from da.progress import ThrottledProgressBar

from tests.helpers import QUICK


def test_batched_fetch_gives_the_per_item_batches():
    x, y = torch.randn(101, 7), torch.randint(0, 3, (101,))
    per_item = DataLoader(ArrayDataset(x, y), batch_size=16, sampler=EpochShuffle(101, seed=3))
    batched = DataLoader(TensorBatchDataset(x, y), batch_size=16, sampler=EpochShuffle(101, seed=3),
                         collate_fn=already_batched)
    pairs = list(zip(per_item, batched, strict=True))
    assert len(pairs) == 7  # 6 full batches + 5 left over
    for (x_a, y_a), (x_b, y_b) in pairs:
        assert torch.equal(x_a, x_b) and torch.equal(y_a, y_b)
    only_x = DataLoader(TensorBatchDataset(x), batch_size=50, collate_fn=already_batched)
    assert [b.shape for b in only_x] == [(50, 7), (50, 7), (1, 7)]


def test_vector_parts_use_batched_fetch(compose_cfg):
    from da.build import build_datamodule
    datamodule = build_datamodule(compose_cfg(QUICK))
    datamodule.prepare()
    loaders = [*datamodule.train_dataloader().flattened, *datamodule.val_dataloader()]
    assert all(isinstance(loader.dataset, TensorBatchDataset) for loader in loaders)
    (x_s, y_s) = next(iter(loaders[0]))
    assert x_s.shape == (64, datamodule.input_dim) and y_s.shape == (64,)


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
