"""Arguments of ``_target_`` config nodes checked against the target's signature, before it is
built: a ``_target_`` that does not import, an argument the class does not take, a value of the
wrong type (from the annotations: numbers, strings, booleans, lists, mappings, unions of them;
other annotations are not checked). Each problem is a :class:`~da.errors.ConfigError` naming
the file or command-line override it came from (:func:`da.config.origin.origin`).
"""

from __future__ import annotations

import collections.abc as abc
import difflib
import inspect
import types
import typing
from typing import Any, Iterator

from hydra._internal.utils import _locate  # hydra.utils.get_object logs each failure
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from da.config.origin import origin
from da.errors import ConfigError

#: A ``_target_`` of each config group, as docs/EXTENDING.md writes them.
_EXAMPLES = {"method": "my_losses.MeanGapLoss", "encoder": "my_encoders.HashedBagOfWords",
             "source": "my_domains.TextFolder", "target": "my_domains.TextFolder"}


def check_arguments(node: Any, where: str, given: set[str] = frozenset()) -> None:
    """Check every ``_target_`` node in ``node`` (recursively) against its target's signature.

    Args:
        node: a config node; nodes without ``_target_`` are only searched for nested ones.
        where: its key in the config (``method.loss``), for the messages.
        given: arguments passed to ``build`` besides the node's own (not checked).
    """
    top = where
    for where, node in target_nodes(node, where):
        _check_node(node, where, given if where == top else frozenset())


def _check_node(node: DictConfig, where: str, given: set[str]) -> None:
    """:func:`check_arguments` for one ``_target_`` node (its nested nodes are checked apart)."""
    target = node._target_
    obj = import_target(target, where)
    params, open_ended = accepted_parameters(obj)
    keys = [k for k in node.keys() if isinstance(k, str) and not k.startswith("_")
            and k not in given]
    for key in keys:
        if key not in params:
            if open_ended:
                continue
            close = difflib.get_close_matches(key, list(params), n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{origin(f'{where}.{key}')}: unknown key '{where}.{key}'{guess}: {_name(obj)} "
                f"takes no argument '{key}'; it takes {', '.join(params) or 'none'}.")
        _check_type(node, key, params[key], f"{where}.{key}", obj)


#: Modules that moved when da/ was grouped by role: a ``_target_`` under the old path gets a
#: one-line error that names the new one.
MOVED_MODULES = {"da.optim": "da.methods.lr_schedule", "da.outputs": "da.run.outputs",
                 "da.progress": "da.run.progress", "da.tracking": "da.run.tracking",
                 "da.build": "da.run.build", "da.resume": "da.run.resume",
                 "da.instantiate": "da.config.instantiate",
                 "da.encoders.auto": "da.config.auto_encoder"}


def moved_target(target: str) -> str | None:
    """The new dotted path of a ``_target_`` under a module that moved, else ``None``."""
    module, _, name = target.rpartition(".")
    return f"{MOVED_MODULES[module]}.{name}" if module in MOVED_MODULES else None


def target_nodes(node: Any, where: str) -> Iterator[tuple[str, DictConfig]]:
    """``(key, node)`` for every node with a string ``_target_`` in ``node``, nested ones first."""
    if not isinstance(node, DictConfig):
        return
    for key in node.keys():
        if OmegaConf.is_config(node._get_node(key)):
            yield from target_nodes(node._get_node(key), f"{where}.{key}")
    if isinstance(node.get("_target_"), str):
        yield where, node


def check_moved_targets(node: Any, where: str) -> None:
    """A ConfigError naming the new path for any ``_target_`` in ``node`` (recursively) that
    names a module of :data:`MOVED_MODULES`; nothing is imported."""
    for where, node in target_nodes(node, where):
        _refuse_moved(node._target_, where)


def _refuse_moved(target: str, where: str) -> None:
    if (new := moved_target(target)) is not None:
        raise ConfigError(f"{origin(f'{where}._target_')}: '{where}._target_' is '{target}', "
                          f"which moved to '{new}'; write _target_: {new}.")


