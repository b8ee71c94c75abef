"""WeightedSum (da/losses/composite.py): the weighted components against their references, its
argument checks, and conf/method/dann_entropy.yaml."""

from __future__ import annotations

import math

import pytest
import torch

from da.losses import DANNLoss, EntropyLoss, MCCLoss, WeightedSum
from da.schedules import Constant, GaninSchedule
from tests.losses.inputs import call_on_logits, random_logits
from tests.losses.reference import np_entropy_loss, np_mcc


def test_weighted_sum_matches_the_weighted_components():
    torch.manual_seed(0)
    f_s, f_t = torch.randn(5, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64) + 1
    z = random_logits(6, 3, seed=1)
    dann = DANNLoss(4, (8,), coeff=Constant(1.0)).double()
    combo = WeightedSum({"dann": dann, "ent": EntropyLoss(), "mcc": MCCLoss()},
                        {"ent": 0.1, "mcc": GaninSchedule(2.0)})
    value = call_on_logits(combo, z, f_s=f_s, f_t=f_t, progress=0.3)
    ramp = 2.0 * (2 / (1 + math.exp(-3.0)) - 1)
    expected = (call_on_logits(dann, z, f_s=f_s, f_t=f_t).item() + 0.1 * np_entropy_loss(z.numpy())
                + ramp * np_mcc(z.numpy()))
    assert value.item() == pytest.approx(expected, rel=1e-10)
    d = combo.diagnostics
    assert d["dann/weight"] == 1.0 and d["ent/weight"] == 0.1
    assert d["mcc/weight"] == pytest.approx(ramp)
    assert float(d["ent/loss"]) == pytest.approx(np_entropy_loss(z.numpy()), rel=1e-10)
    assert {"dann/grl_coeff", "dann/disc_acc", "dann/loss", "mcc/loss"} <= set(d)
    # the discriminator is a submodule: it is trained with the model
    assert {id(p) for p in dann.parameters()} <= {id(p) for p in combo.parameters()}


def test_weighted_sum_checks_its_arguments():
    with pytest.raises(ValueError, match="at least one"):
        WeightedSum({})
    with pytest.raises(ValueError, match=r"\['entropy'\] name no component"):
        WeightedSum({"ent": EntropyLoss()}, {"entropy": 0.1})
    with pytest.raises(ValueError, match="not a loss"):
        WeightedSum({"ent": {"temperature": 2}})


def test_dann_entropy_config_is_dann_plus_a_hundredth_of_entropy(compose_cfg):
    from hydra.utils import instantiate

    cfg = compose_cfg(["method=dann_entropy", "encoder=mlp"])
    loss = instantiate(cfg.method.loss)
    assert isinstance(loss, WeightedSum)
    assert isinstance(loss.components["dann"], DANNLoss)
    assert isinstance(loss.components["entropy"], EntropyLoss)
    assert loss.weight("dann", 0.5) == 1.0 and loss.weight("entropy", 0.5) == pytest.approx(0.01)
    assert loss.components["entropy"].diversity == 0.0  # see conf/method/dann_entropy.yaml
