"""Extending `da` from outside the package (docs/EXTENDING.md): the documented loss, dataset and
encoder examples train through the CLI, the loss composes with a built-in one, and a user's
mistakes get clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from lightning.pytorch.utilities import CombinedLoader
from omegaconf import OmegaConf

from da.errors import ConfigError, TrainingError
from da.methods.alignment import AlignmentModule
from tests.helpers import (REPO, TINY, assert_clean_error, da_train, majority_rate, metrics_of,
                           run_of, write_doc_example)

SEARCHPATH = "hydra.searchpath=[file://mine/conf]"


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


@pytest.mark.slow
def test_bare_loss_node_trains_through_the_cli(data_dir, tmp_path):
    """docs/EXTENDING.md's shortest method yaml: `_target_` + arguments, nothing else."""
    names = {p.relative_to(tmp_path).as_posix() for p in write_doc_example(tmp_path)}
    assert "mine/conf/method/my_gap.yaml" in names
    assert "name" not in (tmp_path / "mine/conf/method/my_gap.yaml").read_text()
    result = da_train([*TINY, SEARCHPATH, "method=my_gap", "method.scale=2.0"], tmp_path / "out",
                      cwd=tmp_path, pythonpath="mine")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[da] my_gap-bow_dvd_to_bow_electronics-s0" in result.stdout
    method = OmegaConf.load(run_of(tmp_path / "out") / "config.yaml").method
    assert method.name == "my_gap"
    assert OmegaConf.to_container(method.loss) == {"_target_": "my_losses.MeanGapLoss",
                                                   "scale": 2.0}
    assert OmegaConf.to_container(method.weight) == {"_target_": "da.schedules.Constant",
                                                     "value": 1.0}
    metrics = metrics_of(tmp_path / "out")
    assert metrics["train/align_weight"] == 1.0 and metrics["train/align/mean_gap"] > 0


def test_docs_hold_a_dataset_and_an_encoder_example(tmp_path):
    names = {p.relative_to(tmp_path).as_posix() for p in write_doc_example(tmp_path)}
    assert {"mine/my_domains.py", "mine/conf/domain/my_reviews.yaml",
            "mine/my_encoders.py", "mine/conf/encoder/hashed_bow.yaml"} <= names
    # source=my_reviews / target=my_reviews need no wrapper file (da/config/domain_groups.py)
    assert not {n for n in names if n.startswith(("mine/conf/source/", "mine/conf/target/"))}
    doc = (REPO / "docs" / "EXTENDING.md").read_text()
    assert 'da-train "hydra.searchpath=[file://mine/conf]" source=my_reviews target=kitchen' in doc
    assert 'da-train "hydra.searchpath=[file://mine/conf]" encoder=hashed_bow' in doc


def _review_folder(root: Path, data_dir: Path) -> None:
    """``root/my_reviews/{pos,neg}/*.txt``: 300 Amazon book reviews, one file each."""
    from da.data.amazon import AmazonText

    books = AmazonText(name="books", domain="books", max_examples=300).load(data_dir)
    for i, (text, label) in enumerate(zip(books.train.x, books.train.y)):
        path = root / "my_reviews" / ("pos" if label == 1 else "neg") / f"{i:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_user_dataset_trains_through_the_cli(data_dir, tmp_path, monkeypatch):
    write_doc_example(tmp_path)
    _review_folder(tmp_path, data_dir)
    result = da_train([SEARCHPATH, "source=my_reviews", "target=kitchen", "encoder=mlp",
                       "target.max_examples=400", "trainer.enable_progress_bar=false"],
                      tmp_path / "out", cwd=tmp_path, pythonpath="mine")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[da] dann-my_reviews_to_kitchen-s0" in result.stdout
    # measured: 0.674 on kitchen, whose test part is balanced
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))  # majority_rate loads the domains here
    monkeypatch.chdir(tmp_path)
    majority = majority_rate(run_of(tmp_path / "out"))
    assert metrics_of(tmp_path / "out")["test/target_acc"] >= majority + 0.08


@pytest.mark.slow
def test_user_encoder_trains_through_the_cli(data_dir, tmp_path):
    write_doc_example(tmp_path)
    result = da_train([SEARCHPATH, "encoder=hashed_bow", "source=books", "target=kitchen",
                       "optimizer.lr=0.01", "source.max_examples=600", "target.max_examples=600",
                       "trainer.max_epochs=5", "trainer.enable_progress_bar=false"],
                      tmp_path / "out", cwd=tmp_path, pythonpath="mine")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "out")
    assert metrics["train/loss_cls"] < math.log(2)  # the hashed embeddings learned the source
    # measured: 0.640 on kitchen (balanced)
    assert metrics["test/target_acc"] >= majority_rate(run_of(tmp_path / "out")) + 0.06


def test_user_encoder_on_the_wrong_data_names_the_fitting_encoders(data_dir, tmp_path):
    write_doc_example(tmp_path)
    result = da_train([SEARCHPATH, "encoder=hashed_bow", "source=bow_books", "target=bow_kitchen"],
                      tmp_path / "out", cwd=tmp_path, pythonpath="mine")
    assert result.returncode == 2
    assert_clean_error(result, "domain 'bow_books' holds vectors but the encoder takes text",
                       "encoder=mlp")


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
