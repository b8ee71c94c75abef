"""Selection rules (``selection=<rule>``): the callbacks they need and the checkpoint to test.

``conf/selection/<rule>.yaml`` holds ``rule``; ``checkpoint`` (``conf/base/selection.yaml``) is a
:class:`SelectionCheckpoint`, which monitors ``select/<validator>`` in the direction
:data:`~da.selection.validators.MODES` gives, or ``null`` for ``last``: the final model. Besides the
rule's checkpoint a second one on ``select/source_acc`` is kept as the **fallback**: if the
rule's validator could not be computed in any epoch, that checkpoint is tested, with a warning.

``metrics.json`` (flat numbers) records the choice as ``test/selected_by/<rule>: 1`` (the rule
that actually chose: after a fallback ``source_acc``), ``selection/epoch`` (0-based epoch of the
tested model), ``selection/score`` (its monitored value), ``selection/fallback`` (0/1) and, per
validator that could not be computed, ``select/<name>_missing`` (epochs); the reasons are in the
summary printed at the end of the run and in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from da.errors import ConfigError
from da.config.instantiate import build
from da.selection.callback import SelectionCallback
from da.selection.checkpoint import SelectionCheckpoint
from da.selection.diag_callback import DiagnosticsCallback

log = logging.getLogger(__name__)

FALLBACK = "select/source_acc"


@dataclass
class Choice:
    """Which model is tested: requested rule, the rule that chose, its checkpoint and epoch."""

    rule: str
    chosen_by: str
    ckpt_path: str | None = None
    epoch: int | None = None
    score: float | None = None
    fallback: bool = False


def _node(cfg: DictConfig, key: str) -> dict[str, Any]:
    node = cfg.get(key)
    return OmegaConf.to_container(node, resolve=True) if node is not None else {}


def selection_callbacks(cfg: DictConfig, output_dir: Path) -> list[L.Callback]:
    """The validator, diagnostics and selection-checkpoint callbacks of ``cfg``."""
    selection = cfg.get("selection")
    selecting = selection is not None and selection.get("checkpoint") is not None
    options = _node(cfg, "validators")
    if options.get("enabled") == "auto":  # the default: computed only when a rule needs them
        options["enabled"] = selecting
    validators = SelectionCallback(**options)
    diagnostics = DiagnosticsCallback(output_dir, title=str(cfg.get("run_name", "")),
                                      **_node(cfg, "diagnostics"))
    callbacks: list[L.Callback] = [validators, diagnostics]
    if not selecting:
        return callbacks
    if not validators.enabled:
        raise ConfigError(f"selection={selection.rule} needs the select/* validators; set "
                          f"validators.enabled=true (or selection=last).")
    if validators.final_only:
        raise ConfigError(f"selection={selection.rule} scores every epoch, but "
                          f"validators.final_only=true computes the validators at the last "
                          f"one only; set validators.final_only=false (or selection=last).")
    dirpath = str(Path(output_dir) / "checkpoints")
    primary = build(selection.checkpoint, "selection.checkpoint", dirpath=dirpath)
    callbacks.append(primary)
    if primary.monitor != FALLBACK:
        callbacks.append(SelectionCheckpoint("source_acc", dirpath, fallback=True))
    return callbacks


def _find(trainer: L.Trainer, kind: type) -> list[Any]:
    return [cb for cb in trainer.callbacks if isinstance(cb, kind)]


def choose_model(trainer: L.Trainer) -> Choice:
    """The model to test after ``fit``: the rule's checkpoint, else (with a warning) the
    ``select/source_acc`` one, else the final model."""
    checkpoints = _find(trainer, SelectionCheckpoint)
    last = Choice("last", "last", epoch=max(trainer.current_epoch - 1, 0))
    if not checkpoints:
        return last
    primary = checkpoints[0]
    rule = primary.rule
    if primary.best_model_path:
        if primary.missing_epochs:
            log.warning("selection=%s: %s was missing in %d validation epoch(s); those epochs "
                        "were no candidates.", rule, primary.monitor, primary.missing_epochs)
        return Choice(rule, rule, primary.best_model_path, primary.best_epoch,
                      _score(primary))
    fallback = checkpoints[-1]
    if fallback is not primary and fallback.best_model_path:
        log.warning("selection=%s: %s could not be computed in any epoch (%s); falling back to "
                    "%s.", rule, primary.monitor, _reason(trainer, primary.monitor), FALLBACK)
        return Choice(rule, "source_acc", fallback.best_model_path, fallback.best_epoch,
                      _score(fallback), fallback=True)
    log.warning("selection=%s: neither %s nor %s was logged; testing the final model.", rule,
                primary.monitor, FALLBACK)
    return Choice(rule, "last", epoch=last.epoch, fallback=True)


def _score(checkpoint: SelectionCheckpoint) -> float | None:
    score = checkpoint.best_model_score
    return None if score is None else float(score)


def _reason(trainer: L.Trainer, monitor: str) -> str:
    name = monitor.removeprefix("select/")
    for cb in _find(trainer, SelectionCallback):
        if name in cb.missing:
            return cb.missing[name]["reason"]
    return "not logged"


def selection_metrics(trainer: L.Trainer, choice: Choice) -> dict[str, float]:
    """Flat ``metrics.json`` entries: the choice, missing validators and ``diag/*``."""
    metrics: dict[str, float] = {f"test/selected_by/{choice.chosen_by}": 1.0,
                                 "selection/fallback": float(choice.fallback)}
    if choice.epoch is not None:
        metrics["selection/epoch"] = float(choice.epoch)
    if choice.score is not None:
        metrics["selection/score"] = choice.score
    for cb in _find(trainer, SelectionCallback):
        metrics.update({f"select/{n}_missing": float(m["epochs"]) for n, m in cb.missing.items()})
    for cb in _find(trainer, DiagnosticsCallback):
        metrics.update(cb.results)
    return metrics


def selection_summary(trainer: L.Trainer, choice: Choice) -> str:
    """One or two terminal lines: which rule chose the tested model, and missing validators."""
    by = ("ORACLE select/oracle_target_acc (peeks at target test labels)"
          if choice.chosen_by == "oracle" else choice.chosen_by)
    line = f"[da] tested model: epoch {choice.epoch}, chosen by {by}"
    if choice.fallback:
        line += f" (fallback: selection={choice.rule} could not be computed)"
    missing = [f"{name} ({m['reason']})" for cb in _find(trainer, SelectionCallback)
               for name, m in cb.missing.items()]
    if missing:
        line += "\n[da] validators missing: " + "; ".join(missing)
    return line
