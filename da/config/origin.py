"""Where a config key came from, for error messages: the command-line override that set it, or
the yaml file chosen for its group (``mine/conf/method/my_gap.yaml (method=my_gap)``)."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig


def config_file(group: str) -> str | None:
    """The yaml file chosen for ``group`` in this run (e.g. ``mine/conf/method/my_gap.yaml``).

    Found like Hydra finds it: the first config source holding ``<group>/<choice>.yaml``; a
    source or target domain names its ``domain/<choice>.yaml`` where it has one. ``None``
    outside a Hydra run or composition.
    """
    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    choices = hydra.runtime.choices
    candidates = [f"{group}/{choices.get(group)}.yaml"]
    if choices.get(f"domain@{group}") is not None:
        candidates.insert(0, f"domain/{choices.get(f'domain@{group}')}.yaml")
    for source in hydra.runtime.get("config_sources") or []:
        if source.schema != "file":
            continue
        for candidate in candidates:
            path = Path(source.path) / candidate
            if path.is_file():
                return _short(path)
    return None


def origin(key: str) -> str:
    """Where ``key`` (e.g. ``method.weight``) was set: the command-line override or the file."""
    if HydraConfig.initialized():
        for override in HydraConfig.get().overrides.task:
            name = override.lstrip("+~").split("=", 1)[0]
            if "." in name and (key == name or key.startswith(name + ".")):
                return f"the command line ({override})"
    group = key.split(".", 1)[0]
    path = config_file(group)
    if path is None:
        return f"the {group} config"
    choice = HydraConfig.get().runtime.choices.get(group)
    return f"{path} ({group}={choice})"


def _short(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
