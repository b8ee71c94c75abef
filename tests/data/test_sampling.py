"""Length-bucketed training batches (da/data/sampling.py, data.length_bucket_pool): every
example once per pass, as many batches as without buckets, less padding, and a seeded order that a
resumed run repeats; the datamodule uses them only for inputs whose lengths its pipeline knows."""

from __future__ import annotations

import numpy as np

from da.data.datamodule import DomainPairDataModule
from da.data.pipeline import InputPipeline
from da.data.sampling import EpochShuffle, LengthBuckets
from da.data.types import DomainData, Split

LENGTHS = np.random.default_rng(0).integers(1, 200, size=1000)


def padded_tokens(batches, lengths=LENGTHS) -> int:
    """Tokens a per-batch padding makes: batch size x its longest example, summed."""
    return sum(len(b) * int(lengths[b].max()) for b in batches)


def test_every_example_once_per_pass_in_as_many_batches():
    sampler = LengthBuckets(LENGTHS, batch_size=64, seed=0, pool=5)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 16  # ceil(1000 / 64), as without buckets
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert max(len(b) for b in batches) == 64


def test_buckets_pad_less_than_shuffled_batches():
    bucketed = padded_tokens(list(LengthBuckets(LENGTHS, 64, seed=0, pool=5)))
    order = list(EpochShuffle(1000, seed=0))
    shuffled = padded_tokens([order[i:i + 64] for i in range(0, 1000, 64)])
    assert bucketed < 0.7 * shuffled, (bucketed, shuffled)  # measured: 0.63


def test_order_depends_only_on_seed_epoch_and_pass():
    a = LengthBuckets(LENGTHS, 64, seed=3, pool=5)
    first, second = list(a), list(a)  # two passes in one epoch differ
    assert first != second
    resumed = LengthBuckets(LENGTHS, 64, seed=3, epoch=2, pool=5)
    a.set_epoch(2)
    assert list(a) == list(resumed)
    assert list(LengthBuckets(LENGTHS, 64, seed=4, pool=5)) != first


def _text_datamodule(length_bucket_pool: int) -> DomainPairDataModule:
    """A datamodule over 300 texts of lengths 1..300 in each part, with a text pipeline."""
    texts = ["w" * n for n in range(1, 301)]
    split = Split(texts, np.arange(300) % 2)

    class Texts:
        name, modality = "texts", "text"

        def load(self, data_dir=None):
            return DomainData(self.name, "text", split, split)

    pipeline = InputPipeline(collate=lambda items: list(zip(*items)) if isinstance(
        items[0], tuple) else list(items), lengths=lambda xs: [len(x) for x in xs])
    datamodule = DomainPairDataModule(Texts(), Texts(), pipeline=pipeline, batch_size=30,
                                      length_bucket_pool=length_bucket_pool)
    datamodule.prepare()
    return datamodule


def test_the_datamodule_buckets_text_training_batches_only():
    spread = {}
    for buckets in (0, 50):
        loader = _text_datamodule(buckets).loader("source_train", shuffle=True)
        batches = [list(x) for x, _ in loader]
        assert sorted(len(t) for b in batches for t in b) == sorted(
            len(t) for t in _text_datamodule(0).parts["source_train"].x)  # each text once
        spread[buckets] = np.mean([max(map(len, b)) - min(map(len, b)) for b in batches])
    assert spread[50] < 0.25 * spread[0], spread  # similar lengths within a batch
    datamodule = _text_datamodule(50)
    evaluation = [t for x, _ in datamodule.loader("source_val") for t in x]
    assert evaluation == list(datamodule.parts["source_val"].x)  # evaluation keeps its order
