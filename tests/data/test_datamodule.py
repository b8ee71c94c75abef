"""The DataModule (da/data/datamodule.py): what a training batch holds (no target labels), the
parts' sizes, and the source/target compatibility checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from da.run.build import build_datamodule
from da.data.datamodule import check_compatible
from da.data.types import DomainData, Split
from da.encoders.inputs import check_encoder_fits
from da.errors import ConfigError, DataError
from tests.helpers import QUICK


def test_training_batches_hold_no_target_labels(data_dir, compose_cfg):
    datamodule = build_datamodule(compose_cfg(QUICK))
    batch = next(iter(datamodule.train_dataloader()))[0]
    x_s, y_s = batch["source"]
    assert isinstance(batch["target"], torch.Tensor) and batch["target"].dim() == 2
    assert x_s.shape == (64, 5000) and y_s.shape == (64,)
    assert datamodule.input_dim == 5000 and datamodule.num_classes == 2
    sizes = {k: len(v) for k, v in datamodule.parts.items()}
    assert sizes == {"source_train": 360, "source_val": 40, "target_train": 400, "target_test": 400}


def test_the_target_test_part_is_validated_only_when_asked(data_dir, compose_cfg):
    """data.oracle_val: the per-epoch oracle pass over the target test part is opt-in."""
    default = build_datamodule(compose_cfg(QUICK))
    (source_val,) = default.val_dataloader()
    assert len(source_val.dataset) == 40
    oracle = build_datamodule(compose_cfg([*QUICK, "data.oracle_val=true"]))
    assert [len(loader.dataset) for loader in oracle.val_dataloader()] == [40, 400]
    assert len(default.test_dataloader().dataset) == 400  # the final test always runs


def _domain(name, modality="vectors", classes=("negative", "positive"), labels=(0, 1), dim=3):
    x = np.zeros((len(labels), dim), dtype=np.float32)
    split = Split(x if modality != "text" else ["a"] * len(labels), np.array(labels))
    return DomainData(name, modality, split, split, classes=list(classes))


def test_compatibility_checks():
    with pytest.raises(ConfigError, match="holds text but the encoder takes images"):
        check_encoder_fits("images", SimpleNamespace(name="a", modality="text"))  # before loading
    with pytest.raises(DataError, match="label sets differ"):
        check_compatible(_domain("a"), _domain("b", classes=("bad", "good")))
    with pytest.raises(DataError, match=r"labels \[2\] that never occur"):
        check_compatible(_domain("a", labels=(0, 1, 1)), _domain("b", labels=(0, 2, 1)))
    with pytest.raises(DataError, match="5 features"):
        check_compatible(_domain("a", dim=5), _domain("b", dim=3))
    check_compatible(_domain("a", "text"), _domain("b", "text"))  # via tf-idf
