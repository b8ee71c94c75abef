"""What every alignment loss of da/losses shares: finite values and gradients on degenerate batches
(a single example, constant or saturated inputs, float32), gradients that reach the features,
and the keyword contract of da/losses/base.py (extra keywords ignored)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from da.losses import (AlignmentCriterion, BNMLoss, CORALLoss, EntropyLoss, JMMDLoss, MCCLoss,
                       MMDLoss)
from da.schedules import Constant
from tests.losses.inputs import (call_conditional, call_on_features, call_on_logits,
                                 feature_batches, make_cdan, make_dann)
from tests.losses.reference import np_coral, np_dann, np_disc_params, np_mmd2


# --------------------------------------------------------------------------------------------
# MMD, CORAL, DANN (features)
# --------------------------------------------------------------------------------------------

def _degenerate_feature_batches():
    g = torch.Generator().manual_seed(123)
    d = 4
    r = lambda k: torch.randn(k, d, generator=g, dtype=torch.float64)  # noqa: E731
    const = lambda k, v: torch.full((k, d), v, dtype=torch.float64)  # noqa: E731
    return {
        "1v1": (r(1), r(1)),
        "1v8": (r(1), r(8)),
        "8v1": (r(8), r(1)),
        "1v1_same": (const(1, 0.3), const(1, 0.3)),
        "const_both_same": (const(6, 2.0), const(6, 2.0)),
        "const_both_diff": (const(5, 2.0), const(7, -1.0)),
        "const_source_only": (const(5, 3.0), r(7)),
        "const_1v8": (const(1, 3.0), const(8, 3.0)),
        "zeros": (torch.zeros(4, d, dtype=torch.float64), torch.zeros(4, d, dtype=torch.float64)),
        "large_const": (const(6, 1e3), const(6, 1e3)),
    }


FEATURE_LOSSES = {
    "mmd": lambda d: MMDLoss(),
    "coral": lambda d: CORALLoss(),
    "dann": lambda d: make_dann(d, (8,), coeff=Constant(1.0)),
}


@pytest.mark.parametrize("case", list(_degenerate_feature_batches()))
@pytest.mark.parametrize("loss_name", list(FEATURE_LOSSES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_feature_losses_finite_on_degenerate_inputs(loss_name, case, dtype):
    f_s, f_t = _degenerate_feature_batches()[case]
    f_s = f_s.to(dtype).requires_grad_(True)
    f_t = f_t.to(dtype).requires_grad_(True)
    loss_fn = FEATURE_LOSSES[loss_name](f_s.shape[1]).to(dtype)
    loss = call_on_features(loss_fn, f_s, f_t)
    assert loss.dim() == 0
    assert torch.isfinite(loss), f"{loss_name}/{case}: {loss}"
    loss.backward()
    assert f_s.grad is not None and f_t.grad is not None
    assert torch.isfinite(f_s.grad).all() and torch.isfinite(f_t.grad).all(), loss_name


@pytest.mark.parametrize("case", ["1v1", "1v8", "8v1", "const_both_same", "const_both_diff",
                                  "const_source_only"])
def test_degenerate_inputs_match_references(case):
    f_s, f_t = _degenerate_feature_batches()[case]
    xs, xt = f_s.numpy(), f_t.numpy()
    np.testing.assert_allclose(call_on_features(MMDLoss(), f_s, f_t).item(), np_mmd2(xs, xt),
                               rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(call_on_features(CORALLoss(), f_s, f_t).item(), np_coral(xs, xt),
                               rtol=1e-5, atol=1e-12)
    dann = make_dann(4, (8,), coeff=Constant(1.0))
    np.testing.assert_allclose(call_on_features(dann, f_s, f_t).item(),
                               np_dann(np_disc_params(dann.discriminator), xs, xt)[0], rtol=1e-5)


@pytest.mark.parametrize("loss_name", list(FEATURE_LOSSES))
@pytest.mark.parametrize("m,n", [(5, 7), (6, 6)])
def test_gradients_reach_features(loss_name, m, n):
    f_s, f_t = feature_batches(m, n, 4, seed=21)
    f_s.requires_grad_(True)
    f_t.requires_grad_(True)
    loss = call_on_features(FEATURE_LOSSES[loss_name](4), f_s, f_t)
    loss.backward()
    assert f_s.grad.abs().sum().item() > 1e-8, loss_name
    assert f_t.grad.abs().sum().item() > 1e-8, loss_name


@pytest.mark.parametrize("loss_name", list(FEATURE_LOSSES))
def test_losses_ignore_extra_keywords(loss_name):
    f_s, f_t = feature_batches(5, 7, 4, seed=31)
    loss_fn = FEATURE_LOSSES[loss_name](4)
    plain = loss_fn(f_s=f_s, f_t=f_t)
    g = torch.Generator().manual_seed(5)
    full = loss_fn(f_s=f_s, f_t=f_t, logits_s=torch.randn(5, 3, generator=g),
                   logits_t=torch.randn(7, 3, generator=g), y_s=torch.tensor([0, 1, 2, 0, 1]),
                   progress=1.0, some_unknown=1)
    assert torch.isfinite(full)
    assert full.item() == pytest.approx(plain.item(), rel=1e-12)


@pytest.mark.parametrize("loss_name", ["mmd", "coral"])
def test_progress_does_not_change_schedule_free_losses(loss_name):
    f_s, f_t = feature_batches(5, 7, 4, seed=32)
    loss_fn = FEATURE_LOSSES[loss_name](4)
    a = call_on_features(loss_fn, f_s, f_t, progress=0.0).item()
    b = call_on_features(loss_fn, f_s, f_t, progress=1.0).item()
    assert a == b


# --------------------------------------------------------------------------------------------
# Entropy, BNM, MCC (target logits)
# --------------------------------------------------------------------------------------------

PREDICTION_LOSSES, PREDICTION_LOSS_IDS = ([EntropyLoss(), BNMLoss(), MCCLoss()],
                                          ["entropy", "bnm", "mcc"])


DEGENERATE_LOGITS = {
    "one_row": torch.randn(1, 3),
    "one_class_never_predicted_f32": torch.tensor([[200.0, 0.0, -200.0]] * 4),
    "saturated_f32": torch.tensor([[1e4, -1e4], [-1e4, 1e4], [1e4, -1e4]]),
    "all_equal": torch.zeros(6, 5),
    "huge_equal": torch.full((4, 3), 1e6),
    "two_classes_one_row": torch.tensor([[3.0, -3.0]]),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE_LOGITS))
@pytest.mark.parametrize("loss", PREDICTION_LOSSES, ids=PREDICTION_LOSS_IDS)
def test_finite_on_degenerate_logits(loss, name):
    z = DEGENERATE_LOGITS[name].clone().requires_grad_(True)
    value = call_on_logits(loss, z)
    assert value.dim() == 0 and torch.isfinite(value), value
    value.backward()
    assert torch.isfinite(z.grad).all(), z.grad


@pytest.mark.parametrize("loss", PREDICTION_LOSSES, ids=PREDICTION_LOSS_IDS)
def test_gradient_reaches_features_through_the_head(loss):
    """These losses read logits_t only; the encoder still learns through the classifier head."""
    f_t = torch.randn(7, 5, requires_grad=True)
    head = torch.nn.Linear(5, 3)
    value = loss(f_s=torch.randn(4, 5), f_t=f_t, logits_s=torch.randn(4, 3), logits_t=head(f_t),
                 y_s=torch.zeros(4, dtype=torch.long), progress=0.0)
    value.backward()
    assert f_t.grad.abs().sum() > 0 and head.weight.grad.abs().sum() > 0
    assert isinstance(loss, AlignmentCriterion)


# --------------------------------------------------------------------------------------------
# CDAN, JMMD (features and logits)
# --------------------------------------------------------------------------------------------

CONDITIONAL_LOSSES = {
    "cdan": lambda: make_cdan(3, 2),
    "cdan_e": lambda: make_cdan(3, 2, entropy=True),
    "cdan_random": lambda: make_cdan(3, 2, randomized=True, random_dim=8),
    "cdan_e_random": lambda: make_cdan(3, 2, entropy=True, randomized=True, random_dim=8),
    "jmmd": lambda: JMMDLoss(),
}


def _degenerate_conditional_batches():
    z = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    one = lambda *s: torch.ones(*s, dtype=torch.float64)  # noqa: E731
    sat = torch.tensor([[1e4, -1e4]], dtype=torch.float64)
    return {
        "batch_of_one": (one(1, 3), -one(1, 3), z(1, 2), one(1, 2)),
        "constant_features": (one(4, 3), one(3, 3), z(4, 2), z(3, 2)),
        "zero_features": (z(4, 3), z(4, 3), z(4, 2), z(4, 2)),
        "saturated_logits": (one(2, 3), z(3, 3), sat.repeat(2, 1), -sat.repeat(3, 1)),
        "one_vs_many": (one(1, 3), torch.randn(5, 3, dtype=torch.float64), sat, z(5, 2)),
    }


@pytest.mark.parametrize("case", list(_degenerate_conditional_batches()))
@pytest.mark.parametrize("name", list(CONDITIONAL_LOSSES))
def test_conditional_losses_finite_on_degenerate_inputs(name, case):
    f_s, f_t, l_s, l_t = (t.clone().requires_grad_(True)
                          for t in _degenerate_conditional_batches()[case])
    value = call_conditional(CONDITIONAL_LOSSES[name](), f_s, f_t, l_s, l_t)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for t in (f_s, f_t, l_s, l_t):
        assert t.grad is None or torch.isfinite(t.grad).all()


@pytest.mark.parametrize("name", list(CONDITIONAL_LOSSES))
def test_float32_batch_of_one_finite(name):
    loss = CONDITIONAL_LOSSES[name]().float()
    f_s, f_t = torch.randn(1, 3, requires_grad=True), torch.randn(1, 3, requires_grad=True)
    value = loss(f_s=f_s, f_t=f_t, logits_s=torch.randn(1, 2), logits_t=torch.randn(1, 2),
                 y_s=torch.zeros(1, dtype=torch.long), progress=0.3)
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(f_s.grad).all() and torch.isfinite(f_t.grad).all()
