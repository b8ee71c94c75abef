"""Turn a composed Hydra config into the datamodule, model, loggers and trainer.

Every node is instantiated through :func:`da.config.instantiate.build`, so a wrong value stops
the run before training with a :class:`~da.errors.ConfigError` that names the config node.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue
from torch import nn

from da.data.datamodule import DomainPairDataModule
from da.data.featurize import TfidfFeaturizer
from da.data.pipeline import InputPipeline
from da.encoders.inputs import check_encoder_fits, check_same_modality
from da.encoders.hf import HFBackbone
from da.encoders.text import TextEncoding, text_encoding
from da.encoders.vectors import vector_pipeline
from da.errors import ConfigError
from da.config.instantiate import build
from da.methods.alignment import AlignmentModule
from da.run.progress import EpochLog, bar_wanted
from da.selection.rules import selection_callbacks
from da.run.resume import StepSeed

log = logging.getLogger(__name__)


@dataclass
class EncoderSide:
    """What the encoder config builds before any data is read: the ``pipeline`` its inputs go
    through (handed to the DataModule when it is constructed) and, once the data is prepared,
    the encoder itself (:meth:`encoder`)."""

    cfg: DictConfig
    pipeline: InputPipeline
    text: TextEncoding | None = None  # text encoders: the encoder that goes with the pipeline
    backbone: HFBackbone | None = None
    featurizer: Any = None  # tf-idf of text domains read by a vector encoder (fitted in prepare)
    denoiser: Any = None    # mSDA (encoder.denoiser)

    def encoder(self, input_dim: int | None) -> tuple[nn.Module, dict]:
        """``(encoder, info)``: a vector or image encoder sized to the prepared inputs
        (``input_dim``, :attr:`DomainPairDataModule.input_dim`), or the text encoder; ``info``
        counts cache hits and misses and gives the length ``max_length=auto`` took."""
        if self.text is None:
            return build(self.cfg.encoder.model, "encoder.model",
                         **({"in_dim": input_dim} if input_dim is not None else {})), {}
        info = self.text.cache_info()
        if self.cfg.encoder.backbone.max_length == "auto":
            info["encoder/max_length"] = self.backbone.max_length
        return self.text.encoder, info


def build_encoder_side(cfg: DictConfig, modality: str) -> EncoderSide:
    """The encoder side of the seam (:mod:`da.data.pipeline`), from ``cfg.encoder`` and the
    ``modality`` of the domains (no data read).

    A text encoder with a ``backbone`` serves cached features, cached prefix states or tokens
    (:func:`da.encoders.text.text_encoding`); any other encoder reads tensors, through tf-idf
    (``encoder.featurizer``) for text domains and mSDA (``encoder.denoiser``) if set
    (:func:`da.encoders.vectors.vector_pipeline`).
    """
    encoder = cfg.encoder
    if encoder.get("backbone") is None:
        featurizer = build(encoder.get("featurizer"), "encoder.featurizer")
        if featurizer is None and modality == "text" and encoder.input == "vectors":
            featurizer = TfidfFeaturizer()  # the default tf-idf, kept to save its vocabulary
        denoiser = build(encoder.get("denoiser"), "encoder.denoiser")
        return EncoderSide(cfg, vector_pipeline(encoder.input, modality, featurizer, denoiser,
                                                cfg.get("cache_dir")),
                           featurizer=featurizer, denoiser=denoiser)
    backbone = build(encoder.backbone, "encoder.backbone")
    top = build(encoder.model, "encoder.model", in_dim=backbone.out_dim)
    text = text_encoding(backbone, top, cache=encoder.cache, prefix_cache=encoder.prefix_cache,
                         cache_dir=cfg.get("cache_dir"))
    return EncoderSide(cfg, text.pipeline, text, backbone)


def build_data(cfg: DictConfig, raw: bool = False) -> tuple[DomainPairDataModule, EncoderSide]:
    """The DataModule, loaded, checked and passed through the pipeline of the encoder side, which
    is built first and handed to it (one way); returns both. The domains' modalities are checked
    here, once, from their classes, before anything is built or read. ``raw``: an empty pipeline,
    the parts keep their raw inputs (to count labels without encoding anything)."""
    source = build(cfg.source, "source")
    target = build(cfg.target, "target")
    check_same_modality((source.name, source.modality), (target.name, target.modality))
    check_encoder_fits(cfg.encoder.input, source, target)
    side = EncoderSide(cfg, InputPipeline()) if raw else build_encoder_side(cfg, source.modality)
    datamodule = build(cfg.data, "data", source=source, target=target, pipeline=side.pipeline,
                       data_dir=cfg.data_dir)
    datamodule.prepare()
    return datamodule, side


def build_datamodule(cfg: DictConfig, raw: bool = False) -> DomainPairDataModule:
    """The prepared DataModule of :func:`build_data` alone."""
    return build_data(cfg, raw)[0]


def build_encoder(cfg: DictConfig, datamodule: DomainPairDataModule) -> tuple[nn.Module, dict]:
    """A vector or image encoder sized to a prepared ``datamodule`` (for callers that built the
    datamodule alone; a run takes its encoder from its :class:`EncoderSide`)."""
    return EncoderSide(cfg, datamodule.pipeline).encoder(datamodule.input_dim)


def build_model(cfg: DictConfig, datamodule: DomainPairDataModule | None,
                encoder: nn.Module | None = None, num_classes: int | None = None
                ) -> AlignmentModule:
    """The `AlignmentModule` (alignment loss, optimizer, scheduler) around ``encoder``.

    Without a ``datamodule`` (``da-predict``: a trained run's model rebuilt to load its
    checkpoint), ``encoder`` and ``num_classes`` are given and nothing reads data.

    A loss config with ``num_classes: ???`` gets the number of classes of the data. A method
    config with a ``module`` node (``_target_`` + ``_partial_: true``, e.g. conf/method/mcd.yaml)
    builds that LightningModule, called with the same arguments, instead of `AlignmentModule`.
    """
    if encoder is None:  # a vector or image encoder sized to the data
        encoder, _ = build_encoder(cfg, datamodule)
    if getattr(encoder, "out_dim", None) != cfg.encoder.out_dim:
        raise ConfigError(f"encoder.out_dim is {cfg.encoder.out_dim} but the encoder built from "
                          f"encoder.model outputs {getattr(encoder, 'out_dim', None)} features; "
                          f"make them equal.")
    num_classes = datamodule.num_classes if datamodule is not None else num_classes
    loss_node, loss_extra = cfg.method.loss, {}
    if loss_node is not None and OmegaConf.is_missing(loss_node, "num_classes"):  # `???`
        loss_extra["num_classes"] = num_classes
    # A method with its own training loop names its LightningModule (a partial) in `module`.
    module = build(cfg.method.get("module"), "method.module") or AlignmentModule
    model = module(
        encoder=encoder, num_classes=num_classes,
        alignment=build(loss_node, "method.loss", **loss_extra),
        align_weight=build(cfg.method.weight, "method.weight"),
        optimizer=build(cfg.optimizer, "optimizer"),
        scheduler=build(cfg.scheduler, "scheduler"),
        scheduler_interval=cfg.scheduler_interval,
        head_hidden_dims=OmegaConf.to_container(cfg.head.hidden_dims, resolve=True),
        head_batch_norm=cfg.head.batch_norm, head_dropout=cfg.head.dropout,
        encoder_lr_scale=cfg.encoder.lr_scale, alignment_lr_scale=cfg.method.alignment_lr_scale,
        method=cfg.method.name,
        target_loader=None if datamodule is None else  # inputs only (SHOT)
        datamodule.loader("target_train", labels=False))
    model.gather = check_gather(cfg, model.alignment)  # method.gather: DDP global batch
    try:  # fail now, not after data loading in fit, on e.g. a negative learning rate
        model.configure_optimizers()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid optimizer or scheduler config: {exc}") from exc
    return model


def check_gather(cfg: DictConfig, alignment: nn.Module | None) -> bool:
    """``method.gather`` (false in conf/base/method.yaml), checked against the loss: a ConfigError
    before training.

    Gathering needs an alignment loss whose every part allows it (``supports_gather``, see
    da/losses/base.py). On one process it changes nothing.
    """
    gather = cfg.method.gather
    if not isinstance(gather, bool):
        raise ConfigError(f"method.gather must be true or false, got {gather!r}.")
    if not gather:
        return False
    if alignment is None:
        raise ConfigError(f"method.gather=true but method '{cfg.method.name}' has no alignment "
                          f"loss to compute on the global batch; drop method.gather.")
    parts = alignment.modules() if isinstance(alignment, nn.Module) else [alignment]
    refusing = sorted({type(m).__name__ for m in parts
                       if getattr(m, "supports_gather", True) is False})
    if refusing:
        raise ConfigError(
            f"method.gather=true but the alignment loss {', '.join(refusing)} of method "
            f"'{cfg.method.name}' cannot be computed on the batch gathered from all devices "
            f"(supports_gather = False); set method.gather=false.")
    return True


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Instantiate every logger under ``cfg.logger`` (a dict of logger configs, maybe empty)."""
    return [build(node, f"logger.{name}") for name, node in (cfg.logger or {}).items()
            if node is not None]


