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
from omegaconf.errors import MissingMandatoryValue
from torch import nn

from da.data.cache import FeatureCache, PrefixCache
from da.data.datamodule import DomainPairDataModule
from da.encoders.hf import TextEncoder
from da.encoders.hf_prefix import PrefixCachedTextEncoder, check_split, encode_prefix
from da.errors import ConfigError
from da.methods.alignment import AlignmentModule

log = logging.getLogger(__name__)


def build(node: DictConfig | None, where: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate(node, **kwargs)`` with errors that name the config node."""
    if node is None:
        return None
    try:
        return instantiate(node, **kwargs)
    except MissingMandatoryValue as exc:
        raise ConfigError(f"missing value for '{exc.full_key}': set it on the command line, "
                          f"e.g. {exc.full_key}=...") from exc
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


def build_encoder(cfg: DictConfig, datamodule: DomainPairDataModule) -> tuple[nn.Module, dict]:
    """The shared encoder, wired to the data; returns ``(encoder, info)``.

    A vector encoder gets its input size from the data. A text encoder with a ``backbone``
    either (fully frozen, ``cache: true``) turns every text into cached backbone features once and
    trains only ``encoder.model`` on them, or (``freeze=N >= 1``, ``prefix_cache: true``, a
    BERT-like backbone) turns every text into cached token states of the frozen prefix once and
    runs only the later layers in each step, or runs the whole backbone in every step on token
    batches. ``info`` counts cache hits and misses.
    """
    if cfg.encoder.get("backbone") is None:
        extra = {"in_dim": datamodule.input_dim} if datamodule.input_dim is not None else {}
        return build(cfg.encoder.model, "encoder.model", **extra), {}
    backbone = build(cfg.encoder.backbone, "encoder.backbone")
    top = build(cfg.encoder.model, "encoder.model", in_dim=backbone.out_dim)
    if backbone.fully_frozen and cfg.encoder.get("cache", True):
        cache = FeatureCache(cfg.get("cache_dir"))
        fingerprint = backbone.fingerprint()
        datamodule.encode_text(lambda texts: cache.get(fingerprint, texts, backbone.encode),
                               backbone.out_dim)
        return top, {"cache/hits": cache.hits, "cache/misses": cache.misses}
    if isinstance(backbone.freeze, int) and backbone.freeze >= 1 \
            and cfg.encoder.get("prefix_cache", True):
        try:
            check_split(backbone)
        except ConfigError as exc:
            log.warning("%s; prefix cache off, every step runs the whole backbone", exc)
        else:
            cache = PrefixCache(cfg.get("cache_dir"))
            fingerprint = backbone.prefix_fingerprint()
            datamodule.serve_token_states(lambda texts: cache.get(
                fingerprint, texts, lambda t: encode_prefix(backbone, t, dtype=cache.dtype),
                dim=backbone.out_dim))
            return PrefixCachedTextEncoder(backbone, top), {"cache/hits": cache.hits,
                                                            "cache/misses": cache.misses}
    datamodule.tokenize_with(backbone.tokenize)
    return TextEncoder(backbone, top), {}


def build_model(cfg: DictConfig, datamodule: DomainPairDataModule,
                encoder: nn.Module | None = None) -> AlignmentModule:
    """The `AlignmentModule` (alignment loss, optimizer, scheduler) around ``encoder``."""
    if encoder is None:
        encoder, _ = build_encoder(cfg, datamodule)
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
        method=cfg.method.name, **OmegaConf.to_container(cfg.model, resolve=True))
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
