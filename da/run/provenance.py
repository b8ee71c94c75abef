"""What produced a run: package version, git commit and library versions (``meta/*`` keys).

They go into ``metrics.json`` beside the numbers, so a result table can always say which code
and which libraries made each row (issue: reproducibility).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import torch

import da

#: Distributions whose versions change results or speed.
LIBRARIES = ("torch", "lightning", "torchmetrics", "hydra-core", "omegaconf", "numpy",
             "scikit-learn", "scipy", "transformers", "wandb")

_PACKAGE_DIR = Path(da.__file__).resolve().parent
#: The checkout (the package is installed in editable mode): experiments/ and conf/ are here.
REPO = _PACKAGE_DIR.parent


def git_commit(folder: Path = _PACKAGE_DIR) -> str:
    """``<sha>`` of the checkout holding ``folder`` (``<sha>-dirty`` with uncommitted changes to
    tracked files), or ``unknown`` outside a git checkout (e.g. a wheel install)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def library_versions() -> dict[str, str]:
    """``{distribution: version}`` of :data:`LIBRARIES` that are installed."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def run_provenance() -> dict[str, str]:
    """The ``meta/*`` entries of ``metrics.json``: strings, unlike every other key."""
    meta = {"meta/da_version": da.__version__, "meta/git_commit": git_commit(),
            "meta/python": platform.python_version(), "meta/platform": platform.platform(),
            "meta/device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    meta.update({f"meta/{name}": version for name, version in library_versions().items()})
    return meta


def machine() -> str:
    """The CPU, core count, GPU and torch version, for a benchmark table's provenance line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}"
