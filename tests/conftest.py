"""Shared fixtures: real data from $DA_DATA_DIR, Hydra composition, offline environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from da.train import CONFIG_DIR

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DA_DATA_DIR", str(REPO.parent / "shared" / "datasets"))
os.environ["HF_HUB_OFFLINE"] = "1"
# Feature caches of this test session stay out of ~/.cache (and are shared across its tests).
os.environ["DA_CACHE_DIR"] = tempfile.mkdtemp(prefix="da-test-cache-")
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
DATA_DIR = Path(os.environ["DA_DATA_DIR"])

#: A small, quick real pair for end-to-end tests.
QUICK = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp", "source.max_examples=400",
         "target.max_examples=400", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real datasets not found at {DATA_DIR}; set DA_DATA_DIR")
    return DATA_DIR


def compose_train(overrides: list[str], output_dir: Path):
    """Compose conf/train.yaml as `da-train` would, with the hydra node set for interpolation."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


@pytest.fixture
def compose_cfg(tmp_path):
    """``compose_cfg(overrides)`` → a composed train config writing into ``tmp_path``."""
    def _compose(overrides: list[str]):
        return compose_train(overrides, tmp_path)
    yield _compose
    GlobalHydra.instance().clear()
