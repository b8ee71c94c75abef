"""Label values of the user's files as class indices: names, ``label_map`` renaming, ``classes``.

Labels may be strings or integers (``1.0`` counts as ``1``); without ``classes`` they map to
indices by sorted name, integers numerically. Every problem raises a
:class:`~da.errors.DataError` naming where it was found.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np

from da.errors import DataError

_INT = re.compile(r"^[+-]?\d+$")


def label_name(value: Any, where: str) -> str:
    """A label as a string: integers (also ``1.0``) as digits, strings stripped."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise DataError(f"{where}: label {value!r} is not a non-empty string or number.")
    return str(value).strip()


def map_labels(names: Sequence[str], label_map: Mapping[Any, Any], where: str) -> list[str]:
    """``names`` through ``label_map`` (``{label value in the file: class name}``)."""
    mapping = {label_name(k, f"{where} label_map"): label_name(v, f"{where} label_map")
               for k, v in label_map.items()}
    unknown = sorted(set(names) - set(mapping))
    if unknown:
        raise DataError(f"{where}: labels {unknown[:10]} are not keys of label_map={mapping}; "
                        f"map every label value, e.g. label_map={{0:negative,1:positive}}.")
    return [mapping[n] for n in names]


def encode_labels(names: Sequence[str], classes: Sequence[Any] | None, where: str,
                  label_map: Mapping[Any, Any] | None = None, single_ok: bool = False
                  ) -> tuple[np.ndarray, list[str]]:
    """Class indices of ``names`` (renamed through ``label_map`` first, if given) and the class
    list (sorted names, integers numerically). ``single_ok``: one label value is fine (a test
    file whose classes are matched to the source's by name)."""
    if label_map is not None:
        names = map_labels(names, label_map, where)
    found = sorted(set(names), key=lambda n: (0, int(n), "") if _INT.match(n) else (1, 0, n))
    if classes is None:
        if len(found) < 2 and not (single_ok and found):
            raise DataError(f"{where}: a single label value {found}; a classification domain "
                            f"needs at least two (is label_column the right column?).")
        classes = found
    else:
        classes = [label_name(c, f"{where} classes") for c in classes]
        if len(set(classes)) < len(classes):
            raise DataError(f"{where}: classes={classes} repeats a name.")
        unknown = sorted(set(found) - set(classes))
        if unknown and all(_INT.match(n) and 0 <= int(n) < len(classes) for n in found):
            names, unknown = [classes[int(n)] for n in names], []
        if unknown:
            raise DataError(f"{where}: labels {unknown} are not among classes={classes} (names, "
                            f"or integer indices into that list).")
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[n] for n in names], dtype=np.int64), list(classes)
