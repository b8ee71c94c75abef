"""Config keys that were renamed or moved: the old name, on the command line or in a yaml,
stops the run with a one-line error that names the new one (:func:`check_renamed` for the
overrides, :func:`check_renamed_keys` for the composed config, e.g. set by an experiment file)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from da.errors import ConfigError

#: Keys of the former ``model`` node (the LightningModule's arguments) and where they live now,
#: and keys renamed because their names misled: a pool size in batches; the source train/val
#: split's seed, not the domain's own train/test ``split_seed``; tf-idf and mSDA moved to the
#: encoder side, which builds the input pipeline.
RENAMED = {"model.head_hidden_dims": "head.hidden_dims",
           "model.encoder_lr_scale": "encoder.lr_scale",
           "model.alignment_lr_scale": "method.alignment_lr_scale",
           "model.scheduler_interval": "scheduler_interval",
           "data.length_buckets": "data.length_bucket_pool",
           "data.split_seed": "data.val_split_seed",
           "data.featurizer": "encoder.featurizer",  # the input pipeline is the encoder side's
           "data.denoiser": "encoder.denoiser"}


def renamed_message(key: str) -> str:
    """Where a renamed key (or one of the former ``model`` node) went, for an error about it."""
    if not (key == "model" or key.startswith("model.")):
        return f"'{key}' is now '{RENAMED[key]}' (renamed or moved); write {RENAMED[key]}."
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
