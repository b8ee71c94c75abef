"""Handwritten digits: MNIST and USPS as 10-class domains of grey images in [0, 1]
(``(n, 1, 16, 16)``; ``(n, 1, 28, 28)`` under protocol ``adda``).

Three protocols (``protocol=`` in ``conf/domain/{mnist,usps,mnist2000,usps1800}.yaml``):

* ``jda`` (default) — the 2,000 MNIST / 1,800 USPS images of ``mnist_usps_jda/MNIST_vs_USPS.mat``
  (Long et al., *Transfer Feature Learning with Joint Distribution Adaptation*, ICCV 2013), the
  set used for the "2000/1800" MNIST↔USPS results of ADDA (Tzeng et al., CVPR 2017, Table 2).
  The file has no test part, so the protocol is **transductive**: the whole domain is the
  ``train`` part (source: labeled training data; target: unlabeled training data) and the
  ``test`` part is the same images. Target labels still never reach training (the target
  training loader yields images only); the test score is accuracy on the target images the
  model adapted to without their labels.
* ``full`` — ``usps``: the official ``usps.h5`` train (7,291) / test (2,007) parts; ``mnist``: the
  10,000 official MNIST test images (the only MNIST images in the dataset folder), split
  stratified 70/30 with ``split_seed`` and resized 28×28 → 16×16 (bilinear with antialiasing) so
  both digit domains share one shape.
* ``adda`` (domains ``mnist2000``, ``usps1800``) — the digits protocol of ADDA's code
  (Tzeng et al., *Adversarial Discriminative Domain Adaptation*, CVPR 2017; erictzeng/adda,
  ``adda/data/{mnist,usps}.py``, classes ``MNIST2000``/``USPS1800``): a **uniform** sample of
  2,000 MNIST / 1,800 USPS training images drawn with a fixed seed (``split_seed``; ADDA:
  ``RandomState(seed).permutation(n)[:k]``, sorted) is the training part, the official test
  images the test part; 28×28 in [0, 1] (USPS 16×16 upsampled, bilinear with antialiasing;
  ADDA resizes with ``tf.image.resize_images``, bilinear). Differences from the paper:
  ``mnist_idx`` holds no MNIST training images, so the 2,000 are drawn from the 10,000
  official MNIST *test* images and the MNIST test part is the **other 8,000** (ADDA: 2,000 of
  the 60,000 training images; test on all 10,000). USPS is as in ADDA (1,800 of the 7,291
  training images; test: the 2,007 official test images).

Labels are digits 0–9 (``classes = ["0", ..., "9"]``); the .mat file stores digit + 1.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from da.data.base import DomainSource
from da.data.io import dataset_dir, read_bytes
from da.data.types import DomainData, Split
from da.errors import ConfigError, DataError

DIGIT_CLASSES = [str(d) for d in range(10)]
PROTOCOLS = ("jda", "full", "adda")
SIZE = 16
#: Image side of protocol ``adda`` (ADDA's LeNet: ``lenet.default_image_size = 28``).
ADDA_SIZE = 28
JDA_FOLDER, JDA_FILE = "mnist_usps_jda", "MNIST_vs_USPS.mat"
JDA_HOME = "https://github.com/jindongwang/transferlearning/tree/master/data (USPS+MNIST, JDA)"


def read_h5(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an HDF5 file (MATLAB v7.3 .mat too); corrupt files raise DataError."""
    data = read_bytes(path)
    try:
        with h5py.File(io.BytesIO(data), "r") as handle:
            return {key: np.asarray(handle[key]) for key in keys}
    except KeyError as exc:
        raise DataError(f"{path}: no dataset {exc} among the expected {keys}; the file is not the "
                        f"one described in PROVENANCE.md; restore or re-download it.") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"corrupt or unreadable HDF5 file {path} ({exc}); delete it and restore "
                        f"or re-download it.") from exc


