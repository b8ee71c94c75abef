"""``encoder=auto`` (the default): the encoder follows the data, chosen inside Hydra's own
composition.

conf/train.yaml's defaults list picks the encoder with a resolver,
``- encoder: ${da_auto_encoder:${source},${target}}``: Hydra calls :func:`choose_encoder` with the
names of the chosen source and target options (after the command line's and an experiment's
overrides) before it loads any group file. It reads each domain's yaml through Hydra's config
sources (following a wrapper's defaults to ``conf/domain/``), imports the dataset class named by
``_target_`` and reads its ``modality`` (a class attribute: no data is loaded), and returns
:func:`~da.encoders.inputs.auto_encoder` of that modality (text → ``mpnet`` where installed, else
``minilm`` with a warning; vectors → ``mlp``, images → ``lenet``). So the run is composed once, exactly as with that ``encoder=<name>``, and
overrides of the chosen encoder's own keys apply (``da-train encoder.freeze=4``). An explicit
``encoder=...`` (or an experiment's) replaces the resolver's entry and it is not called.

A domain of the user's own on a command-line ``hydra.searchpath`` (which resolvers do not see) is
read from the file :mod:`da.config.domain_groups` registered. When it cannot tell — a domain yaml
it cannot find (a ``pkg://`` search path), an explicit ``encoder=auto``, or domains of two
modalities — it returns ``auto``, the marker (conf/encoder/auto.yaml).
:func:`da.config.compose.complete_config` then chooses from the composed domains with
:func:`encoder_for`, which raises the precise error, or composes once more with that encoder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from da.config.checks import check_target_node
from da.config.domain_groups import DOMAIN_FILES
from da.config.signatures import import_target
from da.encoders.inputs import AUTO_ENCODERS, auto_encoder, auto_modality, check_same_modality
from da.errors import ConfigError

#: The marker's name and ``encoder.input`` (conf/encoder/auto.yaml).
AUTO = "auto"
#: The resolver conf/train.yaml's defaults list calls.
RESOLVER = "da_auto_encoder"


def choose_encoder(source: str, target: str) -> str:
    """The encoder option for domain options ``source`` and ``target``, or ``auto`` (the marker)
    when it cannot tell (see the module docstring). Never raises: errors come after composing."""
    try:
        found = [option_modality(group, str(name))
                 for group, name in (("source", source), ("target", target))]
    except Exception:  # noqa: BLE001 - a yaml it cannot follow: decided after composing
        return AUTO
    if None in found or found[0] != found[1] or found[0] not in AUTO_ENCODERS:
        return AUTO
    return auto_encoder(found[0])


def register_resolver() -> None:
    """Register :func:`choose_encoder` as ``${da_auto_encoder:...}`` (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, choose_encoder)


def encoder_for(cfg: DictConfig) -> str | None:
    """The encoder the domains of a composed ``cfg`` ask for when its encoder is the ``auto``
    marker, else ``None``; a ConfigError when the domains cannot share one encoder."""
    if cfg.encoder.get("input") != AUTO:
        return None
    found = [(_domain_name(cfg, group), domain_modality(cfg[group], group))
             for group in ("source", "target")]
    check_same_modality(*found)
    modality = found[0][1]
    if modality not in AUTO_ENCODERS:
        raise ConfigError(f"encoder=auto has no encoder for domains that hold {modality!r} "
                          f"(it knows {', '.join(AUTO_ENCODERS)}); name one: encoder=<name>.")
    return auto_encoder(modality)


def domain_modality(node: DictConfig, group: str) -> str:
    """What the domain of config node ``group`` holds: its class's ``modality`` (no data read)."""
    check_target_node(node, group)
    return getattr(import_target(node._target_, group), "modality", None)


def key_message(exc: Exception, keys: list[str], name: str) -> str:
    """The error for an override of an encoder key that the chosen encoder does not have."""
    found = re.search(r"Could not override '([\w.]+)'", str(exc))
    key = f" '{found.group(1)}'" if found else " of these keys"
    modality = auto_modality(name)
    return (f"{' '.join(keys)}: encoder=auto (the default) chose encoder={name} for this run's "
            f"{modality} domains, and encoder {name} has no key{key}; name the encoder whose key "
            f"it is (encoder=<name> {' '.join(keys)}) or drop the override.")


def is_encoder_key(override: str) -> bool:
    """Whether a command-line override sets a key inside the encoder node."""
    return override.lstrip("+~").split("=", 1)[0].startswith("encoder.")


def option_modality(group: str, name: str) -> str | None:
    """The ``modality`` of the dataset class that option ``group/name`` names, or ``None``."""
    target = _option_target(group, name, depth=0)
    if target is None:
        return None
    return getattr(import_target(target, group), "modality", None)


def _option_target(group: str, name: str, depth: int) -> str | None:
    """The ``_target_`` of config ``group/name`` as Hydra's config sources hold it: its own
    ``_target_``, else that of a config its defaults list names (a wrapper's ``/domain@_here_``)."""
    node = _load(f"{group}/{name}")
    if node is None or depth > 4:
        return None
    if isinstance(node.get("_target_"), str):
        return node["_target_"]
    found = None
    for entry in node.get("defaults") or []:
        if isinstance(entry, Mapping) and len(entry) == 1:
            (key, value), = entry.items()
            key = str(key).removeprefix("override ").split("@", 1)[0]
            inner = key[1:] if key.startswith("/") else f"{group}/{key}"
            found = _option_target(inner, str(value), depth + 1) or found
    return found


def _load(path: str) -> Any:
    """Config ``path`` (``group/name``) from the first of Hydra's config sources that has it,
    else a domain yaml registered from the user's ``hydra.searchpath`` (:data:`DOMAIN_FILES`)."""
    for source in GlobalHydra.instance().config_loader().get_sources():
        if source.is_config(path):
            return source.load_config(path).config
    group, _, name = path.rpartition("/")
    if group == "domain" and name in DOMAIN_FILES:
        return OmegaConf.load(DOMAIN_FILES[name])
    return None


def _domain_name(cfg: DictConfig, group: str) -> str:
    try:
        return str(cfg[group].name)
    except Exception:  # noqa: BLE001 - no name, or one that does not resolve yet
        return group