def build_trainer(cfg: DictConfig, output_dir: Path, loggers: list[Any]) -> L.Trainer:
    """The Lightning Trainer writing into the run directory.

    Lightning checks accelerator, devices, nodes and strategy when the Trainer is created, i.e.
    before any DDP process is launched; its complaint (no GPU, more devices than visible, a
    strategy this platform cannot run) becomes a ConfigError naming the trainer settings.
    """
    callbacks = [build(node, f"callbacks.{name}") for name, node in (cfg.callbacks or {}).items()
                 if node is not None]
    try:  # auto: a bar on a terminal; one line per epoch where output goes to a file
        bar = bar_wanted(cfg.trainer.enable_progress_bar)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not bar:  # the switch wins over callbacks.progress_bar
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
        if str(cfg.trainer.enable_progress_bar).lower() == "auto":
            callbacks.append(EpochLog())
    callbacks += selection_callbacks(cfg, output_dir)  # select/*, diag/*, selection=<rule>
    callbacks.append(StepSeed(cfg.seed))  # resumed runs repeat the random draws (da/run/resume.py)
    try:
        trainer = build(cfg.trainer, "trainer", default_root_dir=str(output_dir),
                        logger=loggers or False, callbacks=callbacks, enable_progress_bar=bar)
    except ConfigError as exc:
        cause = exc.__cause__.__cause__ if isinstance(exc.__cause__, InstantiationException) \
            else None
        if cause is None or isinstance(cause, (TypeError, MissingMandatoryValue)):
            raise  # e.g. an unknown Trainer argument: the generic message names it
        raise ConfigError(_trainer_error(cfg, cause)) from exc
    if trainer.world_size > 1 and _in_multirun() and isinstance(
            getattr(trainer.strategy, "launcher", None), _SubprocessScriptLauncher) and \
            not trainer.strategy.cluster_environment.creates_processes_externally:
        # it would re-run the whole `da-train -m ...` command line, i.e. the sweep, per rank
        # (not under SLURM: there srun started every rank, and Lightning launches nothing)
        raise ConfigError(
            f"trainer.strategy={cfg.trainer.get('strategy')} re-launches the command for each "
            f"device, which does not work inside a sweep (da-train -m); use "
            f"hydra/launcher=slurm with hydra.launcher.tasks_per_node=<devices> (one SLURM task "
            f"per device, docs/MULTIGPU.md), or trainer.strategy=ddp_spawn on this machine.")
    return trainer


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    return HydraConfig.initialized() and HydraConfig.get().get("mode") == RunMode.MULTIRUN


def _trainer_error(cfg: DictConfig, cause: BaseException) -> str:
    keys = ("accelerator", "devices", "num_nodes", "strategy")
    settings = " ".join(f"trainer.{k}={cfg.trainer.get(k)}" for k in keys if k in cfg.trainer)
    message = " ".join(str(cause).split()).rstrip(".!")
    hint = ""
    if cfg.trainer.get("accelerator") in ("gpu", "cuda", "auto") and not _cuda_devices():
        hint = (" No GPU is visible here: use trainer=cpu, or trainer=ddp "
                "trainer.accelerator=cpu for DDP over CPU processes.")
    elif _cuda_devices():
        hint = f" This machine has {_cuda_devices()} visible GPU(s)."
    return (f"the Lightning Trainer cannot run with {settings or 'these settings'}: "
            f"{message}.{hint}")


def _cuda_devices() -> int:
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0
