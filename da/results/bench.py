"""Run a named benchmark and write its tables (console script ``da-bench``).

Usage::

    da-bench --list
    da-bench NAME|SPEC.yaml [--out DIR] [--sweep-dir DIR] [--launcher parallel] [override ...]
    da-bench NAME --table-only --sweep-dir DIR      # rebuild the tables from finished sweeps

A benchmark is ``experiments/<NAME>/benchmark.yaml``::

    description: one line
    sweeps:            # each item: the overrides of one `da-train -m` call
      - [experiment=amazon_bow_sweep, source=bow_books, "target=bow_dvd,bow_electronics"]
    metric: test/target_acc
    reference:         # optional published numbers, shown as one more row of the table
      label: published DANN (Ganin et al. 2016)
      values: {bow_books_to_bow_dvd: 78.4}

Every sweep writes into one sweep dir (``--sweep-dir``, default
``outputs/bench/<NAME>/<time>``); then ``results.csv`` (one row per run), ``results.md`` (method ×
pair mean ± std, the reference row, the runs that failed) and ``results.png`` go to ``--out``
(default ``experiments/<NAME>/``) with ``RUN.md``: the command, commit, machine and wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from da.results.tables import Table, build_table, collect, markdown
from da.results.csv_file import write_csv
from da.results.plot import plot
from da.run.provenance import REPO, git_commit, machine

EXPERIMENTS = REPO / "experiments"


def spec_path(name: str) -> Path:
    """``experiments/<name>/benchmark.yaml``, or ``name`` itself if it is a yaml file."""
    return Path(name) if name.endswith((".yaml", ".yml")) else EXPERIMENTS / name / "benchmark.yaml"


def load_spec(name: str) -> dict[str, Any]:
    """The benchmark spec, checked; a clear SystemExit if it is not there."""
    path = spec_path(name)
    if not path.is_file():
        raise SystemExit(f"da-bench: no benchmark '{name}' ({path} does not exist); "
                         f"available: {', '.join(available()) or 'none'}")
    spec = yaml.safe_load(path.read_text()) or {}
    sweeps = spec.get("sweeps")
    if not sweeps or not all(isinstance(s, list) for s in sweeps):
        raise SystemExit(f"da-bench: {path}: 'sweeps' must be a list of override lists")
    return spec


def available() -> list[str]:
    return sorted(p.parent.name for p in EXPERIMENTS.glob("*/benchmark.yaml"))


def run_sweeps(spec: dict[str, Any], sweep_dir: Path, extra: list[str]) -> list[str]:
    """Run each sweep of ``spec`` into ``sweep_dir``; returns the commands (a failing job is
    reported in the table, so a non-zero exit of a sweep does not stop the others)."""
    commands = []
    for overrides in spec["sweeps"]:
        command = [sys.executable, "-m", "da.train", "-m", *map(str, overrides), *extra,
                   f"hydra.sweep.dir={sweep_dir}"]
        commands.append(shlex.join(["da-train", *command[3:]]))
        print(f"[da-bench] {commands[-1]}", flush=True)
        subprocess.run(command, cwd=REPO, check=False)
    return commands


def reference_row(table: Table, reference: dict[str, Any] | None) -> str:
    """The published numbers as one more Markdown row in the table's pair order (+ average)."""
    if not reference:
        return ""
    values = reference.get("values", {})
    cells = [values.get(pair.replace(" → ", "_to_")) for pair in table.pairs]
    shown = [v for v in cells if v is not None]
    average = f"{sum(shown) / len(shown):.1f}" if shown else "–"
    return (f"| *{reference.get('label', 'reference')}* | "
            + " | ".join("–" if v is None else f"{v:.1f}" for v in cells) + f" | {average} |\n")


def with_reference(text: str, row: str) -> str:
    """Insert ``row`` right after the last method row of a
    :func:`da.results.tables.markdown` table."""
    if not row:
        return text
    lines = text.split("\n")
    last = max(i for i, line in enumerate(lines) if line.startswith("| "))
    return "\n".join([*lines[:last + 1], row.rstrip("\n"), *lines[last + 1:]])


def write_tables(spec: dict[str, Any], sweep_dir: Path, out: Path) -> Table:
    runs = collect([sweep_dir])
    table = build_table(runs, spec.get("metric", "test/target_acc"))
    out.mkdir(parents=True, exist_ok=True)
    write_csv(runs, out / "results.csv")
    (out / "results.md").write_text(with_reference(markdown(table),
                                                   reference_row(table, spec.get("reference"))))
    if table.cells:
        plot(table, out / "results.png")
    return table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="da-bench", description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="benchmark: experiments/<name>/benchmark.yaml")
    parser.add_argument("overrides", nargs="*", help="extra da-train overrides for every sweep")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument("--out", type=Path, help="tables dir (default experiments/<name>)")
    parser.add_argument("--sweep-dir", type=Path, help="where the runs go")
    parser.add_argument("--launcher", help="hydra/launcher for the sweeps, e.g. parallel")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the tables")
    args = parser.parse_args(argv)
    if not args.list and not args.name:
        parser.error("give a benchmark NAME or --list")
    if args.table_only and args.sweep_dir is None:
        parser.error("--table-only needs --sweep-dir")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(f"{n}: {load_spec(n).get('description', '')}" for n in available()))
        return 0
    spec = load_spec(args.name)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    sweep_dir = (args.sweep_dir or REPO / "outputs" / "bench" / args.name / stamp).absolute()
    out = args.out or spec_path(args.name).parent
    extra = [*args.overrides, *([f"hydra/launcher={args.launcher}"] if args.launcher else [])]
    commit = git_commit()  # before the tables below change tracked files
    start = time.perf_counter()
    commands = [] if args.table_only else run_sweeps(spec, sweep_dir, extra)
    wall = time.perf_counter() - start
    table = write_tables(spec, sweep_dir, out)
    if commands:
        (out / "RUN.md").write_text(
            f"# {args.name}: how these tables were made\n\n"
            f"- Command: `da-bench {shlex.join(sys.argv[1:])}`, i.e. the sweeps\n"
            + "".join(f"  - `{c}`\n" for c in commands)
            + f"- Commit: `{commit}`\n- Machine: {machine()}\n"
            f"- Date: {stamp}; wall time of the sweeps: {wall:.0f} s\n"
            f"- Runs: {sum(len(v) for v in table.cells.values())} in the table, "
            f"{len(table.failed)} failed, {len(table.missing)} without the metric\n")
    print((out / "results.md").read_text() + f"\nwritten: {out}", flush=True)
    return 0 if table.cells else 1


if __name__ == "__main__":
    raise SystemExit(main())
