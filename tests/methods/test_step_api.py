"""The step API of AlignmentModule (da/methods/alignment.py) for methods with their own training
step (docs/EXTENDING.md §6): ``check_finite`` names the bad term, ``log_step`` and
``log_accuracy`` values reach the logged metrics, ``progress()`` counts batches under manual
optimization, SHOT reads the target part from its ``target_loader``, not the datamodule, and
the page's MCD yaml and own-step example match the code."""

from __future__ import annotations

import functools
import math
import re

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch import nn
from torch.utils.data import DataLoader

from da.errors import ConfigError, TrainingError
from da.methods.alignment import AlignmentModule
from da.methods.shot import SHOTModule
from tests.helpers import REPO, TINY, write_doc_example

NAN = torch.tensor(float("nan"))


class _Encoder(nn.Linear):
    def __init__(self) -> None:
        super().__init__(3, 2)
        self.out_dim = 2


class _OwnStep(AlignmentModule):
    """A method with its own step: two optimizer steps per batch (so ``global_step`` counts 2 per
    batch), logging through the public API only."""

    def __init__(self, **kwargs) -> None:
        super().__init__(_Encoder(), num_classes=2, **kwargs)
        self.automatic_optimization = False
        self.seen: list[float] = []

    def training_step(self, batch, batch_idx):
        (x_s, y_s), _ = batch["source"], batch["target"]
        self.seen.append(self.progress())
        optimizer = self.optimizers()
        for _ in range(2):
            optimizer.zero_grad()
            logits = self(x_s)
            loss = nn.functional.cross_entropy(logits, y_s)
            self.check_finite(loss, loss_cls=loss)
            self.manual_backward(loss)
            optimizer.step()
        self.log_step({"batch_number": float(batch_idx + 1), "loss_cls": loss},
                      batch_size=len(y_s))
        self.log_accuracy("always_right", torch.eye(2)[y_s], y_s)
        self.log_accuracy("never_right", torch.eye(2)[1 - y_s], y_s)


def _loaders(n: int = 10, batch_size: int = 4) -> CombinedLoader:
    g = torch.Generator().manual_seed(0)
    x_s, y_s, x_t = torch.randn(n, 3, generator=g), torch.arange(n) % 2, torch.randn(n, 3)
    source = DataLoader(list(zip(x_s, y_s)), batch_size=batch_size)
    return CombinedLoader({"source": source, "target": DataLoader(x_t, batch_size=batch_size)})


def _fit(model: L.LightningModule, tmp_path, epochs: int = 2) -> L.Trainer:
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(model, train_dataloaders=_loaders())
    return trainer


def test_check_finite_names_each_bad_term_only():
    model = AlignmentModule(_Encoder(), 2, method="mine")
    model.check_finite(torch.tensor(1.0), a=torch.tensor(0.5))  # finite: nothing happens
    with pytest.raises(TrainingError, match=r"method 'mine' .*: second is NaN/Inf "
                                            r"\(first=0.5, second=nan\)") as error:
        model.check_finite(NAN, first=torch.tensor(0.5), second=NAN)
    assert "first is" not in str(error.value) and "first," not in str(error.value)
    with pytest.raises(TrainingError, match=r": first, second is NaN/Inf"):
        model.check_finite(NAN, first=NAN, second=torch.tensor(float("inf")))
    with pytest.raises(TrainingError, match=r": the weighted sum is NaN/Inf \(first=1\)"):
        model.check_finite(NAN, first=torch.tensor(1.0))


def test_log_step_and_log_accuracy_reach_the_logged_metrics(tmp_path):
    """Batches of 4, 4 and 2 examples log 1, 2, 3: the epoch's value is their mean weighted by
    batch size, (4·1 + 4·2 + 2·3) / 10 = 1.8, under ``train/``."""
    model = _OwnStep()
    metrics = _fit(model, tmp_path).callback_metrics
    assert float(metrics["train/batch_number"]) == pytest.approx(1.8)
    assert "train/loss_cls" in metrics and "batch_number" not in metrics
    assert float(metrics["train/always_right"]) == 1.0
    assert float(metrics["train/never_right"]) == 0.0


