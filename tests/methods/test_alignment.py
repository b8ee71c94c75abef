"""AlignmentModule (da/methods/alignment.py) in a real fit: a NaN alignment loss stops training
with the step and the term."""

from __future__ import annotations

import pytest

from da.run.build import build_datamodule, build_model, build_trainer
from da.errors import TrainingError
from tests.helpers import QUICK


def test_nan_loss_stops_with_step_and_term(data_dir, compose_cfg, tmp_path):
    cfg = compose_cfg([*QUICK, "method=coral", "callbacks=none"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    original = model.alignment.forward
    model.alignment.forward = lambda **kw: original(**kw) * float("nan")
    trainer = build_trainer(cfg, tmp_path, loggers=[])
    with pytest.raises(TrainingError, match=r"step 0 .*'coral'.*loss_align is NaN/Inf"):
        trainer.fit(model, datamodule=datamodule)
