"""Hydra entry point (``da-train`` / ``python -m da.train``).

compose config → load and check both domains → build model → ``fit`` → ``test`` on the target
test part → ``metrics.json`` + resolved ``config.yaml`` in the run directory.

User errors (:class:`~da.errors.DAError`) end a single run with a one-line message and exit
status 2; inside a multirun they fail that job only, so the other jobs go on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from da.config.domain_groups import register_domain_groups, register_searchpath_domains
from da.errors import ConfigError, DAError
from da.run.reporting import flat_metrics, summary, write_metrics

log = logging.getLogger("da.train")

#: The repository's conf/ (the package is installed in editable mode, see the README).
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")
register_domain_groups(CONFIG_DIR)  # source=<d> and target=<d> for each conf/domain/<d>.yaml

#: Hydra's help flags: they compose nothing, so encoder=auto is left for the help to show.
HELP_FLAGS = {"--help", "-h", "--hydra-help"}

#: Keys of the former ``model`` node (the LightningModule's arguments) and where they live now,
#: and keys renamed because their names misled: a pool size in batches; the source train/val
#: split's seed, not the domain's own train/test ``split_seed``.
RENAMED = {"model.head_hidden_dims": "head.hidden_dims",
           "model.encoder_lr_scale": "encoder.lr_scale",
           "model.alignment_lr_scale": "method.alignment_lr_scale",
           "model.scheduler_interval": "scheduler_interval",
           "data.length_buckets": "data.length_bucket_pool",
           "data.split_seed": "data.val_split_seed"}


def train(cfg: DictConfig, output_dir: Path) -> dict[str, float]:
    """Run one training job and return its flat metrics (also written to ``metrics.json``)."""
    start = time.perf_counter()
    # Imported here, not at the top: `da-train --help`, config errors and the sweep's parent
    # process never pay the ~4 s of importing torch + Lightning (+ torchmetrics, transformers).
    import lightning as L
    import torch

    from da.run.build import build_datamodule, build_encoder, build_loggers, build_model, build_trainer
    from da.config.checks import prepare_config
    from da.run.provenance import run_provenance
    from da.run.resume import resume_checkpoint
    from da.selection.rules import choose_model, selection_metrics, selection_summary

    check_renamed_keys(cfg)  # e.g. an experiment file or a +model.* override of the old layout
    prepare_config(cfg)  # checks the method/encoder/domain files; completes a bare loss node
    output_dir.mkdir(parents=True, exist_ok=True)
    if launch_rank_zero():  # DDP: the ranks Lightning launches share the run dir (docs/MULTIGPU.md)
        (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    torch.set_flush_denormal(True)  # no slow denormal arithmetic on CPU (tiny Adam moments)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    encoder, encoder_info = build_encoder(cfg, datamodule)
    model = build_model(cfg, datamodule, encoder)
    loggers = build_loggers(cfg)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    trainer = build_trainer(cfg, output_dir, loggers)
    fit_start = time.perf_counter()
    ckpt_path = resume_checkpoint(cfg.get("resume"), trainer)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    fit_s = time.perf_counter() - fit_start
    fitted = dict(trainer.callback_metrics)
    choice = choose_model(trainer)  # selection=<rule>: its checkpoint; last: the final model
    tested = trainer.test(model, datamodule=datamodule, verbose=False,
                          ckpt_path=choice.ckpt_path, weights_only=True)[0]
    metrics = flat_metrics(fitted, tested, {
        "time/fit_s": fit_s, "time/total_s": time.perf_counter() - start,
        "train/epochs": trainer.current_epoch, "train/steps": trainer.global_step},
        encoder_info, device_memory(), selection_metrics(trainer, choice))
    metrics.update(run_provenance(), **{"meta/encoder": cfg.encoder.name})  # what auto chose
    if trainer.is_global_zero:
        write_metrics(output_dir / "metrics.json", metrics)
        print(summary(cfg.run_name, metrics, output_dir, encoder=cfg.encoder.name), flush=True)
        print(selection_summary(trainer, choice), flush=True)
    return metrics


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """conf/train.yaml composed in-process as ``da-train`` would, writing into ``output_dir``.

    For notebooks, scripts and tests that call :func:`train` without the CLI: the ``hydra`` node
    is registered (so ``${hydra:runtime.output_dir}`` resolves) and then dropped from the result;
    ``encoder=auto`` is resolved and the method, encoder and domain nodes are checked.
    """
    check_renamed(overrides)
    from da.config.checks import prepare_config
    from da.config.auto_encoder import resolve_overrides
    overrides = resolve_overrides(overrides, lambda chosen: compose_plain(chosen, output_dir))
    cfg = compose_plain(overrides, output_dir)
    prepare_config(cfg)
    return cfg


def compose_plain(overrides: list[str], output_dir: Path) -> DictConfig:
    """conf/train.yaml composed with ``overrides`` as it is: ``encoder=auto`` left unresolved,
    nothing checked (the first step of :func:`compose_config`)."""
    register_searchpath_domains(overrides)  # the user's conf/domain/*.yaml
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


def renamed_message(key: str) -> str:
    """Where a renamed key (or one of the former ``model`` node) went, for an error about it."""
    if not (key == "model" or key.startswith("model.")):
        return f"'{key}' is now '{RENAMED[key]}' (renamed); write {RENAMED[key]}."
    moved = ", ".join(f"{old} -> {new}" for old, new in RENAMED.items()
                      if old.startswith("model."))
    head = f"'{key}' is now '{RENAMED[key]}'" if key in RENAMED else \
        f"'{key}': there is no 'model' node any more"
    return f"{head} (the former 'model' node was split up: {moved})."


def check_renamed(overrides: list[str]) -> None:
    """A ConfigError naming the new key for an override of a renamed key (:data:`RENAMED`) or
    of a key of the former ``model`` node.

    Hydra alone would answer ``model.head_hidden_dims=[50]`` with "Key 'model' is not in struct"
    and suggest ``+model.head_hidden_dims=[50]``, which adds a key that nothing reads.
    """
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if key == "model" or key.startswith("model.") or key in RENAMED:
            raise ConfigError(renamed_message(key))


def check_renamed_keys(cfg: DictConfig) -> None:
    """The same error for a renamed key in the composed config (set by an experiment file)."""
    if "model" in cfg:
        raise ConfigError(renamed_message("model"))
    for old in RENAMED:
        parent, _, leaf = old.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if isinstance(node, DictConfig) and leaf in node:
            raise ConfigError(renamed_message(old))


def launch_rank_zero() -> bool:
    """Whether this process is global rank 0, known before the Trainer exists.

    Lightning re-launches ``da-train`` for ranks 1.. with ``LOCAL_RANK`` (and ``NODE_RANK`` on
    other nodes) set; SLURM and torchrun set ``SLURM_PROCID`` / ``RANK``. A plain run has none.
    """
    from lightning.fabric.utilities.rank_zero import rank_zero_only
    return rank_zero_only.rank == 0 and int(os.environ.get("NODE_RANK", 0) or 0) == 0


def device_memory() -> dict[str, float]:
    """Peak CUDA memory of this process in GiB (empty on CPU)."""
    import torch
    if not torch.cuda.is_available():
        return {}
    return {"gpu/max_mem_gib": torch.cuda.max_memory_allocated() / 2**30}


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    from da.config.auto_encoder import recompose
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = train(recompose(cfg), output_dir)  # recompose: encoder=auto in a sweep job
    except DAError as exc:
        log.error("%s", exc)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # fail this job only; the launcher runs the others
        print(f"da-train: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    return metrics.get(cfg.optimized_metric) if cfg.get("optimized_metric") else None


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    try:
        check_renamed(sys.argv[1:])
        register_searchpath_domains(sys.argv[1:])  # the user's conf/domain/*.yaml
        if not HELP_FLAGS.intersection(sys.argv[1:]):  # --help shows the groups, encoder=auto
            from da.config.auto_encoder import auto_encoder_argv
            sys.argv[1:] = auto_encoder_argv(sys.argv[1:], lambda o: compose_plain(o, Path.cwd()))
    except DAError as exc:
        print(f"da-train: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
