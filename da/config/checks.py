"""The shapes of the config files a user writes (method, encoder, domain yamls), checked before
anything is built or loaded (:func:`prepare_config`, called once per run by
:func:`da.config.compose.complete_config`).

A malformed file stops the run with a :class:`~da.errors.ConfigError` that names the file (or
the command-line override, :func:`da.config.origin.origin`), the key and the shape expected
(``da-train``: one line, exit status 2). Arguments of ``_target_`` nodes are checked against
the class's signature by :func:`da.config.signatures.check_arguments`.

One shortcut is accepted: a method yaml that is a bare loss node (``_target_`` and the loss's
arguments, no ``loss``) becomes ``loss: <that node>`` with a constant weight of 1, named after
its file (``name`` defaults to the file name in ``conf/base/method.yaml``).
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from da.config.origin import origin
from da.errors import ConfigError
from da.config.signatures import check_arguments

#: The keys of a method yaml (conf/base/method.yaml adds gather and alignment_lr_scale; ``tune``:
#: the method's label-free grid for ``da-tune --methods``, read by nothing else).
METHOD_KEYS = ("name", "loss", "weight", "module", "gather", "alignment_lr_scale", "tune")
#: The keys of an encoder yaml (backbone .. prefix_cache: text encoders, conf/encoder/hf.yaml;
#: featurizer, denoiser: the vector pipeline, conf/encoder/mlp.yaml).
ENCODER_KEYS = ("name", "input", "out_dim", "model", "lr_scale", "backbone", "freeze", "cache",
                "prefix_cache", "featurizer", "denoiser")
#: What an encoder can take (``encoder.input``).
ENCODER_INPUTS = ("vectors", "text", "images")
#: The weight of a method that does not set one: constant 1.
CONSTANT_ONE = {"_target_": "da.schedules.Constant", "value": 1.0}

_METHOD_SHAPE = ("a method yaml holds name, loss ({_target_: <loss class>, <its arguments>}, or "
                 "null for source only) and weight (a number or a schedule node), or is a bare "
                 "loss node: _target_ and the loss's arguments")
_WEIGHT_SHAPE = ("expected a number (a constant weight, e.g. weight: 0.5) or a schedule node "
                 "(e.g. weight: {_target_: da.schedules.GaninSchedule, value: 1.0, gamma: 10.0})")


def prepare_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` with its method node completed (a new config; ``cfg`` is left as it is), after
    checking the method, encoder and domain nodes."""
    cfg = normalize_method(cfg)
    check_encoder(cfg.encoder)
    for group in ("source", "target"):
        check_target_node(cfg[group], group)
    for group in ("method", "encoder", "source", "target"):
        check_arguments(cfg[group], group)  # _target_ imports, argument names and types
    return cfg


