"""The table types of ``da-compare``, ``da-bench`` and ``da-tune``: a :class:`Run` (one job's
identity and final metrics, read from its run dir by :func:`collect`) and a :class:`Table` (a
metric's mean ± std over seeds per method × transfer pair, :func:`build_table`), with its
Markdown form (:func:`markdown`). Same-domain pairs are marked *in-domain* and left out of the
averages.

Collapses (issue #26) are marked in the Markdown table: ``†`` where a run of the cell ended with
``select/prior_kl`` above :data:`~da.selection.validators.MAX_PRIOR_KL` (the label-free collapse
guard: its target predictions' class mix is far from the source's; logged with validators on),
and, for an accuracy, ``↓`` where the cell's mean is more than :data:`COLLAPSE_POINTS` below
``source_only``'s on the same pair (a reading of the test labels: a report, never a selection).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from da.data.files import file_stem
from da.selection.validators import MAX_PRIOR_KL

#: A method's cell this many points below source-only's on the same pair is a collapse (``↓``).
COLLAPSE_POINTS = 3.0
#: The label-free guard's metric (``†`` above MAX_PRIOR_KL).
GUARD_METRIC = "select/prior_kl"

#: Sub-directories of a run dir that never hold another run.
_NOT_RUNS = {".hydra", ".submitit", "wandb", "csv", "checkpoints"}


@dataclass
class Run:
    """One training job: its identity, final metrics and whether it finished."""

    name: str
    method: str
    source: str
    target: str
    seed: Any
    metrics: dict[str, float | None] = field(default_factory=dict)
    finished: bool = True
    #: the job's overrides that change what is trained (:func:`job_setting`; "" = the defaults)
    setting: str = ""

    @property
    def pair(self) -> str:
        suffix = " (in-domain)" if self.source == self.target else ""
        return f"{self.source} → {self.target}{suffix}"


def _run_dirs(root: Path) -> Iterable[Path]:
    """Directories under ``root`` (itself included) that are one job's output dir."""
    if (root / "config.yaml").is_file() or (root / ".hydra").is_dir() \
            or (root / "metrics.json").is_file():
        yield root
        return
    for child in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in _NOT_RUNS):
        yield from _run_dirs(child)


def _read_config(run_dir: Path) -> dict:
    """The resolved ``config.yaml`` (written by da-train), else Hydra's ``.hydra/config.yaml``."""
    for path in (run_dir / "config.yaml", run_dir / ".hydra" / "config.yaml"):
        if path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    return {}


def _name(config: dict, group: str) -> str:
    node = config.get(group)
    if not isinstance(node, dict):
        return "?"
    name = str(node.get("name"))
    if name.startswith("${da_file_stem:") and node.get("path") not in (None, "???"):
        return file_stem(node["path"])  # Hydra's unresolved copy (a run that failed early)
    return name


#: Overrides that name a run's place in a table (pair, method, seed) or change nothing that is
#: trained (launcher, logging, validators, diagnostics), so they are not part of its setting.
#: ``experiment=`` is the pair's protocol (e.g. one experiment per direction).
_NOT_SETTING = ("source=", "target=", "method=", "seed=", "experiment=", "hydra.", "hydra/",
                "logger=", "trainer.enable_progress_bar=", "validators.enabled=",
                "validators.final_only=", "diagnostics.", "trainer.check_val_every_n_epoch=")


def job_setting(run_dir: Path, not_setting: tuple[str, ...] = _NOT_SETTING) -> str:
    """The job's overrides (Hydra's ``.hydra/overrides.yaml``) that change what is trained,
    space-separated in command-line order: two runs of a method with different settings (a
    tuning sweep's ``method.loss.coeff.value=0.1,1.0``) are two rows of a table, not one cell.
    ``not_setting``: prefixes of the overrides left out (da-tune keeps ``method=``)."""
    path = run_dir / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(path.read_text()) if path.is_file() else []
    return " ".join(o for o in overrides or [] if not o.lstrip("+~").startswith(not_setting))


def load_run(run_dir: Path, root: Path) -> Run:
    """One job dir → :class:`Run` (``finished=False`` when it wrote no ``metrics.json``)."""
    config = _read_config(run_dir)
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    name = str(run_dir.relative_to(root)) if run_dir != root else run_dir.name
    return Run(name=name, method=_name(config, "method"), source=_name(config, "source"),
               target=_name(config, "target"), seed=config.get("seed", "?"),
               metrics=metrics, finished=metrics_path.is_file(), setting=job_setting(run_dir))


