"""`DomainPairDataModule`: labeled source + unlabeled target batches for training, source
validation, target test.

Training batches are ``{"source": (x_s, y_s), "target": x_t}``: the target loader holds no labels,
so target labels cannot reach ``training_step``. Validation: the source validation part
(``val/source_*``), with ``oracle_val`` also the target test part (``val/target_acc_oracle``, an
oracle: target labels, for analysis only). ``test`` is the target test part.

The encoder decides how its inputs are served: the DataModule receives the encoder side's
:class:`~da.data.pipeline.InputPipeline` when it is constructed and passes the raw parts through
it once (:meth:`prepare`); :meth:`loader` serves any part the same way to training, validation and
the selection validators.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader, Subset

from da.data.base import DomainSource
from da.data.batching import batch_dataset
from da.data.memo import load_domain
from da.data.pipeline import InputPipeline
from da.data.sampling import EpochShuffle, LengthBuckets
from da.data.splits import stratified_split
from da.data.types import UNLABELED, DomainData, Split
from da.errors import ConfigError, DataError

log = logging.getLogger(__name__)


class DomainPairDataModule(L.LightningDataModule):
    """Loads a source and a target domain and serves them to an `AlignmentModule`.

    Args:
        source: the labeled domain.
        target: the domain adapted to; its training part is used without labels.
        pipeline: the encoder side's input pipeline (:mod:`da.data.pipeline`): every part goes
            through its ``prepare`` once, batches through its ``collate``. ``None``: the raw
            inputs (e.g. to count labels).
        data_dir: dataset root (``None``: ``$DA_DATA_DIR`` or ``~/.cache/da/datasets``).
        batch_size: examples per domain per training step.
        val_fraction: share of the source training part held out for source validation.
        val_split_seed: seed of the source train/validation split (the domains' own train/test
            splits have their ``split_seed``).
        num_workers: DataLoader workers.
        eval_batch_size: batch size of validation and test (no gradients, so larger batches
            cost little memory and save per-batch overhead); ``None``: ``batch_size``.
        shuffle_seed: seed of the training order (the run seed): each epoch's order depends only
            on it and the epoch (:class:`~da.data.sampling.EpochShuffle`), so resumed runs match.
        length_bucket_pool: training batches of texts of similar length, drawn from pools of this
            many batches (:class:`~da.data.sampling.LengthBuckets`; 0: off). Only for inputs
            padded per batch (tokens, prefix states); it changes the batches, not their number.
        oracle_val: also validate on the target test part every epoch (the oracle curve
            ``val/target_acc_oracle``); off by default: nothing selects on it, and it costs time.
    """

    def __init__(self, source: DomainSource, target: DomainSource,
                 pipeline: InputPipeline | None = None, data_dir: str | None = None,
                 batch_size: int = 64, val_fraction: float = 0.1, val_split_seed: int = 0,
                 num_workers: int = 0, shuffle_seed: int = 0, eval_batch_size: int | None = None,
                 length_bucket_pool: int = 0, oracle_val: bool = False) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {batch_size}")
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in (0, 1), got {val_fraction}")
        self.source, self.target, self.data_dir = source, target, data_dir
        self.pipeline = pipeline or InputPipeline()
        self.batch_size, self.val_fraction = batch_size, val_fraction
        self.val_split_seed = val_split_seed
        self.num_workers = num_workers
        self.shuffle_seed, self.length_bucket_pool = shuffle_seed, length_bucket_pool
        self.oracle_val = oracle_val
        self.eval_batch_size = eval_batch_size or batch_size
        if self.eval_batch_size < 1:
            raise ConfigError(f"data.eval_batch_size must be >= 1, got {eval_batch_size}")
        self.parts: dict[str, Split] = {}
        self.classes: list[str] = []
        #: The size of one flattened example when the prepared inputs are tensors (vectors,
        #: images, cached features), else ``None`` (texts, token states); set by prepare().
        self.input_dim: int | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def prepare(self) -> None:
        """Load, check and convert both domains (idempotent; call before building the model)."""
        if self.parts:
            return
        src, tgt = load_domain(self.source, self.data_dir), load_domain(self.target, self.data_dir)
        tgt = check_compatible(src, tgt)
        train_idx, val_idx = stratified_split(src.train.y, self.val_fraction, self.val_split_seed)
        parts = {"source_train": src.train.subset(train_idx), "source_val": src.train.subset(val_idx),
                 "target_train": tgt.train}
        if len(tgt.test):  # an unlabeled target without test_path has none
            parts["target_test"] = tgt.test
        elif self.oracle_val:
            log.warning("data.oracle_val ignored: target '%s' has no labeled test part", tgt.name)
        #: The target's parts as read (texts, row numbers), before the pipeline, for
        #: predictions.csv; the target's name and whether its training part has labels.
        self.target_raw, self.target_test_raw = tgt.train, tgt.test
        self.target_name, self.target_labeled = tgt.name, tgt.labeled
        self._check_batch_size(parts)
        if self.pipeline.prepare is not None:
            inputs = self.pipeline.prepare({k: p.x for k, p in parts.items()})
            parts = {k: Split(inputs[k], p.y) for k, p in parts.items()}
        self.parts = parts
        first = parts["source_train"].x
        if isinstance(first, torch.Tensor):
            self.input_dim = int(np.prod(first.shape[1:]))
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
        dataset, collate = batch_dataset(arrays, self.pipeline.collate)
        if index is not None:
            dataset = Subset(dataset, np.asarray(index).tolist())
        size = batch_size or (self.batch_size if shuffle else self.eval_batch_size)
        trainer = getattr(self, "trainer", None)
        if not shuffle or (trainer is not None and trainer.world_size > 1):  # DDP: Lightning's
            return DataLoader(dataset, batch_size=size, shuffle=shuffle,  # distributed sampler
                              num_workers=self.num_workers, collate_fn=collate)
        epoch = trainer.current_epoch if trainer is not None else 0
        lengths = self.pipeline.lengths
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

    @property
    def has_target_test(self) -> bool:
        """Whether the target has a labeled test part (``test/target_*`` can be computed)."""
        return "target_test" in self.parts

    def val_dataloader(self) -> list[DataLoader]:
        oracle = self.oracle_val and self.has_target_test
        parts = ("source_val", "target_test") if oracle else ("source_val",)
        return [self.loader(part, shuffle=False) for part in parts]

    def test_dataloader(self) -> DataLoader:
        if not self.has_target_test:
            raise DataError(f"target '{self.target_name}' has no labeled test part to test on; "
                            f"give target.test_path=FILE (a file with labels).")
        return self.loader("target_test", shuffle=False)


def check_compatible(source: DomainData, target: DomainData) -> DomainData:
    """Raise a clear error if the loaded domains cannot be used together (labels, shapes);
    return the target with its classes in the source's order.

    Classes are matched by name: a target whose classes are a subset of the source's (a labeled
    test file that lacks a class, an unlabeled target that names none) has its labels renumbered
    to the source's indices. Modalities were checked before loading, from the dataset classes
    (:func:`da.run.build.build_datamodule`)."""
    if not source.labeled:
        raise DataError(f"source '{source.name}' has no labels (label_column=null); the source "
                        f"domain must be labeled: set source.label_column to its label column.")
    if target.classes != source.classes:
        if not set(target.classes) < set(source.classes):
            raise DataError(
                f"label sets differ: source '{source.name}' has {source.classes}, target "
                f"'{target.name}' has {target.classes}; map both to the same classes (file and "
                f"features domains take classes=[...], the names in index order, or "
                f"label_map={{0:negative,1:positive}}).")
        target = renumber(target, source.classes)
    extra = set(np.unique(target.test.y).tolist()) - set(np.unique(source.train.y).tolist())
    if extra:
        names = [target.classes[i] if 0 <= i < len(target.classes) else i for i in sorted(extra)]
        raise DataError(f"target '{target.name}' has labels {names} that never occur in "
                        f"source '{source.name}'; the source must cover every target class.")
    if source.modality == "vectors":
        ds, dt = source.train.x.shape[1], target.train.x.shape[1]
        if ds != dt:
            raise DataError(f"source '{source.name}' vectors have {ds} features, target "
                            f"'{target.name}' has {dt}; both must share one feature space.")
    if source.modality == "images" and source.train.x.shape[1:] != target.train.x.shape[1:]:
        raise DataError(f"source '{source.name}' images have shape {source.train.x.shape[1:]}, "
                        f"target '{target.name}' {target.train.x.shape[1:]}; both domains need "
                        f"one image shape (resize one of them).")
    return target


def renumber(domain: DomainData, classes: list[str]) -> DomainData:
    """``domain`` with its labels re-indexed into ``classes`` (a superset of its class names);
    unlabeled examples stay :data:`~da.data.types.UNLABELED`."""
    lookup = np.array([classes.index(name) for name in domain.classes] + [UNLABELED])

    def moved(split: Split) -> Split:
        return Split(split.x, lookup[split.y], split.rows)  # y = -1 picks the last entry

    return replace(domain, train=moved(domain.train), test=moved(domain.test),
                   classes=list(classes))
