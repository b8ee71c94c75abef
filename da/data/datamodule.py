"""`DomainPairDataModule`: labeled source + unlabeled target batches for training, source
validation, target test.

Training batches are ``{"source": (x_s, y_s), "target": x_t}``: the target loader holds no labels,
so target labels cannot reach ``training_step``. Validation: the source validation part
(``val/source_*``), with ``oracle_val`` also the target test part (``val/target_acc_oracle``, an
oracle: target labels, for analysis only). ``test`` is the target test part.

The encoder decides how its inputs are served through one entry point, :meth:`use` with an
:class:`~da.data.pipeline.InputPipeline`; :meth:`loader` serves any part the same way to
training, validation and the selection validators.
"""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader, Subset

from da.data.base import DomainSource
from da.data.batching import ArrayDataset, TensorBatchDataset, already_batched, to_tensor
from da.data.cache import arrays_key, cache_root, cached_parts
from da.data.featurize import TfidfFeaturizer
from da.data.memo import load_domain
from da.data.msda import MSDA
from da.data.pipeline import InputPipeline, converts
from da.data.sampling import EpochShuffle, LengthBuckets
from da.data.splits import stratified_split
from da.data.types import DomainData, Split
from da.errors import ConfigError, DataError

log = logging.getLogger(__name__)


