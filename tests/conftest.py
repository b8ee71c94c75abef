"""Shared fixtures: real data from $DA_DATA_DIR, Hydra composition, offline environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from da.build import build_datamodule
from da.train import compose_config

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DA_DATA_DIR", str(REPO.parent / "shared" / "datasets"))
os.environ["HF_HUB_OFFLINE"] = "1"
# Feature caches of this test session stay out of ~/.cache (and are shared across its tests).
os.environ["DA_CACHE_DIR"] = tempfile.mkdtemp(prefix="da-test-cache-")
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
DATA_DIR = Path(os.environ["DA_DATA_DIR"])
# Under pytest-xdist (``-n auto`` in setup.cfg) each worker gets its share of the cores; torch
# would otherwise start one thread per core in every worker, and the workers would fight over them.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    torch.set_num_threads(_THREADS)
    os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))  # and the da-train subprocesses

#: A small, quick real pair for end-to-end tests.
QUICK = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp", "source.max_examples=400",
         "target.max_examples=400", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]


def majority_rate(run: Path | DictConfig, part: str = "target_test") -> float:
    """Share of the most frequent class in one data part of a run (default: the target test part
    it is tested on): the best accuracy a constant predictor gets there, i.e. what an accuracy
    bound has to beat.

    ``run`` is a run directory (its resolved ``config.yaml``) or a composed config; the parts are
    built from it as the run builds them (same ``max_examples``, split seeds, validation share).
    """
    cfg = run if isinstance(run, DictConfig) else OmegaConf.load(Path(run) / "config.yaml")
    cfg = OmegaConf.merge(cfg, {"data": {"denoiser": None}})  # labels do not depend on it
    counts = np.bincount(build_datamodule(cfg).parts[part].y)
    return float(counts.max() / counts.sum())


@pytest.fixture(autouse=True)
def _subnormal_floats_restored():
    """``da.train.train`` turns on flush-to-zero (``torch.set_flush_denormal``), a process-wide
    CPU state; tests that call it in-process must not leave it on for the next test (hypothesis
    refuses to generate floats without subnormals)."""
    yield
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real datasets not found at {DATA_DIR}; set DA_DATA_DIR")
    return DATA_DIR


@pytest.fixture
def compose_cfg(tmp_path):
    """``compose_cfg(overrides)`` → a composed train config writing into ``tmp_path``."""
    def _compose(overrides: list[str]):
        return compose_config(overrides, tmp_path)
    yield _compose
    GlobalHydra.instance().clear()
