"""No target label reaches training or model selection: with every target label replaced, every
method trains the same weights and logs the same per-epoch scores, the oracles excepted."""

from __future__ import annotations

import copy

import pytest
import torch
from lightning.pytorch import Callback
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

from da.run.build import build_datamodule, build_model, build_trainer
from da.data.datamodule import DomainPairDataModule
from da.data.types import Split
from da.selection.callback import NAMES as VALIDATORS
from da.selection.checkpoint import rule_monitor
from tests.helpers import METHODS, QUICK, REPO

#: Every selection rule's monitored score (derived from the rule: da.selection.checkpoint).
RULE_MONITORS = {p.stem: None if p.stem == "last" else rule_monitor(p.stem)[0]
                 for p in (REPO / "conf" / "selection").glob("*.yaml")}
#: Logged metrics that read target labels (the oracles): they must change with them, nothing
#: else may.
ORACLES = {"select/oracle_target_acc", "val/target_acc_oracle"}
LABEL_FREE_SCORES = {"select/source_acc", "select/entropy", "select/iwv", "select/dev",
                     "select/snd", "select/prior_kl"}
TARGET_PARTS = ("target_train", "target_test")
_PREPARED: dict[str, DomainPairDataModule] = {}


class _EpochMetrics(Callback):
    """Every logged metric after each validation epoch, as the selection checkpoints see it
    (``ModelCheckpoint`` reads ``trainer.callback_metrics`` in ``on_validation_end``)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.epochs.append({k: float(v) for k, v in trainer.callback_metrics.items()})


def _prepared(cfg) -> DomainPairDataModule:
    """A fresh copy of the prepared datamodule (parsing the data once per session, not per fit)."""
    key = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, ["source", "target", "data", "encoder"]))
    if key not in _PREPARED:
        _PREPARED[key] = build_datamodule(cfg)
    return copy.deepcopy(_PREPARED[key])


def _fit(cfg, tmp_path, replace_target_labels: bool):
    """Train ``cfg``; with ``replace_target_labels`` every target label (training and test part)
    is replaced by another class right after the data is prepared, before anything reads it."""
    torch.manual_seed(cfg.seed)
    datamodule = _prepared(cfg)  # = build_datamodule(cfg): loaded, split, tensorized
    if replace_target_labels:  # every label becomes another class: not a permutation, so the
        for part in TARGET_PARTS:  # class counts change too (a leak through them is caught)
            split = datamodule.parts[part]
            datamodule.parts[part] = Split(split.x, (split.y + 1) % datamodule.num_classes)
    model = build_model(cfg, datamodule)
    init = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
    trainer = build_trainer(cfg, tmp_path, loggers=[])
    recorder = _EpochMetrics()
    trainer.callbacks.append(recorder)
    trainer.fit(model, datamodule=datamodule)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()
               if not k.startswith("metrics") and "test_f1" not in k}
    return init, weights, recorder.epochs, datamodule


@pytest.fixture
def one_thread():
    """One BLAS/OpenMP thread. With two on a busy 2-core machine, OpenBLAS's spinning threads make
    the validators' logistic regressions ~30x slower (0.15 s instead of 5 ms per fit); the runs
    compared use the same setting, so it changes no assertion."""
    threads = torch.get_num_threads()
    with threadpool_limits(1):
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(threads)


def test_every_selection_rule_reads_a_compared_score():
    """The isolation test below covers a rule only if its score is among those compared."""
    assert set(RULE_MONITORS) >= {"last", "source_acc", "entropy", "iwv", "dev", "snd", "oracle"}
    monitors = {m for m in RULE_MONITORS.values() if m is not None}
    assert monitors <= LABEL_FREE_SCORES | ORACLES, monitors - LABEL_FREE_SCORES - ORACLES
    assert {f"select/{name}" for name in VALIDATORS} == LABEL_FREE_SCORES | {
        "select/oracle_target_acc"}


@pytest.mark.parametrize("method", METHODS)
def test_target_labels_do_not_change_training(data_dir, compose_cfg, tmp_path, one_thread,
                                              method):
    """Replacing every target label leaves the trained weights and every per-epoch score but
    the oracles identical, so no method trains on target labels and no selection rule
    (each picks the best epoch by one select/* score) can choose by them."""
    cfg = compose_cfg([*QUICK, f"method={method}", "trainer.max_epochs=2", "callbacks=none",
                       "trainer.deterministic=true", "validators.enabled=true",
                       "data.oracle_val=true"])
    init, plain, plain_epochs, plain_dm = _fit(cfg, tmp_path / "a", replace_target_labels=False)
    _, replaced, replaced_epochs, replaced_dm = _fit(cfg, tmp_path / "b",
                                                     replace_target_labels=True)
    for part in TARGET_PARTS:  # the replacement reached the data the run used
        assert (plain_dm.parts[part].y != replaced_dm.parts[part].y).all(), part
    # the run did train: every trainable parameter moved from its initialization
    assert len(init) >= 4
    untrained = [k for k, v in init.items() if torch.equal(v, plain[k])]
    assert not untrained, f"{method}: did not train {untrained}"
    # the trained weights (encoder, heads, discriminators, buffers) are identical
    assert plain.keys() == replaced.keys()
    differ = [k for k in plain if not torch.equal(plain[k], replaced[k])]
    assert not differ, f"{method}: trained weights depend on the target labels: {differ}"
    # every score logged per epoch is identical, except the oracles, which do read the labels
    # (select/* are what the selection rules rank epochs by, see the test above)
    assert len(plain_epochs) == len(replaced_epochs) == 2
    oracles_changed = set()
    for epoch, (a, b) in enumerate(zip(plain_epochs, replaced_epochs)):
        assert a.keys() == b.keys() and a.keys() >= LABEL_FREE_SCORES | ORACLES, epoch
        changed = {k for k in a if a[k] != b[k]}
        assert changed <= ORACLES, (f"{method}, epoch {epoch}: changed with the target labels: "
                                    f"{sorted(changed - ORACLES)}")
        oracles_changed |= changed
    # the control: the oracles read the replaced labels (a binary accuracy a becomes 1 - a)
    assert oracles_changed == ORACLES, f"{method}: the label replacement reached no oracle"