class DomainPairDataModule(L.LightningDataModule):
    """Loads a source and a target domain and serves them to an `AlignmentModule`.

    Args:
        source: the labeled domain.
        target: the domain adapted to; its training part is used without labels.
        encoder_input: what the encoder takes (``vectors``, ``text`` or ``images``). Text domains
            feed a ``vectors`` encoder through ``featurizer``.
        data_dir: dataset root (``None``: ``$DA_DATA_DIR`` or ``~/.cache/da/datasets``).
        batch_size: examples per domain per training step.
        val_fraction: share of the source training part held out for source validation.
        val_split_seed: seed of the source train/validation split (the domains' own train/test
            splits have their ``split_seed``).
        featurizer: text → vectors for vector encoders (default: tf-idf, 5000 features).
        num_workers: DataLoader workers.
        eval_batch_size: batch size of validation and test (no gradients, so larger batches
            cost little memory and save per-batch overhead); ``None``: ``batch_size``.
        shuffle_seed: seed of the training order (the run seed): each epoch's order depends only
            on it and the epoch (:class:`~da.data.sampling.EpochShuffle`), so resumed runs match.
        denoiser: optional unsupervised vector transform (:class:`~da.data.msda.MSDA`), fitted on
            the source and target training inputs (no labels) and applied to every part; its
            outputs are cached under ``cache_dir/msda`` (float16).
        cache_dir: cache root for ``denoiser`` outputs (``None``: ``$DA_CACHE_DIR`` or
            ``~/.cache/da``).
        length_bucket_pool: training batches of texts of similar length, drawn from pools of this
            many batches (:class:`~da.data.sampling.LengthBuckets`; 0: off). Only for inputs
            padded per batch (tokens, prefix states); it changes the batches, not their number.
        oracle_val: also validate on the target test part every epoch (the oracle curve
            ``val/target_acc_oracle``); off by default: nothing selects on it, and it costs time.
    """

    def __init__(self, source: DomainSource, target: DomainSource, encoder_input: str = "vectors",
                 data_dir: str | None = None, batch_size: int = 64, val_fraction: float = 0.1,
                 val_split_seed: int = 0, featurizer: TfidfFeaturizer | None = None,
                 num_workers: int = 0, shuffle_seed: int = 0,
                 eval_batch_size: int | None = None, denoiser: MSDA | None = None,
                 cache_dir: str | None = None, length_bucket_pool: int = 0,
                 oracle_val: bool = False) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {batch_size}")
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in (0, 1), got {val_fraction}")
        self.source, self.target = source, target
        self.encoder_input, self.data_dir = encoder_input, data_dir
        self.batch_size, self.val_fraction = batch_size, val_fraction
        self.val_split_seed = val_split_seed
        self.featurizer, self.num_workers = featurizer, num_workers
        self.shuffle_seed, self.length_bucket_pool = shuffle_seed, length_bucket_pool
        self.denoiser, self.cache_dir = denoiser, cache_dir
        self.oracle_val = oracle_val
        self.eval_batch_size = eval_batch_size or batch_size
        if self.eval_batch_size < 1:
            raise ConfigError(f"data.eval_batch_size must be >= 1, got {eval_batch_size}")
        self.parts: dict[str, Split] = {}
        self.classes: list[str] = []
        self.input_dim: int | None = None
        self.pipeline: InputPipeline | None = None  # set by use(): the encoder's side of the seam

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def prepare(self) -> None:
        """Load, check and convert both domains (idempotent; call before building the model)."""
        if self.parts:
            return
        src, tgt = load_domain(self.source, self.data_dir), load_domain(self.target, self.data_dir)
        check_compatible(src, tgt, self.encoder_input)
        train_idx, val_idx = stratified_split(src.train.y, self.val_fraction, self.val_split_seed)
        parts = {"source_train": src.train.subset(train_idx), "source_val": src.train.subset(val_idx),
                 "target_train": tgt.train, "target_test": tgt.test}
        self._check_batch_size(parts)
        self.parts = self._to_inputs(parts, src.modality)
        self.classes = list(src.classes)
        for domain in (src, tgt):
            log.info("%s: %d train / %d test (%s)", domain.name, len(domain.train),
                     len(domain.test), domain.notes)

    def _check_batch_size(self, parts: dict[str, Split]) -> None:
        for part in ("source_train", "target_train"):
            if self.batch_size > len(parts[part]):
                raise ConfigError(
                    f"data.batch_size={self.batch_size} is larger than the {len(parts[part])} "
                    f"examples of the {part.replace('_', ' ')} part, so every epoch would be one "
                    f"short batch; set data.batch_size <= {len(parts[part])} (or use more data, "
                    f"e.g. a larger max_examples).")

    def _to_inputs(self, parts: dict[str, Split], modality: str) -> dict[str, Split]:
        if modality == "text" and self.encoder_input == "vectors":
            featurizer = self.featurizer or TfidfFeaturizer()
            featurizer.fit(list(parts["source_train"].x) + list(parts["target_train"].x))
            parts = {k: Split(featurizer.transform(p.x), p.y) for k, p in parts.items()}
        if self.denoiser is not None and self.encoder_input != "vectors":
            raise ConfigError(f"data.denoiser transforms vectors, but the encoder takes "
                              f"{self.encoder_input}; use it with encoder=mlp (or set "
                              f"data.denoiser=null).")
        if self.encoder_input in ("vectors", "images"):
            parts = {k: Split(to_tensor(p.x), p.y) for k, p in parts.items()}
            if self.denoiser is not None:
                parts = self._denoise(parts)
            self.input_dim = int(np.prod(parts["source_train"].x.shape[1:]))
        return parts

    def _denoise(self, parts: dict[str, Split]) -> dict[str, Split]:
        """Every part through ``denoiser`` fitted on source train + target train inputs (cached)."""
        arrays = {k: p.x.reshape(len(p.x), -1).numpy() for k, p in parts.items()}
        key = arrays_key(self.denoiser.fingerprint() + "|fit=source_train+target_train",
                         *arrays.values())

        def compute() -> dict[str, np.ndarray]:
            self.denoiser.fit(np.vstack([arrays["source_train"], arrays["target_train"]]))
            return {k: self.denoiser.transform(x).astype(np.float16) for k, x in arrays.items()}

        outputs = cached_parts(cache_root(self.cache_dir) / "msda", key,
                               {k: len(x) for k, x in arrays.items()}, compute, "mSDA")
        return {k: Split(torch.from_numpy(np.asarray(outputs[k], dtype=np.float32)), p.y)
                for k, p in parts.items()}

    def use(self, pipeline: InputPipeline) -> None:
        """Serve the encoder's inputs (:mod:`da.data.pipeline`): every part through
        ``pipeline.convert`` once, batches through ``pipeline.collate``. Called once, by
        :func:`da.run.build.build_encoder`, after :meth:`prepare`."""
        if self.pipeline is not None:
            raise RuntimeError("DomainPairDataModule.use() was already called; build a new "
                               "datamodule for another encoder.")
        self.prepare()
        if pipeline.convert is not None:
            self.parts = {k: Split(pipeline.convert(list(p.x)), p.y) for k, p in self.parts.items()}
        if pipeline.input_dim is not None:
            self.input_dim = pipeline.input_dim
        self.pipeline = pipeline

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def loader(self, part: str, shuffle: bool = False, labels: bool = True,
               index: np.ndarray | None = None, batch_size: int | None = None) -> DataLoader:
        """A DataLoader over one part (``source_train``, ``source_val``, ``target_train``,
        ``target_test``), batched as training batches are: ``(x, y)`` or, without labels, ``x``.

        ``shuffle``: the epoch's seeded order (:class:`EpochShuffle`; under DDP Lightning's
        sampler); with ``length_bucket_pool`` and a pipeline that knows its examples' lengths,
        batches of similar length in a seeded order (:class:`LengthBuckets`). ``index``: only
        these rows, in this order. ``batch_size``: default ``data.batch_size`` when shuffling
        (training), ``data.eval_batch_size`` otherwise.
        """
        split = self.parts[part]
        arrays = (split.x, torch.as_tensor(split.y)) if labels else (split.x,)
        collate = self.pipeline.collate if self.pipeline is not None else None
        if collate is None and all(isinstance(a, torch.Tensor) for a in arrays):
            dataset, collate = TensorBatchDataset(*arrays), already_batched
        else:
            dataset = ArrayDataset(*arrays)
        if index is not None:
            dataset = Subset(dataset, np.asarray(index).tolist())
        size = batch_size or (self.batch_size if shuffle else self.eval_batch_size)
        trainer = getattr(self, "trainer", None)
        if not shuffle or (trainer is not None and trainer.world_size > 1):  # DDP: Lightning's
            return DataLoader(dataset, batch_size=size, shuffle=shuffle,  # distributed sampler
                              num_workers=self.num_workers, collate_fn=collate)
        epoch = trainer.current_epoch if trainer is not None else 0
        lengths = self.pipeline.lengths if self.pipeline is not None else None
        if lengths is not None and self.length_bucket_pool and index is None:
            buckets = LengthBuckets(lengths(split.x), size, self.shuffle_seed, epoch,
                                    pool=self.length_bucket_pool)
            return DataLoader(dataset, batch_sampler=buckets, num_workers=self.num_workers,
                              collate_fn=collate)
        return DataLoader(dataset, batch_size=size, num_workers=self.num_workers,
                          sampler=EpochShuffle(len(dataset), self.shuffle_seed, epoch),
                          collate_fn=collate)

    def train_dataloader(self) -> CombinedLoader:
        loaders = {"source": self.loader("source_train", shuffle=True),
                   "target": self.loader("target_train", shuffle=True, labels=False)}
        return CombinedLoader(loaders, mode="max_size_cycle")

    def val_dataloader(self) -> list[DataLoader]:
        parts = ("source_val", "target_test") if self.oracle_val else ("source_val",)
        return [self.loader(part, shuffle=False) for part in parts]

    def test_dataloader(self) -> DataLoader:
        return self.loader("target_test", shuffle=False)


