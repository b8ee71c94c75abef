"""Prefix cache for encoder.freeze=N: split forward, cached vs live training, cache keys."""

from __future__ import annotations

import json
import logging

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from da.run.build import build_data, build_model
from da.data.cache import PrefixCache
from da.data.batching import PrefixCollate, TokenStates
from da.encoders.hf import HFBackbone, TextEncoder
from da.encoders.hf_prefix import PrefixCachedTextEncoder, check_split, encode_prefix
from da.encoders.mlp import MLPEncoder
from da.errors import ConfigError
from tests.helpers import built_encoder, da_train, run_dirs

TEXTS = ["a wonderful, moving film", "the battery died after two days, and support never called",
         "", "ok", "word " * 40]
SMALL = ["source=uci_imdb", "target=uci_amazon", "encoder=minilm", "source.max_examples=30",
         "target.max_examples=20", "encoder.backbone.max_length=32", "data.batch_size=8"]


@pytest.fixture(scope="module")
def backbone() -> HFBackbone:
    return HFBackbone("minilm", max_length=32, freeze=4, normalize=True)


def padded_states(backbone: HFBackbone, texts: list[str], dtype: str = "float32") -> dict:
    """The batch the datamodule serves for ``texts``: cached states, padded by PrefixCollate."""
    states, lengths = encode_prefix(backbone, texts, batch_size=2, dtype=dtype)
    items = TokenStates(states, np.concatenate([[0], np.cumsum(lengths)]))
    return PrefixCollate()([items[i] for i in range(len(texts))])


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_prefix_then_suffix_equals_full_forward(backbone, pooling, monkeypatch):
    monkeypatch.setattr(backbone, "pooling", pooling)
    backbone.eval()
    tokens = backbone.tokenize(TEXTS)
    with torch.no_grad():
        full = backbone(tokens)
        split = backbone.forward_suffix(backbone.forward_prefix(tokens), tokens["attention_mask"])
        # per-text states without padding, computed in other batches, re-padded per batch
        cached = backbone.forward_suffix(**padded_states(backbone, TEXTS))
    assert torch.allclose(split, full, atol=1e-5) and torch.allclose(cached, full, atol=1e-5)
    check_split(backbone)  # the build-time probe passes


def test_frozen_prefix_stays_in_eval_mode(backbone):
    backbone.train()
    layers = backbone.model.encoder.layer
    assert not backbone.model.embeddings.training
    assert [layer.training for layer in layers] == [False] * 4 + [True] * 2
    backbone.eval()


def test_cached_and_live_give_same_loss_and_gradients(backbone):
    torch.manual_seed(0)
    top = MLPEncoder(backbone.out_dim, [16])
    labels = torch.tensor([0, 1, 0, 1, 1])
    tokens, states = backbone.tokenize(TEXTS), padded_states(backbone, TEXTS)
    assert states["hidden_states"].shape[1] == tokens["input_ids"].shape[1]

    def loss_and_grads(encoder, batch):
        encoder.train()  # suffix and MLP dropout on: same seed -> same masks on both paths
        encoder.zero_grad()
        torch.manual_seed(1)
        loss = F.cross_entropy(encoder(batch)[:, :2], labels)
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in encoder.named_parameters()
                             if p.grad is not None}

    live_loss, live = loss_and_grads(TextEncoder(backbone, top), tokens)
    cached_loss, cached = loss_and_grads(PrefixCachedTextEncoder(backbone, top), states)
    assert cached.keys() == live.keys() and any(".layer.5." in n for n in live)
    assert not any(".layer.3." in n or "embeddings" in n for n in live)
    assert cached_loss == pytest.approx(live_loss, abs=1e-5)
    for name in live:
        assert torch.allclose(cached[name], live[name], rtol=1e-4, atol=1e-6), name
    # float16 storage (the default) rounds the states: close, not equal
    half_loss, half = loss_and_grads(PrefixCachedTextEncoder(backbone, top),
                                     padded_states(backbone, TEXTS, "float16"))
    assert half_loss == pytest.approx(live_loss, rel=1e-3)
    for name in live:
        assert (half[name] - live[name]).norm() <= 0.02 * live[name].norm() + 1e-6, name
    backbone.eval()


