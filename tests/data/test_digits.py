"""Digit domains (MNIST, USPS; da/data/digits.py): counts, orientation, corrupt files, and
flattened digits for encoder=mlp."""

from __future__ import annotations

import gzip
import shutil
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from da.run.build import build_datamodule, build_encoder
from da.data.datamodule import check_compatible
from da.data.digits import Mnist, Usps, parse_idx, resize
from da.data.types import DomainData, Split
from da.encoders.inputs import check_encoder_fits
from da.errors import ConfigError, DataError

# Class counts (digits 0..9) from each dataset's PROVENANCE.md.
JDA_MNIST = [196, 227, 207, 202, 196, 179, 191, 206, 195, 201]
JDA_USPS = [352, 241, 165, 166, 166, 126, 139, 172, 129, 144]
USPS_TRAIN = [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]
USPS_TEST = [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]
MNIST_T10K = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LOADERS = {"mnist-jda": Mnist("mnist"), "usps-jda": Usps("usps"),
           "mnist-full": Mnist("mnist", protocol="full"),
           "usps-full": Usps("usps", protocol="full"),
           "mnist-adda": Mnist("mnist2000", protocol="adda"),
           "usps-adda": Usps("usps1800", protocol="adda")}


def _load(data_dir, key: str) -> DomainData:
    return LOADERS[key].load(data_dir)


@pytest.mark.parametrize("key,counts", [("mnist-jda", JDA_MNIST), ("usps-jda", JDA_USPS)])
def test_jda_counts_are_transductive(data_dir, key, counts):
    domain = _load(data_dir, key)
    assert domain.modality == "images" and domain.classes == [str(d) for d in range(10)]
    assert domain.train.x.shape == (sum(counts), 1, 16, 16) and domain.train.x.dtype == np.float32
    assert np.bincount(domain.train.y, minlength=10).tolist() == counts
    assert domain.test.x is domain.train.x  # the test part is the same images


def test_jda_labels_are_mat_labels_minus_one(data_dir):
    with h5py.File(data_dir / "mnist_usps_jda" / "MNIST_vs_USPS.mat", "r") as f:
        xs, ys, yt = f["Xs"][:], f["Ys"][:], f["Yt"][:]
    mnist, usps = _load(data_dir, "mnist-jda"), _load(data_dir, "usps-jda")
    assert (mnist.train.y == ys[0] - 1).all() and (usps.train.y == yt[0] - 1).all()
    np.testing.assert_allclose(mnist.train.x[5, 0], xs[5].reshape(16, 16), rtol=1e-6)


def test_full_counts(data_dir):
    usps = _load(data_dir, "usps-full")
    assert np.bincount(usps.train.y).tolist() == USPS_TRAIN
    assert np.bincount(usps.test.y).tolist() == USPS_TEST
    mnist = _load(data_dir, "mnist-full")
    assert mnist.train.x.shape[1:] == (1, 16, 16) == usps.test.x.shape[1:]
    total = np.bincount(mnist.train.y) + np.bincount(mnist.test.y)
    assert total.tolist() == MNIST_T10K and len(mnist.test) == 3000  # stratified 70/30
    assert 0.0 <= mnist.train.x.min() and mnist.train.x.max() <= 1.0


@pytest.mark.parametrize("key", sorted(LOADERS))
def test_images_are_upright(data_dir, key):
    domain = _load(data_dir, key)
    mean = {d: domain.train.x[domain.train.y == d, 0].mean(0) for d in (1, 3, 7)}
    half = mean[1].shape[0] // 2  # 8 (16x16) or 14 (28x28, protocol adda)
    # a '1' is a vertical stroke: column means vary more than row means (fails if transposed)
    assert mean[1].mean(0).var() > 3 * mean[1].mean(1).var()
    assert mean[7][:half].sum() > mean[7][half:].sum()  # the bar of a '7' is at the top
    assert mean[3][:, half:].sum() > mean[3][:, :half].sum()  # a '3' opens to the left


@pytest.mark.parametrize("key,sizes", [("mnist-adda", (2000, 8000)),
                                       ("usps-adda", (1800, 2007))])
def test_adda_sizes_shape_and_range(data_dir, key, sizes):
    # ADDA's MNIST2000 / USPS1800 (Tzeng et al. 2017), 28x28 in [0, 1]
    domain = _load(data_dir, key)
    assert (len(domain.train), len(domain.test)) == sizes
    for part in (domain.train, domain.test):
        assert part.x.shape[1:] == (1, 28, 28) and part.x.dtype == np.float32
        assert part.x.min() == 0.0 and 0.99 < part.x.max() <= 1.0
    assert domain.classes == [str(d) for d in range(10)] and domain.modality == "images"


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


def test_adda_mnist_parts_are_disjoint_and_cover_the_test_set(data_dir):
    domain = _load(data_dir, "mnist-adda")
    train, test = _rows(domain.train.x), _rows(domain.test.x)
    assert not train & test  # no image in both parts
    assert len(train | test) == 10000  # the 10,000 distinct MNIST test images, each once
    total = np.bincount(domain.train.y, minlength=10) + np.bincount(domain.test.y, minlength=10)
    assert total.tolist() == MNIST_T10K
    raw, _ = Mnist("mnist").read_test_images(data_dir)  # kept at 28x28: exactly the bytes / 255
    as_bytes = (domain.train.x[:, 0] * 255).round().astype(np.uint8)
    np.testing.assert_allclose(as_bytes / np.float32(255), domain.train.x[:, 0], atol=1e-7)
    assert _rows(as_bytes) <= _rows(raw)


