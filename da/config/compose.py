"""A run's config, composed once.

Hydra composes ``conf/train.yaml`` — for ``da-train``, for every sweep job, and through
:func:`compose_config` for notebooks, scripts and tests — and ``encoder=auto`` is resolved inside
that composition (:mod:`da.config.auto_encoder`). :func:`complete_config` then turns the composed
config into the run's config without changing it: the method node completed (a bare loss node
becomes ``loss`` with weight 1) and the method, encoder and domain files checked
(:func:`da.config.checks.prepare_config`).

One extra composition happens only where the resolver could not see the domains (a domain yaml on
a ``pkg://`` search path, or an explicit ``encoder=auto``): the run is composed again with the
chosen ``encoder=<name>``. ``da-train`` adds one pre-composition in its own process only when
the command line overrides encoder keys without naming the encoder, to answer a key the chosen
encoder lacks with a clear error (:func:`check_encoder_keys`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf, open_dict

from da.config import auto_benchmark
from da.config.auto_encoder import encoder_for, is_encoder_key, key_message, register_resolver
from da.config.checks import prepare_config
from da.config.domain_groups import register_domain_groups, register_searchpath_domains
from da.config.renamed import check_renamed
from da.data.files import file_stem
from da.encoders.inputs import auto_modality
from da.errors import ConfigError

#: The repository's conf/ (the package is installed in editable mode, see the README).
CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "conf")

register_resolver()  # conf/train.yaml's defaults list calls it while Hydra composes
auto_benchmark.register_resolver()  # and this one (benchmark=auto)


def _file_domain_name(fallback: str, *, _parent_: DictConfig) -> str:
    """``${da_file_stem:file}`` in conf/domain/file.yaml: the stem of the node's ``path``, or
    ``fallback`` while the path is still missing (``???``), so that composing (run_name, run
    dir) works and the run stops later on the missing path with da's own message."""
    if OmegaConf.is_missing(_parent_, "path") or _parent_.get("path") is None:
        return fallback
    return file_stem(_parent_.path)


if not OmegaConf.has_resolver("da_file_stem"):  # a file domain's default name (conf/domain)
    OmegaConf.register_new_resolver("da_file_stem", _file_domain_name)
register_domain_groups(CONFIG_DIR)  # source=<d> and target=<d> for each conf/domain/<d>.yaml


def complete_config(cfg: DictConfig, recompose: Callable[[str], DictConfig]) -> DictConfig:
    """The run's config from Hydra's composed ``cfg`` (left as it is): the encoder marker
    resolved (``recompose(name)`` composes the run with ``encoder=<name>``; only where the
    resolver could not tell), the method completed and the user-written nodes checked."""
    name = encoder_for(cfg)  # None unless the encoder is still the auto marker
    if name is not None:
        cfg = recompose(name)
    return prepare_config(cfg)


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """conf/train.yaml composed in-process as ``da-train`` would, writing into ``output_dir``.

    For notebooks, scripts and tests that call :func:`da.train.train` without the CLI: the
    ``hydra`` node is registered (so ``${hydra:runtime.output_dir}`` resolves) and then dropped.
    """
    check_renamed(overrides)
    try:
        cfg = _compose(overrides, output_dir)
    except ConfigCompositionException as exc:
        raise _encoder_key_error(exc, overrides, lambda: _compose(
            [o for o in overrides if not is_encoder_key(o)], output_dir)) or exc
    return complete_config(cfg, lambda name: _compose(
        [*[o for o in overrides if o.split("=", 1)[0] != "encoder"], f"encoder={name}"],
        output_dir))


def recompose_job(name: str) -> DictConfig:
    """In a Hydra job: the job's config composed again with ``encoder=<name>``."""
    hydra = HydraConfig.get()
    overrides = [o for o in hydra.overrides.hydra if o.startswith("hydra.searchpath")]
    overrides += [o for o in hydra.overrides.task if o.split("=", 1)[0] != "encoder"]
    try:
        return compose(hydra.job.config_name, overrides=[*overrides, f"encoder={name}"])
    except ConfigCompositionException as exc:
        raise ConfigError(key_message(exc, [o for o in overrides if is_encoder_key(o)],
                                      name)) from exc


def check_encoder_keys(argv: list[str]) -> None:
    """``da-train``: a ConfigError when the command line sets keys of an encoder that
    ``encoder=auto`` chose and that encoder lacks them (one pre-composition, only then)."""
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    if "-m" in argv or "--multirun" in argv or not any(map(is_encoder_key, overrides)) or any(
            a.split("=", 1)[0].lstrip("+~") in ("encoder", "experiment") for a in overrides):
        return
    try:
        _compose(overrides, Path.cwd())
    except ConfigCompositionException as exc:
        error = _encoder_key_error(exc, overrides, lambda: _compose(
            [o for o in overrides if not is_encoder_key(o)], Path.cwd()))
        if error is not None:
            raise error from exc
    except Exception:  # noqa: BLE001 - anything else: Hydra's own message when it composes
        pass
    finally:
        GlobalHydra.instance().clear()


def _encoder_key_error(exc: Exception, overrides: list[str],
                       compose_without_keys: Callable[[], DictConfig]) -> ConfigError | None:
    """The clear error for encoder keys that the auto-chosen encoder lacks, else ``None``."""
    keys = [o for o in overrides if is_encoder_key(o)]
    if "Could not override 'encoder." not in str(exc) or not keys:
        return None
    chosen = compose_without_keys().encoder.name
    if auto_modality(chosen) is None:  # an explicit encoder=auto: Hydra's message
        return None
    return ConfigError(key_message(exc, keys, chosen))


def _compose(overrides: list[str], output_dir: Path) -> DictConfig:
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
