"""Shared test code (no tests here): paths, small real-data runs, `da-train` in a subprocess,
reading its run directories, and Hydra sweeps.

Test modules import from here (and the losses' tests from ``tests/losses/reference.py`` and
``tests/losses/inputs.py``; the pivot shift from ``tests/pivot_shift.py``), never from another
test module. ``tests/conftest.py`` holds the
environment setup and the fixtures.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from da.run.build import build_data, build_datamodule

#: The repository root (what `da-train` runs in by default, where ``tests.faults`` imports from).
REPO = Path(__file__).resolve().parent.parent
#: The real datasets: $DA_DATA_DIR, by default ../shared/datasets next to the repository
#: (conftest.py sets DA_DATA_DIR to this for the whole session, subprocesses included).
DATA_DIR = Path(os.environ.get("DA_DATA_DIR", REPO.parent / "shared" / "datasets"))
#: Every method config (conf/method/<name>.yaml).
METHODS = sorted(p.stem for p in (REPO / "conf" / "method").glob("*.yaml"))

#: A small, quick real pair for end-to-end tests.
QUICK = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp", "source.max_examples=400",
         "target.max_examples=400", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]
#: Tiny real pair (one epoch, 300 examples per part): each run takes a few seconds.
TINY = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp", "source.max_examples=300",
        "target.max_examples=300", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]
#: Small, quick real pair every sweep of `multirun` starts from (about 1.5 s of training per job
#: on 2 CPU cores).
SWEEP_PAIR = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp",
              "source.max_examples=400", "target.max_examples=400", "trainer.max_epochs=1",
              "trainer.enable_progress_bar=false"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class TinyEncoder(nn.Module):
    """A one-layer tanh encoder with ``out_dim`` (unit tests of the methods)."""

    def __init__(self, in_dim: int = 6, out_dim: int = 5) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, out_dim), nn.Tanh())
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def majority_rate(run: Path | DictConfig, part: str = "target_test") -> float:
    """Share of the most frequent class in one data part of a run (default: the target test part
    it is tested on): the best accuracy a constant predictor gets there, i.e. what an accuracy
    bound has to beat.

    ``run`` is a run directory (its resolved ``config.yaml``) or a composed config; the parts are
    built from it as the run builds them (same ``max_examples``, split seeds, validation share).
    """
    cfg = run if isinstance(run, DictConfig) else OmegaConf.load(Path(run) / "config.yaml")
    counts = np.bincount(build_datamodule(cfg, raw=True).parts[part].y)  # labels: nothing encoded
    return float(counts.max() / counts.sum())


def built_encoder(cfg: DictConfig) -> tuple:
    """``(encoder, info)`` as a run builds them: the encoder side first, its pipeline handed to
    the datamodule, which prepares the data (:func:`da.run.build.build_data`)."""
    datamodule, side = build_data(cfg)
    return side.encoder(datamodule.input_dim)


# --- `da-train` in a subprocess, and what it writes --------------------------------------------

#: A tf-idf DANN run of the ``unlabeled_pair`` fixture's files, the target declared unlabeled.
UNLABELED_RUN = ["source=file", "source.path=source.csv", "target=file", "target.path=target.csv",
                 "target.label_column=null", "encoder=mlp", "method=dann", "trainer.max_epochs=4",
                 "trainer.enable_progress_bar=false"]


def da_train(args: list[str], out: Path, cwd: Path | None = None, pythonpath: str | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m da.train ARGS`` with its outputs under ``out`` (DA_OUTPUT_DIR).

    It runs in ``cwd`` (default: the repository root); ``pythonpath`` is put in front of
    PYTHONPATH (e.g. ``"mine"``, relative to ``cwd``, for the user's own modules of
    docs/EXTENDING.md); ``env`` holds further environment variables.
    """
    return subprocess.run([sys.executable, "-m", "da.train", *args], capture_output=True,
                          text=True, env=_environment(out, pythonpath, env), cwd=cwd or REPO,
                          timeout=300)


