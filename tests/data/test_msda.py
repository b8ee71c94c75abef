"""mSDA features (da/data/msda.py): the closed form against explicit corruption, the stacked
representation, the datamodule cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.data.cache import arrays_key
from da.data.msda import MSDA, msda_layer
from da.errors import ConfigError

from tests.helpers import QUICK


def test_closed_form_equals_least_squares_on_many_corrupted_copies():
    """Chen et al.'s W is the limit of denoising least squares over infinitely many dropout
    corruptions; check it against an explicit solve over 40,000 corrupted copies."""
    rng = np.random.default_rng(0)
    x = rng.poisson(1.5, size=(30, 5)).astype(np.float32)
    noise = 0.4
    copies = np.tile(x, (40_000 // len(x), 1))
    corrupted = copies * (rng.random(copies.shape) >= noise)
    with_bias = np.hstack([corrupted, np.ones((len(copies), 1))])
    reference, *_ = np.linalg.lstsq(with_bias, copies, rcond=None)
    closed = msda_layer(x, noise, reg=0.0)
    assert closed.shape == (6, 5)
    np.testing.assert_allclose(closed, reference, atol=0.03)
    assert np.abs(closed - msda_layer(x, 0.0, reg=0.0)).max() > 0.1  # the noise matters


def test_zero_noise_layer_reconstructs_its_input():
    x = np.random.default_rng(1).random((40, 4)).astype(np.float32)
    weight = msda_layer(x, 0.0, reg=0.0)
    np.testing.assert_allclose(x @ weight[:-1] + weight[-1], x, atol=1e-4)


def test_stacked_representation_concatenates_input_and_layers():
    x = np.random.default_rng(2).poisson(1.0, size=(50, 8)).astype(np.float32)
    model = MSDA(layers=3, noise=0.5).fit(x)
    out = model.transform(x[:7])
    assert out.shape == (7, 8 * 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :8], x[:7])
    assert np.abs(out[:, 8:]).max() <= 1.0  # tanh layers
    h1 = np.tanh(x[:7] @ model.weights[0][:-1] + model.weights[0][-1])
    np.testing.assert_allclose(out[:, 8:16], h1, rtol=1e-6)
    with pytest.raises(ValueError, match="noise"):
        MSDA(noise=1.0)
    with pytest.raises(RuntimeError, match="before fit"):
        MSDA().transform(x)


def test_arrays_key_depends_on_values_shape_and_settings():
    a = np.zeros((3, 2), np.float32)
    b = a.copy()
    b[1, 1] = 1
    keys = {arrays_key("m", a), arrays_key("m", b), arrays_key("m", a.reshape(2, 3)),
            arrays_key("n", a)}
    assert len(keys) == 4 and arrays_key("m", a) == arrays_key("m", a.copy())


def test_datamodule_fits_on_training_inputs_and_caches(compose_cfg, tmp_path, monkeypatch):
    from da.run.build import build_datamodule
    msda = "encoder.denoiser={_target_:da.data.msda.MSDA,layers:1,noise:%s}"
    overrides = [*QUICK, f"cache_dir={tmp_path / 'cache'}"]
    fitted = []
    original_fit = MSDA.fit
    monkeypatch.setattr(MSDA, "fit", lambda self, x: fitted.append(x.shape) or original_fit(self, x))
    first = build_datamodule(compose_cfg([*overrides, msda % 0.5]))
    n_fit = len(first.parts["source_train"]) + len(first.parts["target_train"])
    assert fitted == [(n_fit, 5000)] and first.input_dim == 10000
    files = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "cache" / "msda").iterdir())
    assert files == ["source_train.npy", "source_val.npy", "target_test.npy", "target_train.npy"]
    second = build_datamodule(compose_cfg([*overrides, msda % 0.5]))
    assert len(fitted) == 1  # a cache hit: no second fit
    for part in first.parts:
        assert torch.equal(first.parts[part].x, second.parts[part].x)
    third = build_datamodule(compose_cfg([*overrides, msda % 0.3]))
    assert len(fitted) == 2 and not torch.equal(third.parts["source_val"].x,
                                                first.parts["source_val"].x)


def test_denoiser_needs_vector_inputs(compose_cfg):
    from da.run.build import build_datamodule
    with pytest.raises(ConfigError, match="encoder.denoiser transforms vectors, but the encoder "
                                          "takes images"):
        build_datamodule(compose_cfg(["source=mnist", "target=usps", "encoder=lenet",
                                      "+encoder.denoiser={_target_:da.data.msda.MSDA}"]))