def collect(sweep_dirs: Iterable[Path]) -> list[Run]:
    """Every job under the sweep dirs (a single run dir works too)."""
    runs = []
    for root in sweep_dirs:
        if not root.is_dir():
            raise SystemExit(f"da-compare: error: {root} is not a directory")
        runs.extend(load_run(d, root) for d in _run_dirs(root))
    return runs


def mean_std(values: list[float], percent: bool) -> tuple[float, float]:
    """Mean and sample std (0 for one value), in percent if ``percent``."""
    scale = 100.0 if percent else 1.0
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return scale * statistics.mean(values), scale * std


@dataclass
class Table:
    """Method × pair cells of the metric over seeds, and the runs it could not use."""

    metric: str
    cells: dict[tuple[str, str], list[float]]
    methods: list[str]
    pairs: list[str]
    failed: list[str]
    missing: list[str]
    repeated: list[str] = field(default_factory=list)  # cells with several runs per seed
    #: the largest ``select/prior_kl`` of each cell's runs (cells whose runs logged it)
    guard: dict[tuple[str, str], float] = field(default_factory=dict)
    #: overrides every run of the table has (not repeated in the row names)
    shared: list[str] = field(default_factory=list)

    @property
    def percent(self) -> bool:
        return any(k in self.metric.rsplit("/", 1)[-1] for k in ("acc", "f1"))

    def cell(self, method: str, pair: str) -> tuple[float, float, int] | None:
        values = self.cells.get((method, pair))
        return (*mean_std(values, self.percent), len(values)) if values else None

    def flagged(self, method: str, pair: str) -> bool:
        """The collapse guard fired: a run of the cell has ``select/prior_kl`` > MAX_PRIOR_KL."""
        return self.guard.get((method, pair), 0.0) > MAX_PRIOR_KL

    def below_source_only(self, method: str, pair: str) -> bool:
        """An accuracy cell more than COLLAPSE_POINTS below source_only's on the same pair."""
        mine, reference = self.cell(method, pair), self.cell("source_only", pair)
        return (self.percent and method != "source_only" and mine is not None
                and reference is not None and mine[0] < reference[0] - COLLAPSE_POINTS)

    def coverage(self, method: str) -> tuple[int, int]:
        """(transfer pairs with a value for ``method``, transfer pairs in the table)."""
        transfer = [p for p in self.pairs if "(in-domain)" not in p]
        return sum((method, p) in self.cells for p in transfer), len(transfer)

    def average(self, method: str) -> float | None:
        """Mean over the transfer pairs (not in-domain) of the per-pair means."""
        means = [c[0] for p in self.pairs if "(in-domain)" not in p
                 if (c := self.cell(method, p)) is not None]
        return statistics.mean(means) if means else None


def row_names(runs: list[Run]) -> tuple[list[str], list[str]]:
    """Each run's table row, and the overrides every run shares. A row is the method, followed
    by ``[overrides]`` when the run has overrides that not all runs of the table have (the
    shared ones, e.g. ``encoder=mlp`` of a whole sweep, are listed once under the table)."""
    settings = [run.setting.split() for run in runs]
    shared = [o for o in settings[0] if all(o in s for s in settings[1:])] if settings else []
    rows = []
    for run, setting in zip(runs, settings):
        own = " ".join(o for o in setting if o not in shared)
        rows.append(f"{run.method} [{own}]" if own else run.method)
    return rows, shared


def build_table(runs: list[Run], metric: str) -> Table:
    """Group finished runs having ``metric`` by (row, pair), a row being a method and its
    setting (:attr:`Run.row`); list the others by name."""
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    seeds: dict[tuple[str, str], list[Any]] = defaultdict(list)
    guard: dict[tuple[str, str], float] = {}
    failed, missing = [], []
    rows, shared = row_names(runs)
    for run, row in zip(runs, rows):
        value = run.metrics.get(metric)
        if not run.finished:
            failed.append(run.name)
        elif value is None:
            missing.append(run.name)
        else:
            cells[(row, run.pair)].append(float(value))
            seeds[(row, run.pair)].append(run.seed)
            if run.metrics.get(GUARD_METRIC) is not None:
                key, kl = (row, run.pair), float(run.metrics[GUARD_METRIC])
                guard[key] = max(kl, guard.get(key, kl))
    methods = sorted({m for m, _ in cells})
    pairs = sorted({p for _, p in cells}, key=lambda p: ("(in-domain)" in p, p))
    repeated = [f"{m} / {p} ({len(s)} runs, {len(set(map(str, s)))} seeds)"
                for (m, p), s in sorted(seeds.items()) if len(set(map(str, s))) < len(s)]
    return Table(metric, dict(cells), methods, pairs, failed, missing, repeated, guard, shared)