def check_compatible(source: DomainData, target: DomainData, encoder_input: str) -> None:
    """Raise a clear error if the two domains cannot be used together with this encoder."""
    for domain in (source, target):  # da.encoders.inputs names the encoders that fit, earlier
        if not converts(domain.modality, encoder_input):
            raise ConfigError(f"domain '{domain.name}' holds {domain.modality} but the encoder "
                              f"takes {encoder_input}; pick an encoder for {domain.modality}.")
    if source.modality != target.modality:
        raise ConfigError(f"source '{source.name}' is {source.modality} but target '{target.name}' "
                          f"is {target.modality}: both domains must have the same modality.")
    if source.classes != target.classes:
        raise DataError(f"label sets differ: source '{source.name}' has {source.classes}, target "
                        f"'{target.name}' has {target.classes}; map both to the same classes "
                        f"(file and features domains take classes=[...], the names in index "
                        f"order, or label_map={{0:negative,1:positive}}).")
    extra = set(np.unique(target.test.y).tolist()) - set(np.unique(source.train.y).tolist())
    if extra:
        names = [target.classes[i] if 0 <= i < len(target.classes) else i for i in sorted(extra)]
        raise DataError(f"target '{target.name}' has labels {names} that never occur in "
                        f"source '{source.name}'; the source must cover every target class.")
    if encoder_input == "vectors" and source.modality == "vectors":
        ds, dt = source.train.x.shape[1], target.train.x.shape[1]
        if ds != dt:
            raise DataError(f"source '{source.name}' vectors have {ds} features, target "
                            f"'{target.name}' has {dt}; both must share one feature space.")
    if source.modality == "images" and source.train.x.shape[1:] != target.train.x.shape[1:]:
        raise DataError(f"source '{source.name}' images have shape {source.train.x.shape[1:]}, "
                        f"target '{target.name}' {target.train.x.shape[1:]}; both domains need "
                        f"one image shape (resize one of them).")

