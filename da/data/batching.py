"""What the DataLoaders of `DomainPairDataModule` index and how items become batches.

* :class:`ArrayDataset`: rows of equally long arrays (texts, tensors), one item per call.
* :class:`TensorBatchDataset` + :func:`already_batched`: tensor parts fetched a batch at a time
  (:func:`to_tensor` makes them).
* :class:`TextCollate`: text items → token tensors (trainable text encoders).
* :class:`TokenStates` + :class:`PrefixCollate`: cached token states of a frozen prefix, padded
  per batch (prefix-cached text encoders).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset


class ArrayDataset(Dataset):
    """Rows of equally long arrays; yields one item alone, or a tuple of items."""

    def __init__(self, *arrays: Any) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> Any:
        items = tuple(a[index] for a in self.arrays)
        return items[0] if len(items) == 1 else items


class TensorBatchDataset(ArrayDataset):
    """An `ArrayDataset` of tensors that hands the `DataLoader` whole batches.

    PyTorch's ``DataLoader`` calls ``__getitems__(indices)`` when a dataset has it; one indexing
    ``x[indices]`` replaces ``batch_size`` calls of ``__getitem__`` plus ``torch.stack`` (about
    1 ms per batch of 64 bag-of-words rows here), with the same values in the same order. Use it
    with ``collate_fn=already_batched``.
    """

    def __getitems__(self, indices: list[int]) -> Any:
        index = torch.as_tensor(indices, dtype=torch.long)
        items = tuple(a[index] for a in self.arrays)
        return items[0] if len(items) == 1 else items


def to_tensor(x: Any) -> torch.Tensor:
    """Dense float32 tensor from a dense or scipy-sparse matrix."""
    if hasattr(x, "toarray"):
        x = x.toarray()
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def already_batched(batch: Any) -> Any:
    """Collate function for `TensorBatchDataset`: the batch is already stacked."""
    return batch


def batch_dataset(arrays: tuple[Any, ...], collate: Any) -> tuple[Dataset, Any]:
    """``(dataset, collate_fn)`` serving ``arrays`` row by row: tensors without a pipeline
    ``collate`` a whole batch at a time (:class:`TensorBatchDataset`), anything else item by item
    through ``collate`` (``None``: PyTorch's default collation)."""
    if collate is None and all(isinstance(a, torch.Tensor) for a in arrays):
        return TensorBatchDataset(*arrays), already_batched
    return ArrayDataset(*arrays), collate


class TextCollate:
    """Collates ``text`` or ``(text, label)`` items into token tensors (and a label tensor)."""

    def __init__(self, tokenize: Callable[[list[str]], dict]) -> None:
        self.tokenize = tokenize

    def __call__(self, items: list) -> Any:
        if isinstance(items[0], tuple):
            texts, labels = zip(*items)
            return self.tokenize(list(texts)), torch.stack(list(labels))
        return self.tokenize(list(items))


class TokenStates:
    """Per-text token states stored back to back: item ``i`` is
    ``states[offsets[i]:offsets[i + 1]]`` as a tensor (kept in the storage dtype, e.g. float16)."""

    def __init__(self, states: np.ndarray, offsets: np.ndarray) -> None:
        self.states, self.offsets = states, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> torch.Tensor:
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        return torch.from_numpy(np.array(self.states[start:stop]))  # a copy: states may be mmap


class PrefixCollate:
    """Collates token-state items (or ``(states, label)``) into
    ``{"hidden_states": (batch, max_tokens, hidden), "attention_mask": (batch, max_tokens)}``,
    zero-padded to the longest item of the batch (and a label tensor)."""

    def __call__(self, items: list) -> Any:
        if isinstance(items[0], tuple):
            states, labels = zip(*items)
            return self.pad(list(states)), torch.stack(list(labels))
        return self.pad(items)

    @staticmethod
    def pad(states: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        lengths = torch.tensor([s.shape[0] for s in states])
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = (torch.arange(hidden.shape[1]) < lengths[:, None]).long()
        return {"hidden_states": hidden, "attention_mask": mask}