def normalize_method(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` whose method is complete: a bare loss node becomes ``loss``, a missing
    weight 1, a number a constant weight. ``cfg`` itself is not changed."""
    cfg = copy.deepcopy(cfg)  # interpolations such as ${encoder.out_dim} keep resolving
    method = cfg.method
    with open_dict(method):
        if "loss" not in method:
            if "_target_" not in method:
                raise ConfigError(f"{origin('method')}: no 'loss'; {_METHOD_SHAPE}.")
            raw = OmegaConf.to_container(method, resolve=False)  # keeps ${...} and ???
            loss = {key: value for key, value in raw.items()
                    if key not in ("name", "gather", "alignment_lr_scale", "tune")}
            for key in loss:
                del method[key]
            method.loss = loss
        unknown = [key for key in method.keys() if key not in METHOD_KEYS]
        if unknown:
            raise ConfigError(f"{origin(f'method.{unknown[0]}')}: unknown key 'method."
                              f"{unknown[0]}'{_did_you_mean(unknown[0], METHOD_KEYS)}; "
                              f"{_METHOD_SHAPE}.")
        if "weight" not in method:
            method.weight = dict(CONSTANT_ONE)
        elif _is_number(method.weight):
            method.weight = {**CONSTANT_ONE, "value": float(method.weight)}
    for key in ("loss", "module"):
        if method.get(key) is not None and not _is_target_node(method[key]):
            raise ConfigError(f"{origin(f'method.{key}')}: 'method.{key}' is "
                              f"{_show(method[key])}; expected a node with _target_ (the class "
                              f"and its arguments) or null.")
    if not _is_target_node(method.weight):
        raise ConfigError(f"{origin('method.weight')}: 'method.weight' is "
                          f"{_show(method.weight)}; {_WEIGHT_SHAPE}.")
    check_tune_grid(method.get("tune"))
    if not isinstance(method.name, str) or not method.name:
        raise ConfigError(f"{origin('method.name')}: 'method.name' is {_show(method.name)}; "
                          f"expected the method's name, a string (used in run names).")
    return cfg


def check_tune_grid(tune: Any) -> None:
    """``method.tune`` (optional): ``{override key: [values]}``, e.g.
    ``{method.weight.value: [0.3, 1.0, 3.0]}``, the grid ``da-tune --methods`` sweeps."""
    if tune is None:
        return
    shape = ("expected {override key: [values]}, e.g. tune: {method.weight.value: "
             "[0.3, 1.0, 3.0]}")
    if not isinstance(tune, DictConfig):
        raise ConfigError(f"{origin('method.tune')}: 'method.tune' is {_show(tune)}; {shape}.")
    for key, values in tune.items():
        values = OmegaConf.to_container(values) if OmegaConf.is_config(values) else values
        if not isinstance(values, list) or not values or not all(
                isinstance(v, (int, float, str, bool)) for v in values):
            raise ConfigError(f"{origin('method.tune')}: 'method.tune.{key}' is "
                              f"{_show(values)}; {shape}.")


def check_encoder(encoder: DictConfig) -> None:
    """An encoder yaml: ``name``, ``input``, ``out_dim``, ``model`` (+ text-encoder keys)."""
    shape = (f"an encoder yaml holds input ({' / '.join(ENCODER_INPUTS)}), out_dim (a positive "
             f"integer) and model ({{_target_: <nn.Module class>, <its arguments>}})")
    if encoder.get("input") == "auto":
        raise ConfigError("encoder=auto is resolved when the config is composed "
                          "(da.config.compose.compose_config); compose it with that, or name the "
                          "encoder (encoder=minilm).")
    unknown = [key for key in encoder.keys() if key not in ENCODER_KEYS]
    if unknown:
        raise ConfigError(f"{origin(f'encoder.{unknown[0]}')}: unknown key 'encoder.{unknown[0]}'"
                          f"{_did_you_mean(unknown[0], ENCODER_KEYS)}; {shape}.")
    for key in ("input", "out_dim", "model"):
        if key not in encoder:
            raise ConfigError(f"{origin('encoder')}: no 'encoder.{key}'; {shape}.")
    if encoder.input not in ENCODER_INPUTS:
        raise ConfigError(f"{origin('encoder.input')}: 'encoder.input' is {_show(encoder.input)}; "
                          f"expected one of {', '.join(ENCODER_INPUTS)}.")
    out_dim = encoder.out_dim
    if not isinstance(out_dim, int) or isinstance(out_dim, bool) or out_dim < 1:
        raise ConfigError(f"{origin('encoder.out_dim')}: 'encoder.out_dim' is {_show(out_dim)}; "
                          f"expected a positive integer (the number of features).")
    for key in ("model", "backbone"):
        if encoder.get(key) is not None and not _is_target_node(encoder[key]):
            raise ConfigError(f"{origin(f'encoder.{key}')}: 'encoder.{key}' is "
                              f"{_show(encoder[key])}; {shape}.")


def check_target_node(node: Any, group: str) -> None:
    """A domain yaml names its class: ``_target_`` and the class's arguments."""
    if not _is_target_node(node):
        raise ConfigError(f"{origin(group)}: the {group} domain has no _target_; a domain yaml "
                          f"names its class and arguments (_target_: da.data.files.TextFile, "
                          f"name: my_reviews, ...).")


def _is_target_node(node: Any) -> bool:
    return isinstance(node, DictConfig) and isinstance(node.get("_target_"), str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    """A config value for a message (containers as plain YAML flow)."""
    if OmegaConf.is_config(value):
        return str(OmegaConf.to_container(value))
    return repr(value)


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
