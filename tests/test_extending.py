"""Extending `da` from outside the package (docs/EXTENDING.md): the documented example trains
through the CLI, composes with a built-in loss, and a user loss's mistakes get clear errors."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from lightning.pytorch.utilities import CombinedLoader

from da.errors import ConfigError, TrainingError
from da.methods.alignment import AlignmentModule
from tests.helpers import REPO, TINY, assert_clean_error, da_train, metrics_of

SEARCHPATH = "hydra.searchpath=[file://mine/conf]"


def write_doc_example(root: Path) -> list[Path]:
    """Write every code block of docs/EXTENDING.md whose first line is ``# mine/<file>``."""
    doc = (REPO / "docs" / "EXTENDING.md").read_text()
    written = []
    for block in re.findall(r"```\w*\n(.*?)```", doc, flags=re.S):
        match = re.match(r"# (mine/\S+)\n", block)
        if match:
            path = root / match.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block)
            written.append(path)
    return written


def test_docs_hold_a_complete_example(tmp_path):
    names = {p.relative_to(tmp_path).as_posix() for p in write_doc_example(tmp_path)}
    assert {"mine/my_losses.py", "mine/conf/method/my_loss.yaml"} <= names
    command = ('PYTHONPATH=mine da-train "hydra.searchpath=[file://mine/conf]" method=my_loss')
    assert command in (REPO / "docs" / "EXTENDING.md").read_text()


@pytest.mark.slow
def test_user_loss_trains_through_the_cli(data_dir, tmp_path):
    write_doc_example(tmp_path)
    result = da_train([*TINY, SEARCHPATH, "method=my_loss"], tmp_path / "out", cwd=tmp_path,
                      pythonpath="mine")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "out")
    assert metrics["train/align/mean_gap"] > 0 and math.isfinite(metrics["train/align/mean_gap"])
    assert metrics["train/loss_align"] > 0
    assert "[da] my_loss-bow_dvd_to_bow_electronics-s0" in result.stdout


def test_user_composition_instantiates(tmp_path, monkeypatch, compose_cfg):
    """The WeightedSum example of the docs: the user's loss + a built-in one."""
    from hydra.utils import instantiate

    write_doc_example(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    monkeypatch.chdir(tmp_path)
    cfg = compose_cfg([SEARCHPATH, "method=gap_entropy", "encoder=mlp"])
    loss = instantiate(cfg.method.loss)
    f_s = torch.randn(6, 4, requires_grad=True)
    f_t = torch.randn(5, 4) + 1
    head = torch.randn(4, 2)
    value = loss(f_s=f_s, f_t=f_t, logits_s=f_s @ head, logits_t=f_t @ head,
                 y_s=torch.zeros(6, dtype=torch.long), progress=1.0)
    assert value.dim() == 0 and torch.isfinite(value)
    assert {"gap/loss", "gap/mean_gap", "entropy/loss", "entropy/weight"} <= set(loss.diagnostics)
    assert loss.diagnostics["entropy/weight"] == pytest.approx(0.1 * (2 / (1 + math.exp(-10)) - 1))


def test_unimportable_target_names_the_module(data_dir, tmp_path):
    result = da_train([*TINY, "method=coral", "method.loss._target_=my_missing_pkg.losses.Gap"],
                      tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "method.loss", "my_missing_pkg.losses.Gap", "PYTHONPATH")


class _Constant(torch.nn.Module):
    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, *, f_s: torch.Tensor, **kwargs) -> torch.Tensor | float:
        return f_s.sum() * 0 + self.value if torch.is_tensor(self.value) else self.value


class _Identity(torch.nn.Module):
    out_dim = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _fit_tiny(alignment: torch.nn.Module, tmp_path: Path) -> None:
    """One Lightning epoch of an `AlignmentModule` on 8 random examples per domain."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    source = DataLoader(TensorDataset(torch.randn(8, 3), torch.arange(8) % 2), batch_size=4)
    target = DataLoader(torch.randn(8, 3), batch_size=4)
    model = AlignmentModule(_Identity(), 2, alignment=alignment, method="mine")
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path))
    trainer.fit(model, train_dataloaders=CombinedLoader({"source": source, "target": target}))


@pytest.mark.parametrize("value,found", [(torch.ones(5), r"a tensor of shape \(5,\)"),
                                         (torch.ones(1, 1), r"a tensor of shape \(1, 1\)"),
                                         (0.5, "a float")])
def test_non_scalar_loss_names_the_loss_class(tmp_path, value, found):
    with pytest.raises(ConfigError, match=rf"alignment loss _Constant \(method 'mine'\) returned "
                                          rf"{found}; .*scalar \(0-d\) tensor"):
        _fit_tiny(_Constant(value), tmp_path)


def test_non_finite_loss_names_the_loss_class(tmp_path):
    with pytest.raises(TrainingError, match=r"step 0 .*method 'mine' \(alignment loss _Constant\)"
                                            r".*loss_align is NaN/Inf"):
        _fit_tiny(_Constant(torch.tensor(float("inf"))), tmp_path)
