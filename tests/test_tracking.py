"""W&B tracking (da/run/tracking.py, logger=wandb): what the offline run files hold (read back from
the `.wandb` transaction log), one run per sweep job, and the fallback from online to offline."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from da.run.tracking import WandbLogger, flatten, run_metadata, unreachable_reason
from tests.helpers import job_dirs, multirun, sweep_dir


def records(path: Path) -> Iterator[Any]:
    """The protobuf ``Record`` messages of a ``run-*.wandb`` file (W&B's LevelDB-style log:
    a 7-byte header, then 32 KiB blocks of chunks ``crc32 u32 | length u16 | type u8 | data``
    with type 1 = full record, 2/3/4 = first/middle/last part)."""
    from wandb.proto import wandb_internal_pb2 as pb
    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer too short for a chunk header: padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:
            yield pb.Record.FromString(chunk)
        elif kind in (2, 3):
            parts = chunk if kind == 2 else parts + chunk
        elif kind == 4:
            yield pb.Record.FromString(parts + chunk)


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def read_offline_run(run_dir: Path) -> dict[str, Any]:
    """run record, config, history rows and final summary of the one offline run in run_dir."""
    (path,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    out: dict[str, Any] = {"config": {}, "history": [], "summary": {}, "exit": None}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
        elif kind == "config":
            out["config"].update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            out["summary"].update(
                {_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "exit":
            out["exit"] = record.exit
    return out


@pytest.mark.slow
def test_offline_runs_hold_flat_config_metrics_and_summaries(data_dir, tmp_path):
    # Two jobs in one process (basic launcher), inside a named sweep: group = experiment name;
    # the Hydra callback closes each job's W&B run at the end of the job.
    result = multirun(["experiment=amazon_bow_sweep", "logger=wandb", "hydra/callbacks=wandb",
                       "method=source_only,dann", "source=bow_dvd", "target=bow_electronics",
                       "seed=1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_dirs(sweep_dir(tmp_path))
    runs = [read_offline_run(job) for job in jobs]
    assert len({r["run"].run_id for r in runs}) == 2  # one W&B run per job, not one shared
    for job, method, run in zip(jobs, ("source_only", "dann"), runs):
        metrics = json.loads((job / "metrics.json").read_text())
        info, config = run["run"], run["config"]
        assert info.display_name == f"{method}-bow_dvd_to_bow_electronics-s1"
        assert info.run_group == "amazon_bow_sweep" and info.job_type == "train"
        assert list(info.tags) == [method, "bow_dvd", "bow_electronics", "mlp"]
        # DANN on vectors: its recipe's SGD at 0.03 (conf/recipe/vectors/dann.yaml)
        lr = {"source_only": 1e-3, "dann": 0.03}[method]
        assert config["method/name"] == method and config["optimizer/lr"] == lr
        assert config["source/name"] == "bow_dvd" and config["seed"] == 1
        assert config["encoder/out_dim"] == 50 and config["data/batch_size"] == 64
        assert config["run/pair"] == "bow_dvd_to_bow_electronics"
        assert config["run/experiment"] == "amazon_bow_sweep"
        assert config["run/job_num"] == int(job.name.split("_")[0])
        assert not any(isinstance(v, dict) for v in config.values() if v)  # flat
        logged = {k for row in run["history"] for k in row}
        assert {"train/loss_cls", "train/loss_align", "val/source_acc", "test/target_acc"} <= logged
        summary = run["summary"]
        assert summary["test/target_acc"] == pytest.approx(metrics["test/target_acc"])
        assert summary["val/source_acc"]["last"] == pytest.approx(metrics["val/source_acc"])
        assert summary["val/source_acc"]["max"] >= summary["val/source_acc"]["last"]
        assert set(summary["train/loss_cls"]) == {"min", "last"}
        assert run["exit"] is not None and run["exit"].exit_code == 0
    assert {"train/align/disc_acc", "train/align/grl_coeff"} <= {
        k for row in runs[1]["history"] for k in row}  # DANN's alignment diagnostics


@pytest.mark.slow
def test_online_without_server_falls_back_to_offline_with_one_warning(data_dir, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    result = multirun(["logger=wandb", "logger.wandb.mode=online", "method=source_only"],
                      tmp_path, env={"WANDB_BASE_URL": f"http://127.0.0.1:{port}",
                                     "WANDB_MODE": "online"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.perf_counter() - start < 60
    output = result.stdout + result.stderr
    assert output.count("Logging OFFLINE instead") == 1, output[-3000:]
    assert f"127.0.0.1:{port}" in output
    (job,) = job_dirs(sweep_dir(tmp_path))
    assert read_offline_run(job)["config"]["method/name"] == "source_only"


def test_failed_online_start_falls_back_to_offline(tmp_path, monkeypatch, caplog):
    # The server answers TCP but refuses the run (here: no API key) -> offline, one warning.
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
        logger = WandbLogger(mode="online", project="t", save_dir=str(tmp_path), name="r",
                             init_timeout=5)
        run = logger.experiment
    try:
        assert run.settings.mode == "offline"
        assert sum("Logging OFFLINE instead" in r.getMessage() for r in caplog.records) == 1
    finally:
        run.finish()


def test_flatten_and_metadata_without_hydra():
    tree = {"method": {"name": "dann", "loss": {"hidden_dims": [100]}}, "seed": 0, "empty": {}}
    assert flatten(tree) == {"method/name": "dann", "method/loss/hidden_dims": [100], "seed": 0,
                             "empty": None}
    assert run_metadata({"source": {"name": "a"}, "target": {"name": "b"}})["run/pair"] == "a_to_b"


def test_unreachable_reason(monkeypatch):
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert "cannot connect" in unreachable_reason(f"http://127.0.0.1:{port}", 1.0)
        sock.listen()
        assert unreachable_reason(f"http://127.0.0.1:{port}", 1.0) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")  # can't tell behind a proxy
    assert unreachable_reason(f"http://127.0.0.1:{port}", 1.0) is None


def test_default_config_uses_the_da_logger(compose_cfg):
    cfg = compose_cfg(["logger=wandb", "source=bow_dvd", "target=bow_kitchen", "method=mmd"])
    node = cfg.logger.wandb
    assert node._target_ == "da.run.tracking.WandbLogger"
    assert node.group is None and node.fallback_group == "bow_dvd_to_bow_kitchen"
    assert node.name == cfg.run_name and node.mode == "offline"
    assert list(node.tags) == ["mmd", "bow_dvd", "bow_kitchen", cfg.encoder.name]
    assert node.summaries["val/source_acc"] == "max,last"
    assert "csv" in cfg.logger
