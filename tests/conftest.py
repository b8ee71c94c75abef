"""Test environment (real data from $DA_DATA_DIR, offline, a session feature cache, torch threads
per xdist worker) and the shared fixtures. Shared non-fixture code is in tests/helpers.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from da.train import compose_config
from tests.helpers import DATA_DIR

os.environ.setdefault("DA_DATA_DIR", str(DATA_DIR))
# encoder=auto picks mpnet for text where it is installed; the tests keep the 5x faster MiniLM
# (tests/encoders/test_auto.py checks the real choice with this variable unset)
os.environ.setdefault("DA_TEXT_ENCODER", "minilm")
os.environ["HF_HUB_OFFLINE"] = "1"
# Feature caches of this test session stay out of ~/.cache (and are shared across its tests).
os.environ["DA_CACHE_DIR"] = tempfile.mkdtemp(prefix="da-test-cache-")
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
# Under pytest-xdist (``-n auto`` in setup.cfg) each worker gets its share of the cores; torch
# would otherwise start one thread per core in every worker, and the workers would fight over them.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    torch.set_num_threads(_THREADS)
    os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))  # and the da-train subprocesses


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


@pytest.fixture
def unlabeled_pair(tmp_path) -> Path:
    """A folder with source.csv (labeled reviews), target.csv (texts only), target_test.csv
    (labeled) and hidden.json (target.csv's true labels, for checking predictions); train on it
    with ``da_train(UNLABELED_RUN, ...)`` (tests/helpers.py) run in that folder."""
    import json

    from tests.helpers import reviews, text_only, write_table
    write_table(tmp_path / "source.csv", reviews(300, seed=1))
    target = reviews(200, seed=2)
    text_only(tmp_path / "target.csv", target)
    (tmp_path / "hidden.json").write_text(json.dumps([r["label"] for r in target]))
    write_table(tmp_path / "target_test.csv", reviews(100, seed=3))
    return tmp_path
