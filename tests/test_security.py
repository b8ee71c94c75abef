"""Security: no internet access in the default configuration; nothing user-provided is eval'd
or unpickled; checkpoints load with weights_only=True."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

# Runs `da.train` with every socket connection and name lookup to a non-local address refused
# and written to a log file (one line per attempt).
GUARD = r"""
import os, socket, sys
LOG = os.environ["NET_LOG"]
LOCAL = ("127.0.0.1", "::1", "localhost", "0.0.0.0")

def _record(what):
    with open(LOG, "a") as f:
        f.write(f"{what}\n")
    raise OSError(f"network access blocked by test: {what}")

def _is_local(address):
    return not isinstance(address, tuple) or str(address[0]) in LOCAL

_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
def connect(self, address):
    return _connect(self, address) if _is_local(address) else _record(f"connect {address}")
def connect_ex(self, address):
    return _connect(self, address) if _is_local(address) else _record(f"connect {address}")
def getaddrinfo(host, *args, **kwargs):
    if host is None or str(host) in LOCAL:
        return _getaddrinfo(host, *args, **kwargs)
    return _record(f"getaddrinfo {host}")
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

if sys.argv[1] == "--probe":
    import urllib.request
    try:
        urllib.request.urlopen("http://example.com", timeout=5)
    except OSError:
        pass
else:
    from da.train import main
    sys.argv = ["da-train", *sys.argv[1:]]
    main()
"""


def guarded(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "WANDB_MODE", "HF_DATASETS_OFFLINE")}
    env.update(NET_LOG=str(log), DA_OUTPUT_DIR=str(tmp_path / "out"),
               DA_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", GUARD, *args], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=600)
    return result, log.read_text().splitlines() if log.exists() else []


def test_the_guard_catches_an_internet_request(tmp_path):
    _, attempts = guarded(["--probe"], tmp_path)
    assert attempts and "example.com" in attempts[0]


@pytest.mark.slow
def test_default_run_opens_no_internet_socket(data_dir, tmp_path):
    """The main job's configuration (MiniLM, DANN, csv logger) on a subset, hub not forced off."""
    result, attempts = guarded(["source.max_examples=200", "target.max_examples=200",
                                "trainer.max_epochs=1", "trainer.enable_progress_bar=false"],
                               tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert attempts == []
    (metrics,) = (tmp_path / "out").rglob("metrics.json")
    assert json.loads(metrics.read_text())["cache/misses"] > 0  # the encoder really ran


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                f"{getattr(func.value, 'id', '?')}.{func.attr}" if isinstance(func, ast.Attribute)
                else "?")
            keywords = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
            yield node, name, keywords


def unsafe_calls(source: str) -> list[str]:
    """Calls that could run code hidden in data: eval/exec, pickle, unsafe torch/np loads."""
    found = []
    for node, name, keywords in _calls(ast.parse(source)):
        bad = (name in ("eval", "exec")
               or name.startswith(("pickle.", "dill.", "cloudpickle.", "joblib.load"))
               or (name == "torch.load" and keywords.get("weights_only") is not True)
               or (name in ("np.load", "numpy.load") and keywords.get("allow_pickle") is not False)
               or (name.endswith("load_from_checkpoint") and keywords.get("weights_only") is not True))
        if bad:
            found.append(f"line {node.lineno}: {name}")
    return found


def test_unsafe_call_detector_flags_what_it_should():
    assert unsafe_calls("import torch\ntorch.load(p)\neval(s)\nnp.load(p)") == [
        "line 2: torch.load", "line 3: eval", "line 4: np.load"]
    assert unsafe_calls("torch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)") == []


def test_package_never_evals_or_unpickles():
    offenders = {str(path.relative_to(REPO)): calls for path in sorted((REPO / "da").rglob("*.py"))
                 if (calls := unsafe_calls(path.read_text()))}
    assert offenders == {}