def import_target(target: str, where: str) -> Any:
    """The class or function ``target`` names (the ``_target_`` of the node at ``where``)."""
    _refuse_moved(target, where)
    try:
        return _locate(target)
    except Exception as exc:  # ImportError, AttributeError, ValueError: the messages vary
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        first = lines[1] if len(lines) > 1 else (lines or [type(exc).__name__])[0]
        raise ConfigError(
            f"{origin(f'{where}._target_')}: '{where}._target_' is '{target}', which cannot be "
            f"imported ({first}); expected the dotted path of a class, e.g. "
            f"{_EXAMPLES.get(where.split('.', 1)[0], 'my_package.MyClass')}. Check the spelling "
            f"of _target_, and that the package holding it is installed or on PYTHONPATH.") from exc


def accepted_parameters(obj: Any) -> tuple[dict[str, Any], bool]:
    """``({name: annotation}, open_ended)`` of the keyword arguments a class or function takes.

    A class's ``__init__`` that passes ``**kwargs`` to its base class takes the base's too
    (followed along the MRO up to ``nn.Module`` / ``object``); ``open_ended``: the chain ends in
    a ``**kwargs`` that goes elsewhere, so any key may be right.
    """
    functions = [obj] if not inspect.isclass(obj) else [
        cls.__dict__["__init__"] for cls in obj.__mro__
        if "__init__" in cls.__dict__ and not _chain_end(cls)]
    params: dict[str, Any] = {}
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # no signature (a builtin): anything may be right
            return params, True
        try:
            hints = typing.get_type_hints(function)
        except Exception:  # an annotation that does not evaluate here: names only
            hints = {}
        more = False
        for name, param in signature.parameters.items():
            if param.kind == param.VAR_KEYWORD:
                more = True
            elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) \
                    and name != "self":
                params.setdefault(name, hints.get(name, Any))
        if not more:
            return params, False
    return params, not inspect.isclass(obj)  # a class's **kwargs end at nn.Module / object


def _check_type(node: DictConfig, key: str, hint: Any, where: str, obj: Any) -> None:
    if OmegaConf.is_missing(node, key):
        return
    try:
        value = node[key]
        value = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) \
            else value
    except OmegaConfBaseException:
        return  # an interpolation that does not resolve: instantiate names it
    if _matches(value, hint) is False:
        example = f" (e.g. [{value!r}])" if _is_sequence_hint(hint) and \
            not isinstance(value, (list, tuple)) else ""
        raise ConfigError(f"{origin(where)}: '{where}' is {value!r}, but {_name(obj)} expects "
                          f"{_describe(hint)}{example}.")


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` (plain Python, from the config) fits ``hint``; True when unsure."""
    if isinstance(value, dict) and "_target_" in value:
        return True  # an object built from the config
    origin_, args = typing.get_origin(hint), typing.get_args(hint)
    if origin_ in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    simple = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if hint in simple:
        return isinstance(value, simple[hint]) and (hint is bool or not isinstance(value, bool))
    if _is_sequence_hint(hint):
        if not isinstance(value, (list, tuple)):
            return False
        item = args[0] if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis) else Any
        return all(_matches(v, item) for v in value)
    if hint in (dict, abc.Mapping) or origin_ in (dict, abc.Mapping):
        return isinstance(value, dict)
    return True  # Any, classes, callables, Literal, ...: not checked here


def _is_sequence_hint(hint: Any) -> bool:
    kinds = (list, tuple, abc.Sequence)
    return hint in kinds or typing.get_origin(hint) in kinds


def _describe(hint: Any) -> str:
    """``Sequence[int] | None`` → ``a list of int or null``."""
    origin_, args = typing.get_origin(hint), typing.get_args(hint)
    if origin_ in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if hint is type(None):
        return "null"
    plural = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
    if _is_sequence_hint(hint):
        return f"a list of {plural[args[0]]}" if args and args[0] in plural else "a list"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", getattr(obj, "__name__", str(obj)))


def _chain_end(cls: type) -> bool:
    """``object`` and ``torch.nn.Module`` (compared by name: a domain class needs no torch)."""
    return cls is object or (cls.__module__, cls.__qualname__) == ("torch.nn.modules.module",
                                                                    "Module")
