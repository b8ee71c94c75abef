"""Schedules of training progress (da/schedules.py): Ganin's ramp and the constant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from da.schedules import Constant, GaninSchedule


@pytest.mark.parametrize("value", [1.0, 0.1, 2.5])
def test_ganin_schedule_endpoints(value):
    s = GaninSchedule(value=value)
    assert s(0.0) == 0.0
    assert s(1.0) == pytest.approx(value * (2.0 / (1.0 + math.exp(-10.0)) - 1.0), rel=1e-12)
    assert s(0.5) == pytest.approx(value * (2.0 / (1.0 + math.exp(-5.0)) - 1.0), rel=1e-12)


def test_ganin_schedule_monotone_and_bounded():
    s = GaninSchedule(value=1.0)
    ps = np.linspace(0.0, 1.0, 201)
    vals = np.array([s(float(p)) for p in ps])
    assert np.all(np.diff(vals) > 0)
    assert vals.min() >= 0.0 and vals.max() < 1.0
    expected = 2.0 / (1.0 + np.exp(-10.0 * ps)) - 1.0
    np.testing.assert_allclose(vals, expected, rtol=1e-12, atol=1e-15)


def test_ganin_schedule_gamma_and_clamping():
    s = GaninSchedule(value=1.0, gamma=3.0)
    assert s(1.0) == pytest.approx(2.0 / (1.0 + math.exp(-3.0)) - 1.0)
    assert s(-0.5) == s(0.0) == 0.0
    assert s(1.7) == s(1.0)


@pytest.mark.parametrize("kwargs", [dict(value=-0.1), dict(gamma=0.0), dict(gamma=-1.0)])
def test_ganin_schedule_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        GaninSchedule(**kwargs)


def test_constant_schedule():
    c = Constant(0.3)
    assert c(0.0) == c(0.5) == c(1.0) == 0.3
    assert Constant(0.0)(0.7) == 0.0
    assert Constant()(0.2) == 1.0


@pytest.mark.parametrize("value", [-1.0, -1e-9])
def test_constant_rejects_negative(value):
    with pytest.raises(ValueError):
        Constant(value)


def test_ganin_schedule_without_ramp_is_constant():
    # gamma=None: the value from the first step (MCD's paper weight, conf/recipe/adda_digits/mcd.yaml)
    s = GaninSchedule(value=0.7, gamma=None)
    assert [s(p) for p in (0.0, 0.01, 0.5, 1.0)] == [0.7] * 4
