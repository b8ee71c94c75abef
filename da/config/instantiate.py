"""``build``: ``hydra.utils.instantiate`` with errors that name the config node.

Every module that turns config nodes into objects (da/run/build.py, da/selection/rules.py) uses it,
so a wrong value stops the run before training with a :class:`~da.errors.ConfigError`, not a
stack trace. The nodes of the files a user writes (``method``, ``encoder``, ``source``,
``target``) were checked against the signatures of their ``_target_`` once, when the run's config
was completed (:func:`da.config.checks.prepare_config`), before any data is loaded.
"""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from da.config.origin import origin
from da.config.signatures import check_moved_targets
from da.errors import ConfigError


def build(node: DictConfig | None, where: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate(node, **kwargs)`` with errors that name the config node."""
    if node is None:
        return None
    check_moved_targets(node, where)
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
    except OmegaConfBaseException as exc:  # e.g. an interpolation to a key that does not exist
        raise ConfigError(f"invalid config '{where}' ({origin(where)}): "
                          f"{str(exc).splitlines()[0]}") from exc
