"""Entropy, BNM, MCC and WeightedSum against independent float64 NumPy references.

The references follow the formulas of the papers as written in the module docstrings, never the
torch code: softmax and entropy from exponentials, the nuclear norm from ``np.linalg.svd``, MCC's
class confusion with explicit loops over classes and an explicit off-diagonal mask. Gradients are
checked against analytic NumPy gradients (entropy, BNM) or central finite differences of the
reference (MCC, with its example weights held constant as in the torch code).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from da.losses import AlignmentCriterion, BNMLoss, DANNLoss, EntropyLoss, MCCLoss, WeightedSum
from da.schedules import Constant, GaninSchedule

# (n, k): more rows than classes, fewer rows than classes, a single row, binary.
SHAPES = [(8, 3), (3, 5), (1, 4), (6, 2), (16, 7)]


def _logits(n: int, k: int, seed: int = 0, scale: float = 2.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g, dtype=torch.float64) * scale


def _call(loss, logits_t: torch.Tensor, **extra) -> torch.Tensor:
    """The full keyword contract of da/losses/base.py around target logits."""
    n, k = logits_t.shape
    dtype = logits_t.dtype
    kwargs = dict(f_s=torch.zeros(3, 4, dtype=dtype), f_t=torch.zeros(n, 4, dtype=dtype),
                  logits_s=torch.zeros(3, k, dtype=dtype), logits_t=logits_t,
                  y_s=torch.zeros(3, dtype=torch.long), progress=0.5)
    kwargs.update(extra)
    return loss(**kwargs)


# --------------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------------

def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_entropy_rows(p: np.ndarray) -> np.ndarray:
    logs = np.log(np.where(p > 0, p, 1.0))  # 0 · log 0 = 0
    return -(p * logs).sum(1)


def np_entropy_loss(z: np.ndarray) -> float:
    return float(np_entropy_rows(np_softmax(z)).mean())


def np_entropy_grad(z: np.ndarray) -> np.ndarray:
    """∂/∂z_ic of mean_i H(softmax(z_i)) = −p_ic (log p_ic + H_i) / n."""
    p = np_softmax(z)
    h = np_entropy_rows(p)[:, None]
    return -p * (np.log(p) + h) / len(z)


def np_bnm(z: np.ndarray) -> float:
    return float(-np.linalg.svd(np_softmax(z), compute_uv=False).sum() / len(z))


def np_bnm_grad(z: np.ndarray) -> np.ndarray:
    """∂(−‖A‖_*/n)/∂A = −U Vᵀ / n (thin SVD, full rank); through softmax row by row:
    ∂/∂z_i = (diag(p_i) − p_i p_iᵀ) g_i."""
    p = np_softmax(z)
    u, _, vt = np.linalg.svd(p, full_matrices=False)
    g = -(u @ vt) / len(z)
    return np.stack([(np.diag(pi) - np.outer(pi, pi)) @ gi for pi, gi in zip(p, g)])


def np_mcc_weights(z: np.ndarray, temperature: float = 2.5) -> np.ndarray:
    y = np_softmax(z / temperature)
    h = np_entropy_rows(y)
    w = 1.0 + np.exp(-h)
    return len(z) * w / w.sum()


def np_mcc(z: np.ndarray, temperature: float = 2.5, weights: np.ndarray | None = None) -> float:
    """Jin et al. 2020: temperature softmax, entropy weights, class correlation, row
    normalization, mean over classes of the off-diagonal sum."""
    y = np_softmax(z / temperature)
    w = np_mcc_weights(z, temperature) if weights is None else weights
    k = y.shape[1]
    c = np.zeros((k, k))
    for j in range(k):
        for jj in range(k):
            c[j, jj] = float(np.sum(y[:, j] * w * y[:, jj]))
    c_norm = c / c.sum(1, keepdims=True)
    off = ~np.eye(k, dtype=bool)
    return float(np.abs(c_norm[off]).sum() / k)


def numeric_grad(f, z: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(z)
    for index in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


# --------------------------------------------------------------------------------------------
# Values and gradients against the references
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,k", SHAPES)
def test_entropy_matches_reference(n, k):
    z = _logits(n, k, seed=n * k).requires_grad_(True)
    value = _call(EntropyLoss(), z)
    np.testing.assert_allclose(value.item(), np_entropy_loss(z.detach().numpy()), rtol=1e-10)
    value.backward()
    np.testing.assert_allclose(z.grad.numpy(), np_entropy_grad(z.detach().numpy()),
                               rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("n,k", SHAPES)
def test_bnm_matches_reference(n, k):
    z = _logits(n, k, seed=10 + n * k).requires_grad_(True)
    value = _call(BNMLoss(), z)
    np.testing.assert_allclose(value.item(), np_bnm(z.detach().numpy()), rtol=1e-10)
    value.backward()
    np.testing.assert_allclose(z.grad.numpy(), np_bnm_grad(z.detach().numpy()),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("temperature", [2.5, 1.0, 5.0])
@pytest.mark.parametrize("n,k", SHAPES)
def test_mcc_matches_reference(n, k, temperature):
    z = _logits(n, k, seed=20 + n * k).requires_grad_(True)
    value = _call(MCCLoss(temperature), z)
    np.testing.assert_allclose(value.item(), np_mcc(z.detach().numpy(), temperature), rtol=1e-10)
    value.backward()
    zn = z.detach().numpy()
    fixed = np_mcc_weights(zn, temperature)  # the weights are constants of the step
    expected = numeric_grad(lambda v: np_mcc(v, temperature, fixed), zn)
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-5, atol=1e-9)


def test_mcc_default_temperature_is_the_papers():
    assert MCCLoss().temperature == 2.5
    z = _logits(8, 3, seed=4)
    assert _call(MCCLoss(), z).item() == pytest.approx(np_mcc(z.numpy(), 2.5), rel=1e-10)


# --------------------------------------------------------------------------------------------
# Extremes: zero / minimum where the formulas say so
# --------------------------------------------------------------------------------------------

def _one_hot_logits(classes: list[int], k: int, margin: float = 1e4) -> torch.Tensor:
    z = torch.zeros(len(classes), k, dtype=torch.float64)
    z[torch.arange(len(classes)), torch.tensor(classes)] = margin
    return z


def test_entropy_extremes():
    confident = _one_hot_logits([0, 2, 1], 3)
    assert _call(EntropyLoss(), confident).item() == pytest.approx(0.0, abs=1e-12)
    uniform = torch.zeros(5, 4, dtype=torch.float64)
    assert _call(EntropyLoss(), uniform).item() == pytest.approx(math.log(4), rel=1e-12)


def test_bnm_extremes():
    # confident and diverse: one-hot rows spread evenly over k classes -> σ_i = sqrt(n/k)
    diverse = _one_hot_logits([0, 1, 2, 0, 1, 2], 3)
    assert _call(BNMLoss(), diverse).item() == pytest.approx(-math.sqrt(6 * 3) / 6, rel=1e-10)
    # collapsed onto one class: rank 1 -> −sqrt(n)/n, a higher (worse) loss
    collapsed = _one_hot_logits([1] * 6, 3)
    assert _call(BNMLoss(), collapsed).item() == pytest.approx(-math.sqrt(6) / 6, rel=1e-10)
    # uniform predictions: A = 1/k everywhere, rank 1, ‖A‖_* = sqrt(n k)/k
    uniform = torch.zeros(6, 3, dtype=torch.float64)
    assert _call(BNMLoss(), uniform).item() == pytest.approx(-math.sqrt(18) / 3 / 6, rel=1e-10)


def test_mcc_extremes():
    # confident predictions never confuse two classes (even at T = 2.5 with a huge margin)
    confident = _one_hot_logits([0, 1, 2, 1], 3)
    assert _call(MCCLoss(), confident).item() == pytest.approx(0.0, abs=1e-12)
    # uniform predictions: every normalized entry is 1/k -> (k − 1)/k
    assert _call(MCCLoss(), torch.zeros(5, 4, dtype=torch.float64)).item() == pytest.approx(0.75)


# --------------------------------------------------------------------------------------------
# Degenerate inputs: finite values and gradients
# --------------------------------------------------------------------------------------------

LOSSES, LOSS_IDS = [EntropyLoss(), BNMLoss(), MCCLoss()], ["entropy", "bnm", "mcc"]
DEGENERATE = {
    "one_row": torch.randn(1, 3),
    "one_class_never_predicted_f32": torch.tensor([[200.0, 0.0, -200.0]] * 4),
    "saturated_f32": torch.tensor([[1e4, -1e4], [-1e4, 1e4], [1e4, -1e4]]),
    "all_equal": torch.zeros(6, 5),
    "huge_equal": torch.full((4, 3), 1e6),
    "two_classes_one_row": torch.tensor([[3.0, -3.0]]),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
@pytest.mark.parametrize("loss", LOSSES, ids=LOSS_IDS)
def test_finite_on_degenerate_logits(loss, name):
    z = DEGENERATE[name].clone().requires_grad_(True)
    value = _call(loss, z)
    assert value.dim() == 0 and torch.isfinite(value), value
    value.backward()
    assert torch.isfinite(z.grad).all(), z.grad


@pytest.mark.parametrize("loss", LOSSES, ids=LOSS_IDS)
def test_gradient_reaches_features_through_the_head(loss):
    """These losses read logits_t only; the encoder still learns through the classifier head."""
    f_t = torch.randn(7, 5, requires_grad=True)
    head = torch.nn.Linear(5, 3)
    value = loss(f_s=torch.randn(4, 5), f_t=f_t, logits_s=torch.randn(4, 3), logits_t=head(f_t),
                 y_s=torch.zeros(4, dtype=torch.long), progress=0.0)
    value.backward()
    assert f_t.grad.abs().sum() > 0 and head.weight.grad.abs().sum() > 0
    assert isinstance(loss, AlignmentCriterion)


def test_mcc_rejects_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        MCCLoss(0.0)


# --------------------------------------------------------------------------------------------
# WeightedSum
# --------------------------------------------------------------------------------------------

def test_weighted_sum_matches_the_weighted_components():
    torch.manual_seed(0)
    f_s, f_t = torch.randn(5, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64) + 1
    z = _logits(6, 3, seed=1)
    dann = DANNLoss(4, (8,), coeff=Constant(1.0)).double()
    combo = WeightedSum({"dann": dann, "ent": EntropyLoss(), "mcc": MCCLoss()},
                        {"ent": 0.1, "mcc": GaninSchedule(2.0)})
    value = _call(combo, z, f_s=f_s, f_t=f_t, progress=0.3)
    ramp = 2.0 * (2 / (1 + math.exp(-3.0)) - 1)
    expected = (_call(dann, z, f_s=f_s, f_t=f_t).item() + 0.1 * np_entropy_loss(z.numpy())
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
