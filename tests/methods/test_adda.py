"""ADDA (da/methods/adda.py): the switch copies the encoder, stage 2 leaves M_s and C fixed, the
discriminator and mapping losses against an independent BCE, target predictions from M_t, and a
stage-2 checkpoint (the adaptation test is tests/test_adaptation.py)."""

from __future__ import annotations

import functools
import math

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from da.errors import ConfigError
from da.losses import MMDLoss
from da.methods.adda import ADDAModule
from tests.helpers import TinyEncoder


def _model(**kwargs) -> ADDAModule:
    torch.manual_seed(0)
    kwargs.setdefault("adversary_optimizer", functools.partial(torch.optim.SGD, lr=0.1))
    return ADDAModule(encoder=TinyEncoder(), num_classes=3, disc_hidden_dims=[4],
                      optimizer=functools.partial(torch.optim.SGD, lr=0.1), **kwargs)


def _batch(m: int = 8, n: int = 7, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x_s, x_t = torch.randn(m, 6, generator=g), torch.randn(n, 6, generator=g) + 1.0
    return x_s, torch.randint(0, 3, (m,), generator=g), x_t


def _snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in module.state_dict().values()]


def _same(before: list[torch.Tensor], module: nn.Module) -> bool:
    return all(torch.equal(a, b) for a, b in zip(before, module.state_dict().values()))


def _np_bce(logits: np.ndarray, label: float) -> float:
    """Mean of ``−y log σ(z) − (1−y) log(1 − σ(z))``, in float64."""
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return float(np.mean(-label * np.log(p) - (1 - label) * np.log(1 - p)))


def _switched(**kwargs):
    model = _model(**kwargs)
    opt_src, opt_adv = model.configure_optimizers()
    x_s, y_s, x_t = _batch()
    model.source_step(x_s, y_s, opt_src)  # stage 1 trains the encoder away from its init
    model.switch()
    return model, opt_adv, (x_s, y_s, x_t)


def test_switch_makes_an_exact_copy_and_stage_two():
    model, _, _ = _switched()
    assert model.switched and int(model.stage) == 2
    for a, b in zip(model.encoder.state_dict().values(),
                    model.source_encoder.state_dict().values()):
        assert torch.equal(a, b)
    assert model.automatic_optimization is False


def test_stage_one_trains_encoder_and_head_only():
    model = _model()
    opt_src, _ = model.configure_optimizers()
    enc, head, disc = (_snapshot(m) for m in (model.encoder, model.head, model.discriminator))
    x_s, y_s, _ = _batch()
    model.source_step(x_s, y_s, opt_src)
    assert not _same(enc, model.encoder) and not _same(head, model.head)
    assert _same(disc, model.discriminator) and not model.switched


def test_stage_two_leaves_source_encoder_and_head_bit_exact():
    model, opt_adv, (x_s, _, x_t) = _switched()
    m_s, head = _snapshot(model.source_encoder), _snapshot(model.head)
    m_t, disc = _snapshot(model.encoder), _snapshot(model.discriminator)
    for _ in range(3):
        model.adversarial_step(x_s, x_t, 1.0, opt_adv)
    assert _same(m_s, model.source_encoder) and _same(head, model.head)
    assert not _same(m_t, model.encoder) and not _same(disc, model.discriminator)
    assert all(p.grad is None for p in model.parameters())


def test_discriminator_loss_is_bce_source_one_target_zero():
    model, opt_adv, (x_s, _, x_t) = _switched()
    with torch.no_grad():
        d_s = model.discriminator(model.source_encoder(x_s)).numpy()
        d_t = model.discriminator(model.encoder(x_t)).numpy()
    out = model.adversarial_step(x_s, x_t, 1.0, opt_adv)
    expected = _np_bce(d_s, 1.0) + _np_bce(d_t, 0.0)
    assert out["align/loss_disc"].item() == pytest.approx(expected, rel=1e-5)
    hits = (d_s > 0).sum() + (d_t <= 0).sum()
    assert out["align/disc_acc"].item() == pytest.approx(hits / (len(d_s) + len(d_t)))


def test_mapping_loss_uses_inverted_labels_and_moves_target_toward_source():
    model, opt_adv, (x_s, _, x_t) = _switched()
    with torch.no_grad():
        d_t = model.discriminator(model.encoder(x_t)).numpy()
    out = model.adversarial_step(x_s, x_t, 1.0, opt_adv)
    assert out["loss_align"].item() == pytest.approx(_np_bce(d_t, 1.0), rel=1e-5)
    assert out["loss_align"].item() != pytest.approx(_np_bce(d_t, 0.0), rel=1e-3)
    # M_t alone against the old D: its step lowered BCE(D(M_t(x_t)), 1)
    model2, _, _ = _switched()
    before = _snapshot(model2.discriminator)
    frozen_disc = torch.optim.SGD([{"params": model2.encoder.parameters(), "lr": 0.1},
                                   {"params": model2.discriminator.parameters(), "lr": 0.0}])
    model2.adversarial_step(x_s, x_t, 1.0, frozen_disc)
    assert _same(before, model2.discriminator)
    with torch.no_grad():
        after = model2.discriminator(model2.encoder(x_t)).numpy()
    assert _np_bce(after, 1.0) < _np_bce(d_t, 1.0)


