"""``encoder.backbone.max_length=auto``: the truncation length taken from the training texts."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from da.run.build import build_datamodule
from da.encoders.hf import HFBackbone
from da.encoders.max_length import (check_max_length, covering_length, length_from_data,
                                    model_length_limit)
from da.errors import ConfigError
from tests.helpers import assert_clean_error, built_encoder, da_train

SMALL = ["source=uci_imdb", "target=uci_amazon", "encoder=minilm", "source.max_examples=30",
         "target.max_examples=20", "data.batch_size=8"]


@pytest.mark.parametrize("coverage,expected",
                         [(0.99, 99), (0.985, 99), (1.0, 100), (0.5, 50), (0.001, 1)])
def test_covering_length_is_the_smallest_count_that_covers_the_share(coverage, expected):
    counts = np.random.default_rng(0).permutation(np.arange(1, 101))  # order must not matter
    assert covering_length(counts, coverage) == expected
    assert np.mean(counts <= expected) >= coverage > np.mean(counts <= expected - 1)


@pytest.mark.parametrize("coverage", [0, -0.1, 1.5])
def test_coverage_outside_0_1_is_rejected(coverage):
    with pytest.raises(ConfigError, match="length_coverage must be in"):
        covering_length([3, 4], coverage)


@pytest.mark.parametrize("value", [1, 0, "long", 12.5, None])
def test_max_length_must_be_an_integer_or_auto(value):
    with pytest.raises(ConfigError, match="integer >= 2 or 'auto'"):
        check_max_length(value)
    assert check_max_length("auto") == "auto" and check_max_length(16) == 16


def test_model_limit_prefers_sentence_transformers_then_tokenizer_then_positions(tmp_path):
    no_limit = SimpleNamespace(model_max_length=int(1e30))  # what HF reports when it knows none
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 514}))
    assert model_length_limit(tmp_path, no_limit) == 514
    assert model_length_limit(tmp_path, SimpleNamespace(model_max_length=384)) == 384
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 200}))
    assert model_length_limit(tmp_path, SimpleNamespace(model_max_length=384)) == 200


def test_length_from_data_is_capped_at_the_model_limit():
    tokenizer = lambda texts, **_: {"input_ids": [t.split() for t in texts]}  # noqa: E731
    texts = ["w " * n for n in range(1, 101)]
    assert length_from_data(tokenizer, texts, 0.9, limit=512) == 90
    assert length_from_data(tokenizer, texts, 0.9, limit=64) == 64
    assert length_from_data(tokenizer, ["w"], 1.0, limit=512) == 2  # at least 2 tokens


def test_auto_backbone_measures_the_texts_without_loading_the_weights():
    backbone = HFBackbone("minilm", max_length="auto", freeze="all", normalize=True)
    with pytest.raises(ConfigError, match="fit_max_length"):
        backbone.fingerprint()  # the cache key must never be made with an unresolved length
    texts = ["word " * k for k in range(1, 101)]  # k words + [CLS] + [SEP] = k + 2 tokens
    assert backbone.fit_max_length(texts) == 99 + 2
    assert not backbone._loaded  # only the tokenizer: a warm feature cache needs no weights
    assert backbone.fit_max_length(["word"]) == 101  # resolved once, then fixed
    # a longer text is cut to 101 tokens: [CLS] + 99 words + [SEP], the encoding of 99 words
    assert np.allclose(backbone.encode(["word " * 200]), backbone.encode(["word " * 99]),
                       atol=1e-6)
    capped = HFBackbone("minilm", max_length="auto", length_coverage=1.0)
    assert capped.fit_max_length(["word " * 1000]) == 256  # MiniLM's max_seq_length


def test_da_train_takes_the_length_from_the_training_texts(data_dir, compose_cfg, tmp_path):
    cfg = compose_cfg([*SMALL, f"cache_dir={tmp_path}", "encoder.backbone.max_length=auto",
                       "encoder.backbone.length_coverage=0.9"])
    datamodule = build_datamodule(cfg, raw=True)  # the texts, to count their tokens here
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(HFBackbone("minilm").path)

    def covering(*parts):  # the 0.9 quantile of the token counts, computed here independently
        counts = np.array([len(ids) for part in parts
                           for ids in tokenizer(list(datamodule.parts[part].x))["input_ids"]])
        return int(np.sort(counts)[int(np.ceil(0.9 * len(counts))) - 1]), counts.max()

    expected, longest = covering("source_train", "target_train")
    assert expected < longest  # so 0.9 coverage does truncate the longest texts
    # and measuring the validation or test texts too would give another length
    assert covering("source_train", "source_val", "target_train", "target_test")[0] != expected
    _, info = built_encoder(cfg)
    assert info == {"cache/hits": 0, "cache/misses": 4, "encoder/max_length": expected}
    fixed = compose_cfg([*SMALL, f"cache_dir={tmp_path}",
                         f"encoder.backbone.max_length={expected}"])
    assert built_encoder(fixed)[1] == {"cache/hits": 4, "cache/misses": 0}


def test_bad_max_length_fails_before_training(data_dir, tmp_path):
    result = da_train([*SMALL, "encoder.backbone.max_length=long"], tmp_path)
    assert_clean_error(result, "max_length must be an integer >= 2 or 'auto'")