def test_progress_counts_batches_under_manual_optimization(tmp_path):
    """2 epochs x 3 batches, 2 optimizer steps each: progress goes 0, 1/6, ..., 5/6 by batch,
    not by optimizer step (``global_step`` ends at 12)."""
    model = _OwnStep()
    assert model.progress() == 0.0  # outside a Trainer
    trainer = _fit(model, tmp_path)
    assert trainer.global_step == 12
    assert model.seen == pytest.approx([i / 6 for i in range(6)])


def test_shot_reads_its_target_loader_not_the_datamodule(tmp_path):
    """Fitted without a datamodule (``trainer.datamodule`` is None), SHOT computes its centroids
    from the inputs of ``target_loader``; without one, the epoch start is a ConfigError."""
    seen = []

    class Inputs(torch.utils.data.Dataset):  # the target part: inputs only, counted when read
        def __len__(self):
            return 6

        def __getitem__(self, i):
            seen.append(i)
            return torch.randn(3)

    model = SHOTModule(encoder=_Encoder(), num_classes=2,
                       target_loader=DataLoader(Inputs(), batch_size=4))
    trainer = _fit(model, tmp_path, epochs=2)
    assert trainer.datamodule is None
    assert sorted(seen) == sorted(list(range(6)) * 2)  # the whole part, once per epoch
    assert int(model.centroid_epoch) == 1
    torch.testing.assert_close(model.centroids.norm(dim=1), torch.ones(2))
    with pytest.raises(ConfigError, match="SHOT.*target_loader"):
        _fit(SHOTModule(encoder=_Encoder(), num_classes=2), tmp_path / "none", epochs=1)


def test_build_model_gives_the_target_inputs_without_labels(data_dir, compose_cfg):
    from da.run.build import build_datamodule, build_model

    cfg = compose_cfg([*TINY, "method=shot"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    batches = list(model.target_loader)
    assert all(isinstance(x, torch.Tensor) for x in batches)  # no (x, y) pairs
    expected = datamodule.parts["target_train"].x
    torch.testing.assert_close(torch.cat(batches), torch.as_tensor(expected))


@pytest.mark.parametrize("module", [AlignmentModule, functools.partial(SHOTModule, beta=0.3)])
def test_num_classes_is_public(module):
    assert module(encoder=_Encoder(), num_classes=5).num_classes == 5


def test_extending_shows_the_real_mcd_yaml():
    doc = (REPO / "docs" / "EXTENDING.md").read_text()
    section = doc[doc.index("## 6. "):]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    assert (REPO / "conf" / "method" / "mcd.yaml").read_text() in blocks


def test_the_documented_own_step_method_trains(data_dir, compose_cfg, tmp_path, monkeypatch):
    """docs/EXTENDING.md §6's example (mine/my_methods.py + its yaml) in a real fit: two
    optimizer steps per batch, the standard columns logged."""
    from da.run.build import build_datamodule, build_model, build_trainer

    write_doc_example(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    cfg = compose_cfg([*TINY, f"hydra.searchpath=[file://{tmp_path / 'mine' / 'conf'}]",
                       "method=alt_entropy", "callbacks=none"])
    L.seed_everything(0, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    trainer = build_trainer(cfg, tmp_path / "run", loggers=[])
    trainer.fit(model, datamodule=datamodule)
    metrics = trainer.callback_metrics
    assert trainer.global_step == 2 * trainer.num_training_batches
    assert float(metrics["train/align_weight"]) == pytest.approx(0.1)
    for key in ("train/loss", "train/loss_cls", "train/loss_align", "train/source_acc"):
        assert math.isfinite(float(metrics[key])), key
    assert 0.0 <= float(metrics["train/source_acc"]) <= 1.0
