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
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from da.config.compose import CONFIG_DIR, check_encoder_keys, complete_config, compose_config
from da.config.domain_groups import register_searchpath_domains
from da.config.renamed import check_renamed, check_renamed_keys
from da.errors import ConfigError, DAError
from da.run.reporting import flat_metrics, summary, write_metrics

log = logging.getLogger("da.train")

#: Hydra's help flags: nothing runs, so no config check is made for them.
HELP_FLAGS = {"--help", "-h", "--hydra-help"}
#: Re-exported for in-process callers (``from da.train import compose_config, train``).
__all__ = ["compose_config", "train", "main", "CONFIG_DIR"]



def train(cfg: DictConfig, output_dir: Path) -> dict[str, float]:
    """Run one training job and return its flat metrics (also written to ``metrics.json``).

    ``cfg`` is a run's complete config: from :func:`compose_config`, or in a Hydra job from
    :func:`da.config.compose.complete_config`.
    """
    start = time.perf_counter()
    # Imported here, not at the top: `da-train --help`, config errors and the sweep's parent
    # process never pay the ~4 s of importing torch + Lightning (+ torchmetrics, transformers).
    import lightning as L
    import torch

    from da.run import predictions
    from da.run.predict import tested_name, write_model_inputs
    from da.run.build import build_data, build_loggers, build_model, build_trainer
    from da.run.provenance import run_provenance
    from da.run.resume import resume_checkpoint
    from da.selection.rules import choose_model, selection_metrics, selection_summary

    check_renamed_keys(cfg)  # e.g. an experiment file that sets a key of the old layout
    provenance = run_provenance()  # at the start: the commit whose code this run imported
    output_dir.mkdir(parents=True, exist_ok=True)
    if launch_rank_zero():  # DDP: the ranks Lightning launches share the run dir (docs/MULTIGPU.md)
        (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    torch.set_flush_denormal(True)  # no slow denormal arithmetic on CPU (tiny Adam moments)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, encoder_side = build_data(cfg)  # the encoder's pipeline handed to the data
    check_unlabeled_target(cfg, datamodule)
    predicting = predictions.wanted(cfg.predictions, datamodule)
    encoder, encoder_info = encoder_side.encoder(datamodule.input_dim)
    if launch_rank_zero():  # what da-predict needs to feed new inputs as training fed them
        write_model_inputs(output_dir, cfg, datamodule, encoder_side)
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
    tested = {}
    if datamodule.has_target_test:
        tested = trainer.test(model, datamodule=datamodule, verbose=False,
                              ckpt_path=choice.ckpt_path, weights_only=True)[0]
    else:
        log.info("no test/target_* metrics: target '%s' has no labels (label_column=null); "
                 "give target.test_path=FILE with labels to test on it", datamodule.target_name)
    if predicting and trainer.is_global_zero:
        predictions.load_tested_weights(model, choice.ckpt_path)
        predictions.write_predictions(model, datamodule, output_dir / predictions.FILENAME)
    metrics = flat_metrics(fitted, tested, {
        "time/fit_s": fit_s, "time/total_s": time.perf_counter() - start,
        "train/epochs": trainer.current_epoch, "train/steps": trainer.global_step},
        encoder_info, device_memory(), selection_metrics(trainer, choice))
    metrics.update(provenance, **{"meta/encoder": cfg.encoder.name,  # what auto chose
                                  "meta/recipe": cfg.recipe or "none",  # what benchmark= merged
                                  "meta/tested_checkpoint": tested_name(choice.ckpt_path,
                                                                        output_dir)})
    if trainer.is_global_zero:
        write_metrics(output_dir / "metrics.json", metrics)
        print(summary(cfg.run_name, metrics, output_dir, encoder=cfg.encoder.name,
                      recipe=cfg.recipe), flush=True)
        print(selection_summary(trainer, choice), flush=True)
    return metrics


def check_unlabeled_target(cfg: DictConfig, datamodule: object) -> None:
    """Before training: a target without a labeled test part cannot be tested on, nor chosen
    from by the oracle rule (which reads target test labels)."""
    if getattr(datamodule, "has_target_test", True):
        return
    if cfg.selection.get("rule") == "oracle":
        raise ConfigError(f"selection=oracle reads target test labels, and target "
                          f"'{cfg.target.name}' has none (label_column=null); choose a "
                          f"label-free rule (selection=entropy, snd, dev, iwv, source_acc, last) "
                          f"or give target.test_path=FILE with labels.")


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
    from da.config.compose import recompose_job
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = train(complete_config(cfg, recompose_job), output_dir)
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
        if not HELP_FLAGS.intersection(sys.argv[1:]):
            check_encoder_keys(sys.argv[1:])
    except DAError as exc:
        print(f"da-train: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
