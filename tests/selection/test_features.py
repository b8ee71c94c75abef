"""da.selection.features.collect: the pass that validators and diagnostics run between epochs."""

from __future__ import annotations

import numpy as np
import torch

from da.data.datamodule import DomainPairDataModule
from da.data.types import DomainData, Split
from da.encoders import MLPEncoder
from da.methods import AlignmentModule
from da.selection.features import collect


class Vectors:
    name, modality = "vectors", "vectors"

    def load(self, data_dir=None):
        rng = np.random.default_rng(0)
        split = Split(torch.tensor(rng.normal(size=(60, 5)), dtype=torch.float32),
                      np.arange(60) % 2)
        return DomainData(self.name, "vectors", split, split, classes=["a", "b"])


def test_collect_leaves_the_global_random_state_as_it_was():
    """A DataLoader draws its base seed from torch's global generator; collect() must not move
    it, so that the validators (select/*) leave no trace in a training loop that does not
    re-seed before each step, as da-train's StepSeed does (its runs are the same either way)."""
    datamodule = DomainPairDataModule(Vectors(), Vectors(), batch_size=16)
    datamodule.prepare()
    model = AlignmentModule(MLPEncoder(in_dim=5, hidden_dims=[4]), num_classes=2)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    out = collect(model, datamodule, "target_train", np.arange(30))
    assert out.logits.shape == (30, 2)
    assert torch.equal(torch.get_rng_state(), before)
    assert model.training  # the mode is restored as well
