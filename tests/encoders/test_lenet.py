"""The LeNet encoder (da/encoders/lenet.py): shapes, errors, and DANN with it from MNIST to USPS
end to end."""

from __future__ import annotations


import pytest
import torch

from da.encoders.lenet import LeNetEncoder
from da.errors import ConfigError
from tests.helpers import da_train, majority_rate, metrics_of, run_of


@pytest.mark.parametrize("shape,padding,flat", [((16, 16), 2, 800), ((28, 28), 0, 800),
                                                ((28, 28), 2, 2450), ((16, 16), 0, 50)])
def test_lenet_shapes(shape, padding, flat):
    h, w = shape
    enc = LeNetEncoder(in_dim=h * w, out_dim=500, padding=padding)
    assert enc.fc[0].in_features == flat  # 50 channels x the map left after 2 convs and pools
    out = enc(torch.rand(3, 1, h, w))
    assert out.shape == (3, 500) and (out >= 0).all()  # ReLU features
    assert enc(torch.rand(2, h * w)).shape == (2, 500)  # flattened input works too


def test_lenet_bad_shapes():
    with pytest.raises(ConfigError, match="not 1 square"):
        LeNetEncoder(in_dim=250)
    with pytest.raises(ConfigError, match="too small"):
        LeNetEncoder(in_dim=64)  # 8x8 without padding
    assert LeNetEncoder(in_shape=[3, 20, 12], padding=2).in_shape == (3, 20, 12)


@pytest.mark.slow
def test_da_train_lenet_dann_beats_chance(data_dir, tmp_path):
    # the whole 2000/1800 set is small (about 10 s of CPU time for 4 epochs)
    result = da_train(["source=mnist", "target=usps", "encoder=lenet", "method=dann",
                       "trainer.max_epochs=4", "trainer.enable_progress_bar=false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run, metrics = run_of(tmp_path), metrics_of(tmp_path)
    # 10 classes: the largest USPS class (digit 0) is 0.196 of the images (measured: 0.734)
    majority = majority_rate(run)
    assert metrics["test/target_acc"] >= majority + 0.3, (metrics["test/target_acc"], majority)
    assert metrics["val/source_acc"] > 0.8