def test_adda_usps_draws_from_the_official_training_part(data_dir):
    domain, full = _load(data_dir, "usps-adda"), _load(data_dir, "usps-full")
    assert np.bincount(domain.test.y).tolist() == USPS_TEST
    assert np.array_equal(domain.test.x, resize(full.test.x[:, 0], 28))
    official = _rows(resize(full.train.x[:, 0], 28))
    assert _rows(domain.train.x) <= official and len(_rows(domain.train.x)) == 1800


@pytest.mark.parametrize("cls,name", [(Mnist, "mnist2000"), (Usps, "usps1800")])
def test_adda_sample_is_fixed_by_split_seed(data_dir, cls, name):
    first = cls(name, protocol="adda").load(data_dir)
    again = cls(name, protocol="adda").load(data_dir)  # a new loader: no shared state
    assert np.array_equal(first.train.x, again.train.x)
    assert np.array_equal(first.train.y, again.train.y)
    assert np.array_equal(first.test.x, again.test.x)
    other = cls(name, protocol="adda", split_seed=1).load(data_dir)
    assert len(other.train) == len(first.train)
    assert not np.array_equal(other.train.y, first.train.y)  # the seed chooses the sample
    # uniform, not stratified: the class counts follow the draw
    assert np.bincount(first.train.y).tolist() != np.bincount(other.train.y).tolist()


def test_max_examples_keeps_jda_parts_identical(data_dir):
    domain = Usps("usps", max_examples=300).load(data_dir)
    assert len(domain.train) == 300 and (domain.train.y == domain.test.y).all()
    assert np.array_equal(domain.train.x, domain.test.x)


def test_resize_and_idx_parser():
    img = np.zeros((2, 28, 28), dtype=np.uint8)
    img[0] = 255
    img[1, :, 14:] = 255  # right half white
    out = resize(img)
    assert out.shape == (2, 1, 16, 16) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], 1.0, atol=1e-6)
    assert out[1, 0, :, :7].max() < 1e-6 and out[1, 0, :, 9:].min() > 1 - 1e-6
    data = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") * 2 + bytes(18)
    assert parse_idx(data, "x", 3).shape == (2, 3, 3)
    with pytest.raises(DataError, match="truncated"):
        parse_idx(data[:-1], "x", 3)
    with pytest.raises(DataError, match="IDX"):
        parse_idx(data, "x", 1)


def _copy(data_dir, tmp_path, folder: str):
    shutil.copytree(data_dir / folder, tmp_path / folder)
    for path in (tmp_path / folder).iterdir():
        path.chmod(0o644)
    return tmp_path / folder


@pytest.mark.parametrize("loader,folder,name", [
    (Mnist("mnist"), "mnist_usps_jda", "MNIST_vs_USPS.mat"),
    (Usps("usps", protocol="full"), "usps_h5", "usps.h5")])
def test_corrupt_hdf5_is_a_data_error(data_dir, tmp_path, monkeypatch, loader, folder, name):
    path = _copy(data_dir, tmp_path, folder) / name
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=name):  # caught by the checksum check (da.data.integrity)
        loader.load(tmp_path)
    monkeypatch.setenv("DA_VERIFY_DATA", "0")  # past the checksum: the HDF5 reader's own errors
    with pytest.raises(DataError, match=f"corrupt or unreadable HDF5 file .*{name}"):
        loader.load(tmp_path)
    with h5py.File(path, "w") as f:  # valid HDF5 without the expected arrays
        f["other"] = np.zeros(3)
    with pytest.raises(DataError, match="no dataset"):
        loader.load(tmp_path)
    path.unlink()
    with pytest.raises(DataError, match="missing data file"):
        loader.load(tmp_path)


def test_corrupt_mnist_idx_is_a_data_error(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DA_VERIFY_DATA", "0")  # past the checksum: the IDX reader's own errors
    path = _copy(data_dir, tmp_path, "mnist_idx") / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(DataError, match="header says"):
        Mnist("mnist", protocol="full").load(tmp_path)
    path.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="corrupt or truncated"):
        Mnist("mnist", protocol="full").load(tmp_path)


def test_unknown_protocol():
    with pytest.raises(ConfigError, match="protocol"):
        Usps("usps", protocol="ADDA")


def test_image_domains_need_one_shape_and_feed_mlp():
    def domain(name, side):
        return DomainData(name, "images", Split(np.zeros((2, 1, side, side)), [0, 1]),
                          Split(np.zeros((2, 1, side, side)), [0, 1]), classes=["0", "1"])
    check_compatible(domain("a", 16), domain("b", 16))  # flattened for encoder=mlp
    with pytest.raises(DataError, match="one image shape"):
        check_compatible(domain("a", 16), domain("b", 28))
    with pytest.raises(ConfigError, match="holds images but the encoder takes text"):
        check_encoder_fits("text", SimpleNamespace(name="a", modality="images"))
    with pytest.raises(ConfigError, match="encoder=lenet"):  # the encoder side names the fits
        check_encoder_fits("text", SimpleNamespace(name="a", modality="images"))


def test_mlp_encoder_on_flattened_digits(data_dir, compose_cfg):
    cfg = compose_cfg(["source=mnist", "target=usps", "encoder=mlp", "source.max_examples=200",
                       "target.max_examples=200"])
    datamodule = build_datamodule(cfg)
    encoder, _ = build_encoder(cfg, datamodule)
    assert datamodule.input_dim == 256 and encoder.in_dim == 256
    x, y = next(iter(datamodule.val_dataloader()[0]))
    assert x.shape[1:] == (1, 16, 16) and encoder(x).shape == (len(y), cfg.encoder.out_dim)
