"""Turn a composed Hydra config into the datamodule, model, loggers and trainer.

Every instantiation error is turned into a :class:`~da.errors.ConfigError` that names the config
node, so a wrong value stops the run before training with a message, not a stack trace.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from da.data.datamodule import DomainPairDataModule
from da.errors import ConfigError
from da.methods.alignment import AlignmentModule

log = logging.getLogger(__name__)


def build(node: DictConfig | None, where: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate(node, **kwargs)`` with errors that name the config node."""
    if node is None:
        return None
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as exc:
        message = str(exc).strip()
        hint = ""
        if "Error locating target" in message:
            hint = (" The module could not be imported: check the spelling of _target_, and that "
                    "the package holding it is installed or on PYTHONPATH.")
        raise ConfigError(f"invalid config '{where}': {message}.{hint}") from exc


def build_datamodule(cfg: DictConfig) -> DomainPairDataModule:
    """Source and target domains + the DataModule, loaded and checked (before any model)."""
    source = build(cfg.source, "source")
    target = build(cfg.target, "target")
    datamodule = build(cfg.data, "data", source=source, target=target,
                       encoder_input=cfg.encoder.input, data_dir=cfg.data_dir)
    datamodule.prepare()
    return datamodule


def build_model(cfg: DictConfig, datamodule: DomainPairDataModule) -> AlignmentModule:
    """Encoder (input size from the data), alignment loss and the `AlignmentModule`."""
    extra = {"in_dim": datamodule.input_dim} if datamodule.input_dim is not None else {}
    encoder = build(cfg.encoder.model, "encoder.model", **extra)
    if getattr(encoder, "out_dim", None) != cfg.encoder.out_dim:
        raise ConfigError(f"encoder.out_dim is {cfg.encoder.out_dim} but the encoder built from "
                          f"encoder.model outputs {getattr(encoder, 'out_dim', None)} features; "
                          f"make them equal.")
    model = AlignmentModule(
        encoder=encoder, num_classes=datamodule.num_classes,
        alignment=build(cfg.method.loss, "method.loss"),
        align_weight=build(cfg.method.weight, "method.weight"),
        optimizer=build(cfg.optimizer, "optimizer"),
        scheduler=build(cfg.scheduler, "scheduler"),
        method=cfg.method.name, **OmegaConf.to_container(cfg.model))
    try:  # fail now, not after data loading in fit, on e.g. a negative learning rate
        model.configure_optimizers()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid optimizer or scheduler config: {exc}") from exc
    return model


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Instantiate every logger under ``cfg.logger`` (a dict of logger configs, maybe empty)."""
    return [build(node, f"logger.{name}") for name, node in (cfg.logger or {}).items()
            if node is not None]


def build_trainer(cfg: DictConfig, output_dir: Path, loggers: list[Any]) -> L.Trainer:
    """The Lightning Trainer writing into the run directory."""
    callbacks = [build(node, f"callbacks.{name}") for name, node in (cfg.callbacks or {}).items()
                 if node is not None]
    return build(cfg.trainer, "trainer", default_root_dir=str(output_dir),
                 logger=loggers or False, callbacks=callbacks)
