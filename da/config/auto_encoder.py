"""``encoder=auto`` (the default): the encoder follows the data.

Every domain's dataset class says what it holds (``DomainSource.modality``, a class attribute:
nothing is loaded to find out). When the composed config's encoder is the ``auto`` marker
(``conf/encoder/auto.yaml``: ``input: auto``), :func:`encoder_for` picks
:data:`~da.encoders.inputs.AUTO_ENCODERS` of that modality (text → ``minilm``, vectors →
``mlp``, images → ``lenet``) and the config is composed again with ``encoder=<that name>`` and
the same overrides. The run is then the run of the explicit choice: its ``config.yaml``, summary
line and W&B tags name the encoder that ran. An explicit ``encoder=...`` (or an experiment's)
is kept as it is.

Two places resolve it:

* :func:`resolve_overrides`, before Hydra composes (``da-train`` through
  :func:`auto_encoder_argv`, :func:`da.train.compose_config`): the overrides of encoder keys are
  set aside while choosing and then applied to the chosen encoder, so its own keys can be set
  (``encoder.freeze=4``); a sweep whose jobs all hold the same domains is resolved here too;
* :func:`recompose`, in a job whose config is still ``auto`` (a sweep over domains: each job
  follows its own). Hydra has composed that job with the marker, which has only the keys every
  encoder has (``conf/base/encoder.yaml``: ``lr_scale``), so only those can be overridden there.
"""

from __future__ import annotations

import re
from typing import Callable

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig

from da.config.checks import check_target_node
from da.encoders.inputs import AUTO_ENCODERS, check_same_modality
from da.errors import ConfigError
from da.config.signatures import import_target

#: The marker's ``encoder.input``, and its name.
AUTO = "auto"


def encoder_for(cfg: DictConfig) -> str | None:
    """The encoder the domains of ``cfg`` ask for when its encoder is ``auto``, else ``None``."""
    if cfg.encoder.get("input") != AUTO:
        return None
    found = [(_domain_name(cfg, group), domain_modality(cfg[group], group))
             for group in ("source", "target")]
    check_same_modality(*found)
    modality = found[0][1]
    if modality not in AUTO_ENCODERS:
        raise ConfigError(f"encoder=auto has no encoder for domains that hold {modality!r} "
                          f"(it knows {', '.join(AUTO_ENCODERS)}); name one: encoder=<name>.")
    return AUTO_ENCODERS[modality]


def domain_modality(node: DictConfig, group: str) -> str:
    """What the domain of config node ``group`` holds: its class's ``modality`` (no data read)."""
    check_target_node(node, group)
    return getattr(import_target(node._target_, group), "modality", None)


def resolve_overrides(overrides: list[str],
                      compose_with: Callable[[list[str]], DictConfig]) -> list[str]:
    """``overrides`` with ``encoder=<the encoder the data asks for>`` when the encoder is auto.

    Args:
        overrides: the command line's overrides (no sweeps).
        compose_with: composes the run's config from a list of overrides.
    """
    chosen = [value for value in map(_encoder_choice, overrides) if value is not None]
    if chosen and chosen[-1] != AUTO:
        return overrides
    aside = [o for o in overrides if _is_encoder_key(o)]
    name = encoder_for(compose_with([o for o in overrides if o not in aside]))
    if name is None:  # an experiment names the encoder
        return overrides
    resolved = [o for o in overrides if _encoder_choice(o) is None] + [f"encoder={name}"]
    if aside:
        try:
            compose_with(resolved)
        except ConfigCompositionException as exc:
            raise ConfigError(_key_message(exc, aside, name)) from exc
    return resolved


def auto_encoder_argv(argv: list[str],
                      compose_with: Callable[[list[str]], DictConfig]) -> list[str]:
    """``da-train``'s ``argv`` with ``encoder=<name>`` when the encoder is auto.

    Resolving it before Hydra composes the run lets the run override that encoder's own keys
    (``da-train encoder.freeze=4``). A sweep whose jobs may hold other domains (a sweep over
    ``source``, ``target`` or ``experiment``, or sweeper params over them) is left to each job
    (:func:`recompose`). Whatever Hydra itself refuses is left to Hydra's own message.
    """
    try:
        from hydra._internal.utils import get_args_parser

        args = get_args_parser().parse_args(argv)
        parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    except (ImportError, SystemExit, OverrideParseException):
        return argv
    if args.help or args.hydra_help or args.info or args.shell_completion or args.config_path \
            or args.config_name or args.config_dir:
        return argv
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if any(_sets_domains(o.key_or_group) or o.key_or_group == "encoder"
           for o in parsed if o.is_sweep_override()):
        return argv
    overrides = [o for o in args.overrides if o not in sweeps]
    try:
        resolved = resolve_overrides(overrides, compose_with)
        params = HydraConfig.get().sweeper.get("params") if HydraConfig.initialized() else None
    except ConfigError:
        raise
    except Exception:  # e.g. an unknown domain: Hydra says so, with the options
        return argv
    finally:
        GlobalHydra.instance().clear()
    added = [o for o in resolved if o not in overrides]
    if not added or (args.multirun and any(map(_sets_domains, params or {}))):
        return argv
    # next to the other overrides: argparse takes them as one run of positional arguments
    at = max((i + 1 for i, a in enumerate(argv) if a in args.overrides), default=len(argv))
    kept = [a for a in argv[:at] if a in resolved or a in sweeps or a not in overrides]
    return kept + added + argv[at:]


def recompose(cfg: DictConfig) -> DictConfig:
    """In a Hydra job: ``cfg`` composed again with the encoder its domains ask for, if auto."""
    name = encoder_for(cfg)
    if name is None:
        return cfg
    hydra = HydraConfig.get()
    overrides = [o for o in hydra.overrides.hydra if o.startswith("hydra.searchpath")]
    overrides += [o for o in hydra.overrides.task if _encoder_choice(o) is None]
    try:
        return compose(hydra.job.config_name, overrides=[*overrides, f"encoder={name}"])
    except ConfigCompositionException as exc:
        raise ConfigError(_key_message(exc, [o for o in overrides if _is_encoder_key(o)],
                                       name)) from exc


def _encoder_choice(override: str) -> str | None:
    """The value of an ``encoder=<name>`` override, else ``None``."""
    key, _, value = override.partition("=")
    return value.strip() if key.strip() == "encoder" else None


def _sets_domains(key: str) -> bool:
    """Whether an override of ``key`` can change the domains (and so the encoder auto picks)."""
    return key.split(".", 1)[0].split("@", 1)[0].lstrip("+~") in ("source", "target", "experiment")


def _is_encoder_key(override: str) -> bool:
    return override.lstrip("+~").split("=", 1)[0].startswith("encoder.")


def _domain_name(cfg: DictConfig, group: str) -> str:
    try:
        return str(cfg[group].name)
    except Exception:  # no name, or one that does not resolve yet: the group says enough
        return group


def _key_message(exc: Exception, keys: list[str], name: str) -> str:
    """An encoder key override the chosen encoder does not have."""
    found = re.search(r"Could not override '([\w.]+)'", str(exc))
    key = f" '{found.group(1)}'" if found else " of these keys"
    modality = {v: k for k, v in AUTO_ENCODERS.items()}[name]
    return (f"{' '.join(keys)}: encoder=auto (the default) chose encoder={name} for this run's "
            f"{modality} domains, and encoder {name} has no key{key}; name the encoder whose key "
            f"it is (encoder=<name> {' '.join(keys)}) or drop the override.")