def test_weight_zero_leaves_target_encoder_unchanged():
    model, opt_adv, (x_s, _, x_t) = _switched()
    m_t = _snapshot(model.encoder)
    model.adversarial_step(x_s, x_t, 0.0, opt_adv)
    assert _same(m_t, model.encoder)  # SGD without weight decay: zero gradient


def test_predictions_target_from_m_t_source_from_m_s():
    model, opt_adv, (x_s, _, x_t) = _switched()
    for _ in range(3):
        model.adversarial_step(x_s, x_t, 1.0, opt_adv)
    with torch.no_grad():
        torch.testing.assert_close(model(x_t), model.head(model.encoder(x_t)))
        torch.testing.assert_close(model.source_logits(x_s),
                                   model.head(model.source_encoder(x_s)))
        assert not torch.allclose(model(x_t), model.head(model.source_encoder(x_t)))
    fresh = _model()  # before the switch both are the one encoder
    torch.testing.assert_close(fresh.source_logits(x_s), fresh(x_s))


def test_optimizers_split_the_parts():
    model = _model(encoder_lr_scale=0.5)
    opt_src, opt_adv = model.configure_optimizers()

    def ids(groups):
        return {id(p) for group in groups for p in group["params"]}

    enc = {id(p) for p in model.encoder.parameters()}
    disc = {id(p) for p in model.discriminator.parameters()}
    assert ids(opt_src.param_groups) == enc | {id(p) for p in model.head.parameters()}
    map_group, disc_group = opt_adv.param_groups  # M_t at encoder_lr_scale, then D
    assert ids([map_group]) == enc and map_group["lr"] == pytest.approx(0.05)
    assert ids([disc_group]) == disc and disc_group["lr"] == pytest.approx(0.1)
    default = ADDAModule(encoder=TinyEncoder(), num_classes=3).configure_optimizers()[1]
    for group in default.param_groups:  # the authors' Adam for M_t and for D
        assert group["lr"] == pytest.approx(2e-4) and group["betas"] == (0.5, 0.999)


def test_rejects_a_loss_a_bad_fraction_and_a_scheduler():
    with pytest.raises(ConfigError, match="method.loss=null"):
        _model(alignment=MMDLoss())
    with pytest.raises(ConfigError, match="source_fraction"):
        _model(source_fraction=1.0)
    with pytest.raises(ConfigError, match="scheduler=null"):
        _model(scheduler=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1))


class _Pairs(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.x_s, self.y_s, self.x_t = _batch(32, 32)

    def __len__(self) -> int:
        return 32

    def __getitem__(self, i: int):
        return {"source": (self.x_s[i], self.y_s[i]), "target": self.x_t[i]}


def _trainer(tmp_path, epochs: int) -> L.Trainer:
    return L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                     enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=str(tmp_path))


def test_two_stages_in_a_trainer_and_a_stage_two_checkpoint(tmp_path):
    """Stage 1 for the first half of the batches, then stage 2; a checkpoint saved in stage 2
    gives back the stage, M_s and M_t."""
    model = _model(source_fraction=0.5)
    trainer = _trainer(tmp_path, 2)  # 2 epochs x 4 batches: the switch at batch 4
    trainer.fit(model, train_dataloaders=DataLoader(_Pairs(), batch_size=8))
    assert model.switched
    assert trainer.global_step == 8  # one optimizer step per batch in both stages
    metrics = trainer.callback_metrics
    for key in ("train/loss_align", "train/align/loss_disc", "train/align/disc_acc"):
        assert math.isfinite(float(metrics[key])), key
    assert float(metrics["train/align/stage"]) == 2.0
    path = tmp_path / "stage2.ckpt"
    trainer.save_checkpoint(path)
    state = torch.load(path, weights_only=False)["state_dict"]
    fresh = _model()
    assert not fresh.switched
    fresh.load_state_dict(state)
    assert fresh.switched
    for name in ("encoder", "source_encoder", "head", "discriminator"):
        for a, b in zip(getattr(fresh, name).state_dict().values(),
                        getattr(model, name).state_dict().values()):
            assert torch.equal(a, b), name


def test_max_steps_counts_batches_of_both_stages(tmp_path):
    """trainer.max_steps=N is N batches: N/2 source + N/2 adaptation with source_fraction 0.5
    (the recipe's 20,000 steps are ADDA's 10,000 + 10,000 iterations)."""
    model = _model(source_fraction=0.5)
    stages: list[int] = []
    step = model.training_step

    def recording_step(batch, batch_idx):
        out = step(batch, batch_idx)
        stages.append(int(model.stage))
        return out

    model.training_step = recording_step
    trainer = L.Trainer(max_steps=10, max_epochs=-1, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(model, train_dataloaders=DataLoader(_Pairs(), batch_size=8))
    assert stages == [1] * 5 + [2] * 5 and trainer.global_step == 10

