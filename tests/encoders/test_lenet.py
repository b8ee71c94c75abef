"""The LeNet encoder (da/encoders/lenet.py): shapes, errors, and DANN with it from MNIST to USPS
end to end."""

from __future__ import annotations


import pytest
import torch
from hydra.utils import instantiate
from torch import nn

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


def _adda_lenet_parameters() -> dict[str, int]:
    """Parameters of ADDA's LeNet (erictzeng/adda, adda/models/lenet.py) on 1x28x28 inputs,
    layer by layer: 'VALID' 5x5 convs 20 and 50 (28 -> 24 -> 12 -> 8 -> 4), fc3 500, fc4 10."""
    return {"conv1": 5 * 5 * 1 * 20 + 20, "conv2": 5 * 5 * 20 * 50 + 50,
            "fc3": 4 * 4 * 50 * 500 + 500, "fc4": 500 * 10 + 10}


def test_lenet_adda_matches_addas_lenet(compose_cfg):
    cfg = compose_cfg(["experiment=mnist2000_to_usps1800"])
    assert cfg.encoder.name == "lenet_adda" and cfg.encoder.out_dim == 500
    assert cfg.head.hidden_dims == []  # fc4: a linear classifier on the 500 features
    encoder = instantiate(cfg.encoder.model, in_dim=28 * 28)
    expected = _adda_lenet_parameters()
    convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (20, (5, 5), (0, 0)), (50, (5, 5), (0, 0))]
    assert encoder.fc[0].in_features == 800 and encoder.fc[0].out_features == 500
    n_encoder = sum(p.numel() for p in encoder.parameters())
    assert n_encoder == expected["conv1"] + expected["conv2"] + expected["fc3"] == 426_070
    head = torch.nn.Linear(cfg.encoder.out_dim, 10)
    assert n_encoder + sum(p.numel() for p in head.parameters()) == sum(expected.values())
    assert not [m for m in encoder.modules() if isinstance(m, (nn.Dropout, nn.Dropout2d))]
    out = encoder(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 500) and (out >= 0).all()  # ReLU after fc3
    for layer in [*convs, encoder.fc[0]]:  # TF-slim's defaults: Glorot uniform, zero biases
        fan_in = layer.weight[0].numel()
        fan_out = layer.weight.shape[0] * layer.weight[0, 0].numel()
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert (layer.bias == 0).all() and layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound


def test_lenet_without_fc_gives_the_pooled_maps_and_checks_out_dim():
    # MCD's generator (fc=False): 48 x 4 x 4 pooled maps are the features
    enc = LeNetEncoder(in_dim=28 * 28, out_dim=768, channels=(32, 48), fc=False, batch_norm=True,
                       dropout2d=0.0)
    x = torch.rand(5, 1, 28, 28)
    assert enc(x).shape == (5, 768) and (enc(x) >= 0).all()
    assert sum(isinstance(m, nn.BatchNorm2d) for m in enc.modules()) == 2
    with pytest.raises(ConfigError, match="encoder.out_dim=768"):
        LeNetEncoder(in_dim=28 * 28, out_dim=500, channels=(32, 48), fc=False)


def test_lenet_input_normalization():
    torch.manual_seed(0)
    enc = LeNetEncoder(in_dim=28 * 28, input_mean=0.5, input_std=0.5, dropout2d=0.0).eval()
    plain = LeNetEncoder(in_dim=28 * 28, dropout2d=0.0).eval()
    plain.load_state_dict(enc.state_dict())
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(enc(x), plain((x - 0.5) / 0.5))
    assert not torch.allclose(enc(x), plain(x))
    with pytest.raises(ConfigError, match="input_std"):
        LeNetEncoder(in_dim=28 * 28, input_std=0.0)


def test_lenet_state_dict_keys_are_unchanged_without_batch_norm():
    # checkpoints of runs before batch_norm existed keep loading (resume, step checkpoints)
    keys = set(LeNetEncoder(in_dim=28 * 28, padding=0).state_dict())
    assert keys == {"features.0.weight", "features.0.bias", "features.3.weight",
                    "features.3.bias", "fc.0.weight", "fc.0.bias"}
