"""The DataModule and AlignmentModule in-process: batch structure, label isolation, checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.build import build_datamodule, build_model, build_trainer
from da.data.datamodule import check_compatible
from da.data.types import DomainData, Split
from da.errors import ConfigError, DataError, TrainingError
from tests.conftest import QUICK


def _fit(cfg, tmp_path, permute_target_labels: bool):
    torch.manual_seed(cfg.seed)
    datamodule = build_datamodule(cfg)
    if permute_target_labels:
        rng = np.random.default_rng(123)
        for part in ("target_train", "target_test"):
            split = datamodule.parts[part]
            datamodule.parts[part] = Split(split.x, rng.permutation(split.y))
    model = build_model(cfg, datamodule)
    trainer = build_trainer(cfg, tmp_path, loggers=[])
    trainer.fit(model, datamodule=datamodule)
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("method", ["dann", "mmd"])
def test_target_labels_do_not_change_training(data_dir, compose_cfg, tmp_path, method):
    cfg = compose_cfg([*QUICK, f"method={method}", "trainer.max_epochs=1", "callbacks=none",
                       "trainer.deterministic=true"])
    plain = _fit(cfg, tmp_path / "a", permute_target_labels=False)
    permuted = _fit(cfg, tmp_path / "b", permute_target_labels=True)
    weights = [k for k in plain if not k.startswith("metrics") and "test_f1" not in k]
    assert len(weights) >= 4
    for key in weights:
        assert torch.equal(plain[key], permuted[key]), key
    # and the run did train: weights moved away from a fresh initialization
    torch.manual_seed(cfg.seed)
    fresh = build_model(cfg, build_datamodule(cfg)).state_dict()
    assert not torch.equal(fresh["head.0.weight"], plain["head.0.weight"])


def test_training_batches_hold_no_target_labels(data_dir, compose_cfg):
    datamodule = build_datamodule(compose_cfg(QUICK))
    batch = next(iter(datamodule.train_dataloader()))[0]
    x_s, y_s = batch["source"]
    assert isinstance(batch["target"], torch.Tensor) and batch["target"].dim() == 2
    assert x_s.shape == (64, 5000) and y_s.shape == (64,)
    assert datamodule.input_dim == 5000 and datamodule.num_classes == 2
    sizes = {k: len(v) for k, v in datamodule.parts.items()}
    assert sizes == {"source_train": 360, "source_val": 40, "target_train": 400, "target_test": 400}


def test_nan_loss_stops_with_step_and_term(data_dir, compose_cfg, tmp_path):
    cfg = compose_cfg([*QUICK, "method=coral", "callbacks=none"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    original = model.alignment.forward
    model.alignment.forward = lambda **kw: original(**kw) * float("nan")
    trainer = build_trainer(cfg, tmp_path, loggers=[])
    with pytest.raises(TrainingError, match=r"step 0 .*'coral'.*loss_align is NaN/Inf"):
        trainer.fit(model, datamodule=datamodule)


def _domain(name, modality="vectors", classes=("negative", "positive"), labels=(0, 1), dim=3):
    x = np.zeros((len(labels), dim), dtype=np.float32)
    split = Split(x if modality != "text" else ["a"] * len(labels), np.array(labels))
    return DomainData(name, modality, split, split, classes=list(classes))


def test_compatibility_checks():
    with pytest.raises(ConfigError, match="holds text but the encoder takes images"):
        check_compatible(_domain("a", "text"), _domain("b", "text"), "images")
    with pytest.raises(DataError, match="label sets differ"):
        check_compatible(_domain("a"), _domain("b", classes=("bad", "good")), "vectors")
    with pytest.raises(DataError, match=r"labels \[2\] that never occur"):
        check_compatible(_domain("a", labels=(0, 1, 1)), _domain("b", labels=(0, 2, 1)), "vectors")
    with pytest.raises(DataError, match="5 features"):
        check_compatible(_domain("a", dim=5), _domain("b", dim=3), "vectors")
    check_compatible(_domain("a", "text"), _domain("b", "text"), "vectors")  # via tf-idf