def as_images(x: np.ndarray, path: Path, side: int = SIZE) -> np.ndarray:
    """Rows of ``side*side`` row-major pixels → float32 ``(n, 1, side, side)`` in [0, 1]."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != side * side:
        raise DataError(f"{path}: expected rows of {side * side} pixels, found shape {x.shape}")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise DataError(f"{path}: pixels outside [0, 1] ({x.min()}..{x.max()}); corrupt file")
    return x.reshape(-1, 1, side, side)


def check_labels(y: np.ndarray, path: Path, offset: int = 0) -> np.ndarray:
    """Integer digits ``y - offset``, which must lie in 0..9."""
    y = np.asarray(y).reshape(-1) - offset
    if y.size and (y.min() < 0 or y.max() > 9 or not np.all(y == np.round(y))):
        raise DataError(f"{path}: labels must be digits {offset}..{9 + offset}, found "
                        f"{sorted(set(np.unique(y + offset).tolist()))[:12]}")
    return y.astype(np.int64)


def parse_idx(data: bytes, path: Path, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array (LeCun's MNIST format: magic ``0x0000 08 <ndim>``, big-endian
    dims, then the bytes)."""
    header = 4 + 4 * ndim
    if len(data) < header or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise DataError(f"{path}: not an unsigned-byte IDX file with {ndim} dimension(s) "
                        f"(header {data[:4].hex()}); corrupt file, restore or re-download it.")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} = {int(np.prod(dims))} bytes, file holds "
                        f"{len(data) - header}; the file is truncated or corrupt.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def resize(images: np.ndarray, side: int = SIZE) -> np.ndarray:
    """uint8 (0..255) or float ([0, 1]) ``(n, h, w)`` → float32 ``(n, 1, side, side)`` in
    [0, 1]; bilinear, antialiased (down- or upsampling)."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))[:, None]
    if images.dtype == np.uint8:
        x = x / 255.0
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0.0, 1.0).numpy()


def seeded_sample(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(chosen, rest)``: ``k`` of ``n`` row indices drawn uniformly with ``seed``, both sorted.

    ADDA's ``MNIST2000``/``USPS1800``: ``RandomState(seed).permutation(n)[:k]``, then sorted.
    """
    if not 0 < k <= n:
        raise DataError(f"cannot sample {k} of {n} images; the data files are incomplete.")
    order = np.random.RandomState(seed).permutation(n)
    return np.sort(order[:k]), np.sort(order[k:])


