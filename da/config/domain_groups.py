"""``source=<d>`` and ``target=<d>`` for every ``conf/domain/<d>.yaml``, without a wrapper file.

Hydra knows a group's options only from files in a folder of that group or from its
ConfigStore. Rather than two three-line files per domain (``conf/source/<d>.yaml`` and
``conf/target/<d>.yaml``, each ``defaults: [/domain@_here_: <d>]``), :func:`register_domain_groups`
stores exactly those two nodes in the ConfigStore, for every domain yaml of a config folder.

``da.train`` calls it for the repository's ``conf/`` when it is imported, which is before
anything composes: ``da-train`` and ``python -m da.train``, :func:`da.train.compose_config` (tests,
notebooks, ``da-tune``'s jobs), and a sweep's jobs (the joblib and submitit launchers unpickle
``da.train``'s task function, which imports it, and Hydra hands them its ConfigStore too).
``--help`` lists the stored options with the file-based ones.

A domain of the user's own (``hydra.searchpath=[file://mine/conf]`` + ``mine/conf/domain/x.yaml``)
lies outside the folder scanned at import: :func:`searchpath_conf_dirs` finds the ``file://``
folders of a ``hydra.searchpath`` override on the command line, and ``da.train`` registers
their domains before Hydra composes. A ``pkg://`` search path, or one set in a yaml file, is not
scanned: there ``conf/source/x.yaml`` and ``conf/target/x.yaml`` wrappers still work (a file
option and a stored one of the same name are the same config).
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore

#: The config groups whose options are the domains.
DOMAIN_GROUPS = ("source", "target")
#: Every registered domain's yaml (``encoder=auto`` reads a searchpath domain's class from it:
#: Hydra's resolvers do not see a ``hydra.searchpath`` of the command line).
DOMAIN_FILES: dict[str, Path] = {}


def register_domain_groups(conf_dir: str | Path) -> list[str]:
    """Store ``source/<d>`` and ``target/<d>`` (``defaults: [/domain@_here_: <d>]``) in Hydra's
    ConfigStore for every ``<conf_dir>/domain/<d>.yaml``; return the domain names."""
    files = {path.stem: path for path in sorted((Path(conf_dir) / "domain").glob("*.yaml"))}
    names = list(files)
    DOMAIN_FILES.update(files)
    store = ConfigStore.instance()
    for group in DOMAIN_GROUPS:
        for name in names:
            store.store(name=name, group=group, provider="da",
                        node={"defaults": [{"/domain@_here_": name}]})
    return names


def searchpath_conf_dirs(overrides: list[str]) -> list[Path]:
    """The folders of the ``file://`` entries of a ``hydra.searchpath=[...]`` override (read by
    Hydra's own override parser; an override it cannot parse is left for Hydra to report)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    wanted = [o for o in overrides if o.lstrip("+").startswith("hydra.searchpath=")]
    try:
        parsed = OverridesParser.create().parse_overrides(wanted)
    except HydraException:
        return []
    entries = [entry for override in parsed for entry in override.value() or []]
    return [Path(str(entry).removeprefix("file://")) for entry in entries
            if str(entry).startswith("file://")]


def register_searchpath_domains(overrides: list[str]) -> None:
    """:func:`register_domain_groups` for each ``file://`` folder of ``hydra.searchpath``."""
    for folder in searchpath_conf_dirs(overrides):
        register_domain_groups(folder)
