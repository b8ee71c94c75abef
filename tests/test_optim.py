"""The DANN-paper protocol options: annealed learning rate, discriminator LR multiplier, optim group."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from da.losses.dann import DANNLoss
from da.methods.alignment import AlignmentModule, parameter_groups
from da.methods.lr_schedule import AnnealedLR, needs_total_steps


def test_annealed_lr_follows_ganins_formula_per_group():
    weights = [nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))]
    optimizer = torch.optim.SGD([{"params": [weights[0]]},
                                 {"params": [weights[1]], "lr": 0.5}], lr=0.01, momentum=0.9)
    scheduler = AnnealedLR(optimizer, total_steps=100)
    for step in range(131):
        p = min(step / 100, 1.0)
        expected = (1 + 10 * p) ** -0.75  # mu_p = mu_0 / (1 + 10 p)^0.75
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * expected)
        assert optimizer.param_groups[1]["lr"] == pytest.approx(0.5 * expected)
        optimizer.step()
        scheduler.step()
    # held at the final value past the planned number of steps
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 11 ** -0.75)


def test_annealed_lr_rejects_bad_arguments():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="total_steps"):
        AnnealedLR(optimizer, total_steps=0)


def test_needs_total_steps_only_for_progress_schedules():
    assert needs_total_steps(functools.partial(AnnealedLR, alpha=10))
    assert not needs_total_steps(functools.partial(AnnealedLR, total_steps=5))
    assert not needs_total_steps(functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1))


def _module(**kwargs) -> AlignmentModule:
    encoder = nn.Sequential(nn.Linear(4, 3))
    encoder.out_dim = 3
    return AlignmentModule(encoder, num_classes=2, alignment=DANNLoss(in_dim=3, hidden_dims=[5]),
                           optimizer=functools.partial(torch.optim.SGD, lr=0.1), **kwargs)


def test_discriminator_gets_its_own_learning_rate():
    module = _module(alignment_lr_scale=10.0, encoder_lr_scale=0.5)
    optimizer = module.configure_optimizers()
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert all(lr_of[id(p)] == pytest.approx(1.0) for p in module.alignment.parameters())
    assert all(lr_of[id(p)] == pytest.approx(0.05) for p in module.encoder.parameters())
    assert all(lr_of[id(p)] == pytest.approx(0.1) for p in module.head.parameters())
    # every trainable parameter is in exactly one group
    ids = [id(p) for g in optimizer.param_groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in module.parameters())


def test_parameter_groups_put_each_parameter_once():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    groups = parameter_groups(model, {model[0]: 0.1, None: 5.0, len: 3.0})  # len: a plain callable
    assert [g["lr_scale"] for g in groups] == [1.0, 0.1]
    assert [len(g["params"]) for g in groups] == [2, 2]


def test_optim_group_composes_the_papers_protocol(compose_cfg):
    cfg = compose_cfg(["optim=sgd_annealed", "encoder=mlp", "source=bow_books",
                       "target=bow_kitchen"])
    assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.optimizer.momentum == 0.9
    assert cfg.scheduler._target_ == "da.methods.lr_schedule.AnnealedLR" and cfg.scheduler_interval == "step"
    default = compose_cfg(["encoder=mlp", "source=bow_books", "target=bow_kitchen",
                           "method=source_only"])  # (DANN on vectors: its SGD recipe)
    assert default.optimizer._target_ == "torch.optim.Adam" and default.scheduler is None


def test_sgd_annealed_run_anneals_to_the_final_rate(compose_cfg, tmp_path):
    import numpy as np

    from da.run.build import build_datamodule, build_model, build_trainer
    rng = np.random.default_rng(0)
    for name in ("s", "t"):
        np.savez(tmp_path / f"{name}.npz", X=rng.standard_normal((200, 6)).astype(np.float32),
                 y=rng.integers(0, 2, 200))
    cfg = compose_cfg(["source=features", f"source.path={tmp_path / 's.npz'}", "target=features",
                       f"target.path={tmp_path / 't.npz'}", "encoder=mlp", "method=dann",
                       "optim=sgd_annealed", "benchmark=none",  # not DANN's vectors recipe
                       "trainer.max_epochs=2", "callbacks=none",
                       "trainer.enable_progress_bar=false", "data.batch_size=32"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    trainer = build_trainer(cfg, tmp_path, loggers=[])
    trainer.fit(model, datamodule=datamodule)
    scheduler = trainer.lr_scheduler_configs[0].scheduler
    assert isinstance(scheduler, AnnealedLR) and scheduler.total_steps == trainer.global_step > 0
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.01 * 11 ** -0.75)