class Digits(DomainSource):
    """A digit domain under protocol ``jda`` or ``full`` (see the module docstring).

    Args:
        name: domain name used in run names and tables.
        protocol: ``jda`` (2000/1800 transductive), ``full`` (official / seeded parts) or
            ``adda`` (ADDA's seeded 2,000 / 1,800 training images, 28×28).
        **kwargs: ``split_seed``, ``test_fraction``, ``max_examples`` of :class:`DomainSource`.
    """

    memoizable = True  # a pure function of its settings and files (da.data.memo)

    modality = "images"
    #: arrays of this domain in MNIST_vs_USPS.mat: (images, labels)
    jda_keys: tuple[str, str] = ("", "")
    #: training images of protocol ``adda`` (ADDA: MNIST2000, USPS1800)
    adda_size: int = 0

    def __init__(self, name: str, protocol: str = "jda", **kwargs) -> None:
        super().__init__(name, **kwargs)
        if protocol not in PROTOCOLS:
            raise ConfigError(f"unknown digits protocol '{protocol}' for domain '{name}'; choose "
                              f"one of {list(PROTOCOLS)} ({name}.protocol=jda).")
        self.protocol = protocol

    def load(self, data_dir: str | os.PathLike | None = None) -> DomainData:
        data = super().load(data_dir)
        data.classes = list(DIGIT_CLASSES)
        return data

    def read_parts(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        if self.protocol == "full":
            return self.read_full(data_dir)
        if self.protocol == "adda":
            return self.read_adda(data_dir)
        path = dataset_dir(data_dir, JDA_FOLDER, self.name, JDA_HOME) / JDA_FILE
        images, labels = self.jda_keys
        arrays = read_h5(path, [images, labels])
        whole = Split(as_images(arrays[images], path), check_labels(arrays[labels], path, 1))
        notes = (f"jda protocol: the {len(whole)} images of {JDA_FILE}, transductive (the test "
                 f"part is the training part; target labels are used for testing only)")
        return whole, whole, notes

    def read_full(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        """``(train, test, notes)`` of the ``full`` protocol."""
        raise NotImplementedError

    def read_adda(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        """``(train, test, notes)`` of the ``adda`` protocol."""
        raise NotImplementedError


class Mnist(Digits):
    """MNIST (LeCun et al., Proc. IEEE 1998): jda = 2,000 images; full = the 10k test images;
    adda = 2,000 of the 10k test images for training, the other 8,000 for testing."""

    home = ("http://yann.lecun.com/exdb/mnist/ (t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz)")
    folder = "mnist_idx"
    jda_keys = ("Xs", "Ys")
    adda_size = 2000

    def read_test_images(self, data_dir: str | os.PathLike | None) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        """The 10,000 official test images, uint8 ``(n, 28, 28)``, and their labels."""
        folder = dataset_dir(data_dir, self.folder, self.name, self.home)
        images_path = folder / "t10k-images-idx3-ubyte.gz"
        labels_path = folder / "t10k-labels-idx1-ubyte.gz"
        images = parse_idx(read_bytes(images_path), images_path, 3)
        labels = check_labels(parse_idx(read_bytes(labels_path), labels_path, 1), labels_path)
        if len(images) != len(labels):
            raise DataError(f"{images_path} holds {len(images)} images but {labels_path} "
                            f"{len(labels)} labels; restore the files.")
        return images, labels

    def read_all(self, data_dir: str | os.PathLike | None) -> Split:
        images, labels = self.read_test_images(data_dir)
        return Split(resize(images), labels)

    def read_adda(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        images, labels = self.read_test_images(data_dir)
        whole = Split((images.astype(np.float32) / 255.0)[:, None], labels)  # 28x28 as is
        train, test = seeded_sample(len(whole), self.adda_size, self.split_seed)
        return whole.subset(train), whole.subset(test), (
            f"adda protocol: {len(train)} of the {len(whole)} MNIST test images (no training "
            f"images in {self.folder}) drawn uniformly with split_seed={self.split_seed} for "
            f"training, the other {len(test)} for testing; 28x28")

    def read_full(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        train, test, notes = DomainSource.read_parts(self, data_dir)
        return train, test, (f"full protocol: the 10,000 MNIST test images (no MNIST training "
                             f"images in {self.folder}) resized 28x28 -> 16x16, {notes}")


class Usps(Digits):
    """USPS (Hull, TPAMI 1994): jda = 1,800 images; full = official 7,291 train / 2,007 test;
    adda = 1,800 of the 7,291 training images / the 2,007 test images, 28×28."""

    home = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps (usps.h5)"
    folder = "usps_h5"
    jda_keys = ("Xt", "Yt")
    adda_size = 1800

    def read_full(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        path = dataset_dir(data_dir, self.folder, self.name, self.home) / "usps.h5"
        keys = [f"{part}/{what}" for part in ("train", "test") for what in ("data", "target")]
        arrays = read_h5(path, keys)
        train, test = (Split(as_images(arrays[f"{p}/data"], path),
                             check_labels(arrays[f"{p}/target"], path)) for p in ("train", "test"))
        return train, test, "full protocol: official usps.h5 train / test parts"

    def read_adda(self, data_dir: str | os.PathLike | None) -> tuple[Split, Split, str]:
        full, test, _ = self.read_full(data_dir)
        chosen, _ = seeded_sample(len(full), self.adda_size, self.split_seed)
        train = full.subset(chosen)
        train, test = (Split(resize(p.x[:, 0], ADDA_SIZE), p.y) for p in (train, test))
        return train, test, (
            f"adda protocol: {len(train)} of the {len(full)} usps.h5 training images drawn "
            f"uniformly with split_seed={self.split_seed}, the {len(test)} official test images; "
            f"16x16 -> 28x28 (bilinear, antialias)")


__all__ = ["Digits", "Mnist", "Usps", "DIGIT_CLASSES", "parse_idx", "read_h5", "resize",
           "seeded_sample"]