def markdown(table: Table) -> str:
    """The table as Markdown, with the runs that are not in it listed below."""
    unit = " (%)" if table.percent else ""
    fmt = ".1f" if table.percent else ".4f"
    seeds = sorted({len(v) for v in table.cells.values()})
    same_n = len(seeds) == 1
    counts = f"{seeds[0]} run(s) per cell" if same_n else "n = runs per cell"
    lines = [f"`{table.metric}`{unit}, mean ± std over seeds ({counts})\n",
             "| method | " + " | ".join(table.pairs) + " | average |",
             "|---" * (len(table.pairs) + 2) + "|"]
    for method in table.methods:
        cells = []
        for pair in table.pairs:
            c = table.cell(method, pair)
            n = "" if same_n else f" (n={c[2]})" if c else ""
            marks = ("†" if table.flagged(method, pair) else "") + (
                "↓" if table.below_source_only(method, pair) else "")
            cells.append(f"{c[0]:{fmt}} ± {c[1]:{fmt}}{n}{' ' + marks if marks else ''}"
                         if c else "–")
        avg, (have, total) = table.average(method), table.coverage(method)
        partial = f" ({have}/{total} pairs)" if have < total else ""
        lines.append(f"| {method} | " + " | ".join(cells)
                     + f" | {format(avg, fmt) + partial if avg is not None else '–'} |")
    used = sum(len(v) for v in table.cells.values())
    lines.append(f"\n{used} runs in the table; average = mean over transfer pairs of the "
                 "per-pair means (in-domain pairs excluded).")
    if table.shared:
        lines.append(f"\nEvery run: `{' '.join(table.shared)}`.")
    lines += _collapse_notes(table)
    if table.failed:
        lines.append(f"\nFAILED runs ({len(table.failed)}, no metrics.json / not finished): "
                     + ", ".join(table.failed))
    if table.repeated:
        lines.append("\nWARNING: several runs with the same seed were pooled (runs that differ in "
                     "other settings, e.g. hyperparameter trials or two sweeps): "
                     + "; ".join(table.repeated))
    if table.missing:
        lines.append(f"\nRuns without `{table.metric}` ({len(table.missing)}): "
                     + ", ".join(table.missing))
    return "\n".join(lines) + "\n"


def _collapse_notes(table: Table) -> list[str]:
    """The footnotes of the ``†`` and ``↓`` marks, and how many cells the guard could judge."""
    keys = [(m, p) for m in table.methods for p in table.pairs if (m, p) in table.cells]
    flagged = [k for k in keys if table.flagged(*k)]
    below = [k for k in keys if table.below_source_only(*k)]
    notes = []
    if table.guard:
        notes.append(f"\n† collapse guard: a run of the cell ended with `{GUARD_METRIC}` > "
                     f"{MAX_PRIOR_KL} (target predictions' class mix far from the source's; "
                     f"label-free). {len(flagged)} of the {len(table.guard)} cells with it "
                     f"logged are flagged" + (f"; {len(keys) - len(table.guard)} cells without "
                                             f"it (validators off) are not judged." if
                                             len(table.guard) < len(keys) else "."))
    if below:
        unflagged = [f"{m} / {p}" for m, p in below
                     if (m, p) in table.guard and not table.flagged(m, p)]
        cells = f"{len(below)} cell" + ("" if len(below) == 1 else "s")
        notes.append(f"\n↓ more than {COLLAPSE_POINTS:g} points below source_only on the pair "
                     f"({cells}; read from the test labels, a report, not a selection)"
                     + (f". Not flagged by the guard: {', '.join(unflagged)}" if unflagged
                        else "") + ".")
    return notes
