"""Batched fetching (da/data/batching.py): whole batches sliced at once give the per-item
batches, and the datamodule serves vector parts that way."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from da.data.batching import ArrayDataset, TensorBatchDataset, already_batched
from da.data.sampling import EpochShuffle
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
    from da.run.build import build_datamodule
    datamodule = build_datamodule(compose_cfg(QUICK))
    datamodule.prepare()
    loaders = [*datamodule.train_dataloader().flattened, *datamodule.val_dataloader()]
    assert all(isinstance(loader.dataset, TensorBatchDataset) for loader in loaders)
    (x_s, y_s) = next(iter(loaders[0]))
    assert x_s.shape == (64, datamodule.input_dim) and y_s.shape == (64,)
