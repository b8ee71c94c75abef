"""MCD (da/methods/mcd.py): what each of the three steps trains, the discrepancy, the two
optimizers, and the `module` hook of method configs (MCD's end-to-end run is in
tests/test_train.py)."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import nn

from da.errors import ConfigError
from da.losses import MMDLoss
from da.methods.mcd import MCDModule, discrepancy
from tests.helpers import TinyEncoder


def _model(num_k: int = 4, lr: float = 0.05, **kwargs) -> MCDModule:
    torch.manual_seed(0)
    return MCDModule(encoder=TinyEncoder(), num_classes=3, num_k=num_k,
                     optimizer=functools.partial(torch.optim.SGD, lr=lr), **kwargs)


def _batch(m: int = 8, n: int = 7, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x_s, x_t = torch.randn(m, 6, generator=g), torch.randn(n, 6, generator=g) + 1.0
    return x_s, torch.randint(0, 3, (m,), generator=g), x_t


def _snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def _parts(model: MCDModule):
    return model.encoder, model.head, model.head2


def test_discrepancy_is_mean_absolute_probability_difference():
    l1 = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    l2 = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    p = torch.sigmoid(torch.tensor(2.0)).item()
    expected = (0 + 0 + 2 * abs(p - (1 - p))) / 4
    assert discrepancy(l1, l2).item() == pytest.approx(expected)
    assert discrepancy(l1, l1).item() == 0.0


def test_second_head_is_an_independent_copy():
    model = _model()
    assert type(model.head2) is type(model.head)
    assert [p.shape for p in model.head2.parameters()] == [p.shape for p in model.head.parameters()]
    assert not torch.equal(model.head[0].weight, model.head2[0].weight)
    assert model.automatic_optimization is False


def test_two_optimizers_split_generator_and_heads():
    model = _model(encoder_lr_scale=0.1)
    opt_g, opt_f = model.configure_optimizers()
    ids_g = {id(p) for group in opt_g.param_groups for p in group["params"]}
    ids_f = {id(p) for group in opt_f.param_groups for p in group["params"]}
    assert ids_g == {id(p) for p in model.encoder.parameters()}
    assert ids_f == {id(p) for p in [*model.head.parameters(), *model.head2.parameters()]}
    assert opt_f.param_groups[0]["lr"] == pytest.approx(0.05)
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.005)


def test_step_a_trains_generator_and_both_heads():
    model = _model()
    opt_g, opt_f = model.configure_optimizers()
    before = [_snapshot(part) for part in _parts(model)]
    x_s, y_s, _ = _batch()
    out = model.step_a(x_s, y_s, opt_g, opt_f)
    assert all(_changed(b, part) for b, part in zip(before, _parts(model)))
    assert torch.isfinite(out["ce_1"]) and torch.isfinite(out["ce_2"])


def test_step_b_trains_heads_only_and_raises_the_discrepancy():
    model = _model(lr=0.01)
    opt_g, opt_f = model.configure_optimizers()
    x_s, y_s, x_t = _batch()
    encoder, head, head2 = (_snapshot(part) for part in _parts(model))

    def objective():
        with torch.no_grad():
            f_s, f_t = model.encoder(x_s), model.encoder(x_t)
            ce = sum(nn.functional.cross_entropy(h(f_s), y_s) for h in (model.head, model.head2))
            return ce - discrepancy(model.head(f_t), model.head2(f_t))

    start = objective()
    disc = model.step_b(x_s, y_s, x_t, 1.0, opt_g, opt_f)
    assert not _changed(encoder, model.encoder)
    assert _changed(head, model.head) and _changed(head2, model.head2)
    assert objective() < start and disc > 0
    assert all(p.grad is None for p in model.parameters())  # nothing left for the next step


def test_step_c_trains_generator_only_num_k_times_and_lowers_the_discrepancy():
    model = _model(num_k=3, lr=0.05)
    opt_g, opt_f = model.configure_optimizers()
    opt_g = torch.optim.Adam(model.encoder.parameters(), lr=1e-2)  # counts its steps
    x_s, y_s, x_t = _batch()
    encoder, head, head2 = (_snapshot(part) for part in _parts(model))
    with torch.no_grad():
        start = discrepancy(model.head(model.encoder(x_t)), model.head2(model.encoder(x_t)))
    model.step_c(x_t, 1.0, opt_g, opt_f)
    assert _changed(encoder, model.encoder)
    assert not _changed(head, model.head) and not _changed(head2, model.head2)
    steps = {int(opt_g.state[p]["step"]) for p in model.encoder.parameters()}
    assert steps == {3}
    with torch.no_grad():
        end = discrepancy(model.head(model.encoder(x_t)), model.head2(model.encoder(x_t)))
    assert end < start
    assert all(p.grad is None for p in model.parameters())


def test_weight_zero_leaves_generator_unchanged_in_step_c():
    model = _model()
    opt_g, opt_f = model.configure_optimizers()
    _, _, x_t = _batch()
    encoder = _snapshot(model.encoder)
    model.step_c(x_t, 0.0, opt_g, opt_f)
    assert not _changed(encoder, model.encoder)  # SGD without weight decay: zero gradient


def test_forward_is_the_two_heads_ensemble():
    model = _model()
    x, _, _ = _batch()
    logits = model(x)
    f = model.encoder(x)
    mean = (torch.softmax(model.head(f), 1) + torch.softmax(model.head2(f), 1)) / 2
    torch.testing.assert_close(logits.exp(), mean)
    torch.testing.assert_close(logits.exp().sum(1), torch.ones(len(x)))


def test_mcd_rejects_an_alignment_loss_and_bad_num_k():
    with pytest.raises(ConfigError, match="method.loss=null"):
        _model(alignment=MMDLoss())
    with pytest.raises(ConfigError, match="num_k"):
        _model(num_k=0)


def test_training_step_in_a_trainer(tmp_path):
    """A full Lightning fit on synthetic data: manual optimization, logs, progress by batches."""
    import lightning as L
    from torch.utils.data import DataLoader

    seen: list[float] = []
    model = _model(num_k=2, align_weight=lambda p: seen.append(p) or 1.0)
    x_s, y_s, x_t = _batch(32, 32)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            return {"source": (x_s[i], y_s[i]), "target": x_t[i]}

    def fit(**limits) -> L.Trainer:
        seen.clear()
        trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            default_root_dir=str(tmp_path), **limits)
        trainer.fit(model, train_dataloaders=DataLoader(Pairs(), batch_size=8))
        return trainer

    trainer = fit(max_epochs=2)
    metrics = trainer.callback_metrics
    for key in ("train/loss_cls", "train/loss_align", "train/align_weight",
                "train/align/discrepancy_generator"):
        assert math.isfinite(float(metrics[key])), key
    assert trainer.global_step == 2 * 4 * (3 + 2)  # optimizer steps: 3 + num_k per batch
    assert seen == pytest.approx([i / 8 for i in range(8)])  # progress counts batches
    # max_steps counts optimizer steps: 30 = 6 batches, over which progress runs from 0 to 1
    model = _model(num_k=2, align_weight=lambda p: seen.append(p) or 1.0)
    trainer = fit(max_steps=6 * (3 + 2), max_epochs=-1)
    assert trainer.global_step == 30
    assert seen == pytest.approx([i / 6 for i in range(6)])


def test_build_model_uses_the_module_hook_and_fills_num_classes(compose_cfg):
    from types import SimpleNamespace

    from da.run.build import build_model
    from da.encoders import MLPEncoder
    from da.losses import CDANLoss

    data = SimpleNamespace(num_classes=2, loader=lambda part, labels: [])
    cfg = compose_cfg(["method=mcd", "encoder=mlp"])
    model = build_model(cfg, data, MLPEncoder(in_dim=7, hidden_dims=[cfg.encoder.out_dim]))
    assert isinstance(model, MCDModule) and model.num_k == 4
    for method, entropy in (("cdan", False), ("cdan_e", True)):
        cfg = compose_cfg([f"method={method}", "encoder=mlp"])
        model = build_model(cfg, data, MLPEncoder(in_dim=7, hidden_dims=[cfg.encoder.out_dim]))
        assert type(model).__name__ == "AlignmentModule"
        assert isinstance(model.alignment, CDANLoss) and model.alignment.num_classes == 2
        assert model.alignment.entropy_conditioning is entropy
