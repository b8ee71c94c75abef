"""``results.csv`` of da-compare and da-bench: written from runs, and read back to re-plot.

One row per run: ``method, source, target, seed, target_acc`` (= ``test/target_acc``), ``status``
(finished / failed), ``setting`` (the overrides that change what is trained, empty for the
defaults), every metric, ``run`` (the run's name). :func:`read_runs` turns the rows back
into :class:`da.results.tables.Run` fields, so ``da-compare --from-csv`` can redraw
``results.png`` from
a committed CSV without the sweep dirs.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from da.results.tables import Run

#: Columns of a row that are not metrics (``target_acc`` repeats ``test/target_acc``).
IDENTITY = ("method", "source", "target", "seed", "target_acc", "status", "setting", "run")


def write_csv(runs: list[Run], path: Path) -> None:
    """One row per run: identity, ``target_acc`` (= test/target_acc), status, every metric."""
    keys = sorted({k for run in runs for k in run.metrics})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "source", "target", "seed", "target_acc", "status",
                         "setting", *keys, "run"])
        for run in sorted(runs, key=lambda r: (r.method, r.setting, r.source, r.target,
                                               str(r.seed))):
            writer.writerow([run.method, run.source, run.target, run.seed,
                             run.metrics.get("test/target_acc"),
                             "finished" if run.finished else "failed", run.setting,
                             *(run.metrics.get(k) for k in keys), run.name])


def _value(text: str) -> Any:
    """A CSV cell as written by :func:`write_csv`: empty → None, a number → float, else text."""
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``results.csv`` as :class:`da.results.tables.Run` keyword arguments.

    Args:
        path: a ``results.csv`` written by :func:`write_csv` (older ones without the
            ``target_acc`` or ``setting`` column too: no setting then).

    Returns:
        One dict per row: name, method, source, target, seed, metrics, finished, setting.
    """
    if not path.is_file():
        raise SystemExit(f"da-compare: error: {path} is not a file")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows, columns = list(reader), reader.fieldnames or []
    lacking = [c for c in ("method", "source", "target") if c not in columns]
    if lacking:
        raise SystemExit(f"da-compare: error: {path} is not a results.csv of da-compare "
                         f"(no column {', '.join(lacking)})")
    runs = []
    for number, row in enumerate(rows):
        seed = row.get("seed", "?")
        runs.append({"name": row.get("run") or f"row {number + 2}", "method": row["method"],
                     "source": row["source"], "target": row["target"],
                     "seed": int(seed) if seed.lstrip("-").isdigit() else seed,
                     "metrics": {k: _value(v) for k, v in row.items() if k not in IDENTITY},
                     "finished": row.get("status", "finished") == "finished",
                     "setting": row.get("setting") or ""})
    return runs