def start_da_train(args: list[str], out: Path, cwd: Path) -> subprocess.Popen:
    """``python -m da.train ARGS`` started in the background (as :func:`da_train`), for a test
    that acts while it runs; read it with ``communicate(timeout=...)``."""
    return subprocess.Popen([sys.executable, "-m", "da.train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_environment(out), cwd=cwd)


def _environment(out: Path, pythonpath: str | None = None, env: dict | None = None) -> dict:
    variables = dict(os.environ, DA_OUTPUT_DIR=str(out), **(env or {}))
    if pythonpath:
        variables["PYTHONPATH"] = os.pathsep.join(
            p for p in (pythonpath, os.environ.get("PYTHONPATH")) if p)
    return variables


def run_dirs(out: Path) -> list[Path]:
    """The run directories under ``out`` (those with a metrics.json), sorted."""
    return sorted(p.parent for p in out.rglob("metrics.json"))


def run_of(out: Path) -> Path:
    """The one run directory under ``out``."""
    (run,) = run_dirs(out)
    return run


def metrics_of(out: Path) -> dict:
    """metrics.json of the one run under ``out``."""
    return json.loads((run_of(out) / "metrics.json").read_text())


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A failed command with a clear message: non-zero exit, no stack trace, every fragment."""
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text[-3000:]
    for fragment in fragments:
        assert fragment in text, text[-3000:]


# --- sweeps: `da-train -m` -----------------------------------------------------------------------

def multirun(args: list[str], out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``da-train -m SWEEP_PAIR args`` run in ``out``, writing under ``out`` (DA_OUTPUT_DIR)."""
    return da_train(["-m", *SWEEP_PAIR, *args], out, cwd=out, env=env)


def sweep_dir(out: Path) -> Path:
    """The one sweep directory of a `multirun` into ``out``."""
    (sweep,) = (out / "multirun").iterdir()
    return sweep


def sweep_job_names(methods: tuple[str, ...], seeds: tuple[int, ...],
                    pair: str = "bow_dvd_to_bow_electronics") -> list[str]:
    """The job directory names of a ``method=... seed=...`` sweep of one pair, in job order."""
    jobs = [(m, s) for m in methods for s in seeds]
    return [f"{i}_{m}-{pair}-s{s}" for i, (m, s) in enumerate(jobs)]


def job_dirs(sweep: Path) -> list[Path]:
    """The job directories of a sweep, in job order."""
    return sorted((p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: int(p.name.split("_", 1)[0]))


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


# --- the local SLURM cluster (scripts/slurm_local.sh) ---------------------------------------------

def slurm(*command: str, timeout: float = 20) -> str:
    """A SLURM command's stdout (``sinfo``, ``squeue``, ``sacct``, ``scancel``); raises if it
    fails or takes longer than ``timeout`` seconds."""
    return subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=timeout).stdout


def slurm_unavailable() -> str | None:
    """Why no SLURM cluster can take jobs here, or None when a node is idle (or mixed)."""
    if shutil.which("sinfo") is None:
        return "no SLURM cluster: sinfo not found (start one with scripts/slurm_local.sh as root)"
    try:
        states = slurm("sinfo", "-h", "-o", "%T", timeout=10).split()
    except (subprocess.SubprocessError, OSError) as exc:
        return f"no SLURM cluster answers: {exc} (scripts/slurm_local.sh starts one)"
    if not set(states) & {"idle", "mixed"}:  # not "idle*": a node that does not respond
        return f"no idle SLURM node (sinfo: {' '.join(states) or 'no node'})"
    return None


# Files of the user's own data (tests/data/test_user_data.py, test_unlabeled_target.py, ...)

POSITIVE = ["great", "excellent", "love", "wonderful", "good"]
NEGATIVE = ["bad", "awful", "hate", "poor", "terrible"]


def reviews(n: int, labels=("negative", "positive"), seed: int = 0) -> list[dict]:
    """``n`` short synthetic reviews whose words give the label away."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = POSITIVE if i % len(labels) else NEGATIVE
        filler = rng.choice(["the", "item", "it"], 2).tolist()
        text = " ".join(rng.choice(words, 3).tolist() + filler)
        rows.append({"text": text, "label": label, "part": "test" if i % 4 == 0 else "train"})
    return rows


def write_table(path: Path, rows: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    kind = Path(path.name.removesuffix(".gz")).suffix
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        if kind == ".jsonl":
            handle.writelines(json.dumps(r) + "\n" for r in rows)
        else:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]),
                                    delimiter="\t" if kind == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    return path


def text_only(path: Path, rows: list[dict]) -> Path:
    """The reviews' texts without their labels: a target file as a user has it."""
    return write_table(path, [{"text": r["text"]} for r in rows])