def test_build_serves_cached_states_and_trains_like_live_path(data_dir, compose_cfg, tmp_path):
    def one_batch_grads(prefix_cache: bool):
        cfg = compose_cfg([*SMALL, "encoder.freeze=4", f"cache_dir={tmp_path / 'cache'}",
                           f"encoder.prefix_cache={str(prefix_cache).lower()}"])
        L.seed_everything(0, verbose=False)
        datamodule, side = build_data(cfg)
        encoder, info = side.encoder(datamodule.input_dim)
        model = build_model(cfg, datamodule, encoder)
        x, y = next(iter(datamodule.val_dataloader()[0]))
        model.train()
        torch.manual_seed(1)
        F.cross_entropy(model(x), y).backward()
        return encoder, info, model, {n: p.grad for n, p in model.named_parameters()
                                      if p.grad is not None}

    cached_encoder, info, model, cached = one_batch_grads(True)
    assert isinstance(cached_encoder, PrefixCachedTextEncoder)
    assert info == {"cache/hits": 0, "cache/misses": 4}
    # the optimizer still scales the LR of the trainable backbone layers
    groups = model.configure_optimizers().param_groups
    # groups: heads and adapters at the base LR, the backbone at 0.05x, the discriminator (DANN,
    # method.alignment_lr_scale=1) at 1x
    assert len(groups) == 3 and groups[1]["lr"] == pytest.approx(groups[0]["lr"] * 0.05)
    assert groups[2]["lr"] == pytest.approx(groups[0]["lr"])
    assert {id(p) for p in groups[2]["params"]} == {id(p) for p in model.alignment.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {
        id(p) for p in cached_encoder.backbone.parameters() if p.requires_grad}
    live_encoder, live_info, _, live = one_batch_grads(False)
    assert isinstance(live_encoder, TextEncoder) and live_info == {}
    assert cached.keys() == live.keys()
    for name in live:  # float16 states: close, not equal
        assert (cached[name] - live[name]).norm() <= 0.02 * live[name].norm() + 1e-6, name


def test_cache_hits_on_rebuild_and_misses_when_n_or_max_length_change(data_dir, compose_cfg,
                                                                       tmp_path):
    def info(*overrides):
        cfg = compose_cfg([*SMALL, f"cache_dir={tmp_path}", *overrides])
        return built_encoder(cfg)[1]

    assert info("encoder.freeze=4") == {"cache/hits": 0, "cache/misses": 4}
    assert info("encoder.freeze=4") == {"cache/hits": 4, "cache/misses": 0}
    assert info("encoder.freeze=3") == {"cache/hits": 0, "cache/misses": 4}
    assert info("encoder.freeze=4", "encoder.backbone.max_length=24") == {
        "cache/hits": 0, "cache/misses": 4}
    assert len(list((tmp_path / "prefix").glob("*.lengths.npy"))) == 12


def test_unsplittable_backbone_falls_back_with_warning(data_dir, compose_cfg, monkeypatch,
                                                       caplog):
    backbone = HFBackbone("minilm", max_length=16, freeze=2)
    del backbone.model.embeddings
    with pytest.raises(ConfigError, match="supports BERT-like encoders"):
        check_split(backbone)

    def refuse(backbone):
        raise ConfigError("cannot split FancyModel after its frozen layers")

    monkeypatch.setattr("da.encoders.text.check_split", refuse)
    cfg = compose_cfg([*SMALL, "encoder.freeze=2"])
    with caplog.at_level(logging.WARNING, logger="da.encoders.text"):
        encoder, info = built_encoder(cfg)
    assert isinstance(encoder, TextEncoder) and info == {}
    assert "cannot split FancyModel after its frozen layers; prefix cache off" in caplog.text


def test_corrupt_prefix_cache_files_are_recomputed(tmp_path, caplog):
    calls = []

    def compute(texts):
        calls.append(len(texts))
        lengths = np.array([len(t) + 2 for t in texts])
        return np.arange(lengths.sum() * 3, dtype=np.float32).reshape(-1, 3), lengths

    cache = PrefixCache(tmp_path)
    states, offsets = cache.get("enc", ["ab", "c"], compute, dim=3)
    assert states.dtype == np.float16 and states.shape == (7, 3) and list(offsets) == [0, 4, 7]
    again, _ = cache.get("enc", ["ab", "c"], compute, dim=3)
    assert np.array_equal(again, states) and (cache.hits, cache.misses) == (1, 1)
    (states_path,) = (tmp_path / "prefix").glob("*[0-9a-f].npy")
    (lengths_path,) = (tmp_path / "prefix").glob("*.lengths.npy")
    for path in (states_path, lengths_path):
        path.write_bytes(b"not a numpy file")
        with caplog.at_level(logging.WARNING, logger="da.data.cache"):
            fresh, _ = cache.get("enc", ["ab", "c"], compute, dim=3)
        assert np.array_equal(fresh, states) and "unreadable" in caplog.text
    np.save(states_path, np.zeros((5, 3), np.float16))  # fits no more: wrong token count
    cache.get("enc", ["ab", "c"], compute, dim=3)
    assert (cache.hits, cache.misses) == (1, 4) and calls == [2, 2, 2, 2]
    assert np.load(states_path).shape == (7, 3)  # rewritten
    cache.get("enc", ["ab", "c"], compute, dim=3)
    assert cache.hits == 2


def test_train_cli_with_prefix_cache(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DA_CACHE_DIR", str(tmp_path / "cache"))
    result = da_train(["source=uci_imdb", "target=uci_amazon", "encoder=minilm",
                       "encoder.freeze=5", "source.max_examples=100", "target.max_examples=100",
                       "trainer.max_epochs=1", "trainer.enable_progress_bar=false"],
                      tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dirs(tmp_path / "out")[0] / "metrics.json").read_text())
    assert metrics["cache/misses"] == 4 and metrics["cache/hits"] == 0
    assert np.isfinite(metrics["test/target_acc"]) and metrics["train/steps"] >= 1
    assert len(list((tmp_path / "cache" / "prefix").glob("*.lengths.npy"))) == 4
