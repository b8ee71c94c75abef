"""Experiment tracking with Weights & Biases (``logger=wandb``, ``conf/logger/wandb.yaml``).

:class:`WandbLogger` is Lightning's ``WandbLogger`` with what a sweep over methods, pairs and
seeds needs in the W&B runs table:

- the whole resolved config, flattened to ``/``-joined keys (``method/name``,
  ``optimizer/lr``, ``source/name``) plus ``run/*`` keys (pair, experiment, sweep dir, job
  number, command-line overrides), so the table can filter and group by any of them;
- summary metrics declared with ``define_metric`` (``val/source_acc`` max and last,
  ``test/target_acc`` last, losses min, ...): see ``summaries`` in the YAML;
- offline by default; ``mode=online`` falls back to offline with one warning when the W&B
  server cannot be reached or refuses the run (no API key), instead of failing the job;
- one W&B run per job: a run left open by an earlier job in the same process (Hydra's basic
  launcher, a joblib worker) is finished before the next one starts.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Mapping
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from lightning.pytorch.loggers import WandbLogger as _LightningWandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

log = logging.getLogger(__name__)

#: Default W&B summaries (``define_metric(name, summary=...)``); the YAML can replace them.
SUMMARIES: dict[str, str] = {
    "val/source_acc": "max,last", "val/target_acc_oracle": "max,last",
    "val/source_loss": "min,last", "test/target_acc": "last", "test/target_f1": "last",
    "train/loss": "min,last", "train/loss_cls": "min,last", "train/loss_align": "min,last",
}
DEFAULT_BASE_URL = "https://api.wandb.ai"
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")

#: The W&B run the last :class:`WandbLogger` of this process started (finished by the next one)
#: and the exit code to finish it with (1 once Lightning reported a failure).
_open: dict[str, Any] = {"run": None, "exit_code": 0}


def flatten(tree: Mapping[str, Any], sep: str = "/", prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [2]}`` → ``{"a/b": 1, "c": [2]}`` (lists are kept as values)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, sep, name))
        else:
            flat[name] = None if isinstance(value, Mapping) else value
    return flat


def run_metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """``run/*`` keys: pair, experiment, Hydra sweep dir, job number and overrides (if any)."""
    meta: dict[str, Any] = {}
    source, target = config.get("source"), config.get("target")
    if isinstance(source, Mapping) and isinstance(target, Mapping):
        meta["run/pair"] = f"{source.get('name')}_to_{target.get('name')}"
    if HydraConfig.initialized():
        hydra = HydraConfig.get()
        multirun = hydra.mode == RunMode.MULTIRUN
        meta.update({
            "run/experiment": hydra.runtime.choices.get("experiment"),
            "run/output_dir": hydra.runtime.get("output_dir"),
            "run/sweep_dir": hydra.sweep.dir if multirun else None,
            "run/job_num": hydra.job.get("num") if multirun else None,
            "run/overrides": " ".join(hydra.overrides.task),
        })
    return meta


def unreachable_reason(base_url: str, timeout: float) -> str | None:
    """Why the W&B server at ``base_url`` cannot be reached (TCP connect), or ``None`` if it can.

    Behind an HTTP proxy a direct connection says nothing, so the check is skipped there (an
    unreachable server then shows up as a failed ``wandb.init``, also handled).
    """
    if any(os.environ.get(var) for var in _PROXY_VARS):
        return None
    url = urlparse(base_url if "://" in base_url else f"https://{base_url}")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        return f"cannot connect to {url.hostname}:{port} ({exc.__class__.__name__}: {exc})"
    return None


def finish_open_run(exit_code: int | None = None) -> None:
    """Finish the W&B run a :class:`WandbLogger` of this process left open, if any.

    Args:
        exit_code: W&B exit code; ``None`` → 1 if Lightning finalized the logger as failed, else 0.
    """
    run, code = _open["run"], _open["exit_code"] if exit_code is None else exit_code
    _open.update(run=None, exit_code=0)
    if run is not None:
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # an already finished run; never fail the next job for it
            log.debug("finishing the previous W&B run: %s", exc)


class WandbLogger(_LightningWandbLogger):
    """Lightning's ``WandbLogger`` + flattened config, summaries, offline fallback.

    Args:
        mode: ``offline`` (default), ``online`` or ``disabled``. ``online`` falls back to
            ``offline`` with one warning when the server is unreachable or ``wandb.init`` fails.
        group: W&B group; ``None`` → ``fallback_group``.
        fallback_group: the group used when ``group`` is ``None`` (the YAML passes the pair).
        summaries: ``{metric: "max,last"}`` for ``define_metric``; ``None`` → :data:`SUMMARIES`.
        init_timeout: seconds ``wandb.init`` may wait for the server (W&B setting).
        connect_timeout: seconds for the reachability check of an online run.
        **kwargs: passed to Lightning's ``WandbLogger`` (``project``, ``name``, ``tags``, ...).
    """

    def __init__(self, *, mode: str = "offline", group: str | None = None,
                 fallback_group: str | None = None, summaries: Mapping[str, str] | None = None,
                 init_timeout: float = 30.0, connect_timeout: float = 3.0, **kwargs: Any) -> None:
        import wandb
        self._summaries = dict(SUMMARIES if summaries is None else summaries)
        if "settings" not in kwargs:
            kwargs["settings"] = wandb.Settings(init_timeout=init_timeout)
        mode = {"dryrun": "offline", "run": "online"}.get(mode, mode)  # W&B's aliases
        if mode == "online":
            base_url = os.environ.get("WANDB_BASE_URL", DEFAULT_BASE_URL)
            reason = unreachable_reason(base_url, connect_timeout)
            if reason is not None:
                mode = self._offline_warning(f"the W&B server {base_url} is unreachable: {reason}")
        super().__init__(mode=mode, group=group or fallback_group, **kwargs)

    @staticmethod
    def _offline_warning(reason: str) -> str:
        log.warning("W&B: online logging was requested but %s. Logging OFFLINE instead; upload "
                    "later with `wandb sync <run dir>/wandb/offline-run-*`.", reason)
        return "offline"

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The W&B run, started on first use (offline if an online start fails)."""
        if self._experiment is not None:
            return self._experiment
        finish_open_run()
        try:
            run = _LightningWandbLogger.experiment.fget(self)
        except Exception as exc:  # noqa: BLE001 - any failed online start falls back
            if self._wandb_init.get("mode") != "online":
                raise
            self._wandb_init["mode"] = self._offline_warning(
                f"wandb.init failed ({exc.__class__.__name__}: {str(exc).splitlines()[0]})")
            run = _LightningWandbLogger.experiment.fget(self)
        _open.update(run=run, exit_code=0)
        for name, summary in self._summaries.items():  # "last" alone: W&B's default scalar
            run.define_metric(name, step_metric="trainer/global_step",
                              summary=None if summary == "last" else summary)
        return run

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Lightning's end of fit/test; a ``failed`` status makes the run end with exit code 1."""
        super().finalize(status)
        if status == "failed" and self._experiment is not None and _open["run"] is self._experiment:
            _open["exit_code"] = 1

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Log ``params`` (the resolved run config) flattened, plus :func:`run_metadata`."""
        params = dict(params) if isinstance(params, Mapping) else vars(params)
        flat = {**flatten(params), **run_metadata(params)} if params else {}
        super().log_hyperparams(flat)


class FinishWandbRun(Callback):
    """Hydra callback (``hydra/callbacks=wandb``): finish the job's W&B run when the job ends.

    Without it a run still ends when its process exits or the next job starts; with it the
    run is closed at once, with exit code 1 when the job failed.
    """

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        finish_open_run(exit_code=0 if job_return.status == JobStatus.COMPLETED else 1)


def _config_value(config: Mapping[str, Any], key: str) -> Any:
    """``method/name`` from a flat (this logger), dotted or nested W&B config."""
    for flat in (key, key.replace("/", ".")):
        if flat in config:
            value = config[flat]
            return value.get("value") if isinstance(value, Mapping) and "value" in value else value
    node: Any = config
    for part in key.split("/"):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _final_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Numeric summary values; ``{"max": .., "last": ..}`` summaries give their ``last``."""
    metrics: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, Mapping):
            value = value.get("last")
        if not key.startswith("_") and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            metrics[key] = float(value)
    return metrics


def fetch_runs(path: str, group: str | None = None, api: Any = None) -> list[dict[str, Any]]:
    """The runs of W&B project ``path`` (``entity/project``) as :class:`da.results.tables.Run`
    fields.

    Needs network access and a W&B login (``wandb.Api``). A run whose state is not
    ``finished`` (failed, crashed, running) comes back with ``finished=False``.
    """
    if api is None:
        import wandb
        api = wandb.Api()
    runs = []
    for run in api.runs(path, filters={"group": group} if group else None):
        config = dict(run.config)
        summary = getattr(run, "summary_metrics", None) or dict(run.summary)
        runs.append({
            "name": run.name, "method": str(_config_value(config, "method/name")),
            "source": str(_config_value(config, "source/name")),
            "target": str(_config_value(config, "target/name")),
            "seed": _config_value(config, "seed"), "metrics": _final_metrics(summary),
            "finished": run.state == "finished"})
    return runs
