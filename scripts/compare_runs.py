#!/usr/bin/env python
"""Tabulate a sweep: one row per run, then mean ± std over seeds per method × pair.

Usage: python scripts/compare_runs.py SWEEP_DIR [--out DIR] [--metric test/target_acc]

Reads ``*/metrics.json`` and ``*/config.yaml`` under SWEEP_DIR. Writes ``results.csv`` (one row
per run: method, source, target, seed, the metric and val/source_acc) and ``results.md``
(method × pair table with mean ± std and a per-method average) into ``--out`` (default
SWEEP_DIR). Runs without ``metrics.json`` are listed as failed, never dropped silently.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path

import yaml


def collect(sweep_dir: Path, metric: str) -> tuple[list[dict], list[str]]:
    """Rows of finished runs and the names of run dirs that have a config but no metrics."""
    rows, failed = [], []
    for config_path in sorted(sweep_dir.rglob("config.yaml")):
        run = config_path.parent
        if run.name == ".hydra":
            continue
        config = yaml.safe_load(config_path.read_text())
        metrics_path = run / "metrics.json"
        if not metrics_path.is_file():
            failed.append(str(run.relative_to(sweep_dir)))
            continue
        metrics = json.loads(metrics_path.read_text())
        rows.append({"method": config["method"]["name"], "source": config["source"]["name"],
                     "target": config["target"]["name"], "seed": config["seed"],
                     "target_acc": metrics.get(metric), "val_source_acc": metrics.get("val/source_acc"),
                     "wall_s": metrics.get("time/total_s"), "run_dir": str(run.relative_to(sweep_dir))})
    return rows, failed


def mean_std(values: list[float]) -> str:
    """``mean ± std`` in percent (sample std; ``± 0.0`` for one value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def markdown(rows: list[dict], failed: list[str]) -> str:
    """Method × pair table of mean ± std over seeds, with a per-method average column."""
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        if row["target_acc"] is not None:
            by_cell[(row["method"], f"{row['source']} → {row['target']}")].append(row["target_acc"])
    methods = sorted({m for m, _ in by_cell})
    pairs = sorted({p for _, p in by_cell})
    lines = ["| method | " + " | ".join(pairs) + " | average |",
             "|---" * (len(pairs) + 2) + "|"]
    for method in methods:
        cells = [by_cell.get((method, p), []) for p in pairs]
        means = [statistics.mean(c) for c in cells if c]
        seeds = {len(c) for c in cells}
        average = f"{100 * statistics.mean(means):.1f}" if means else "–"
        lines.append(f"| {method} | " + " | ".join(mean_std(c) if c else "–" for c in cells)
                     + f" | {average} |")
    lines.append(f"\n{len(rows)} runs; seeds per cell: {sorted(seeds) if rows else []}.")
    if failed:
        lines.append("\nFailed runs (no metrics.json): " + ", ".join(failed))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--metric", default="test/target_acc")
    args = parser.parse_args()
    out = args.out or args.sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    rows, failed = collect(args.sweep_dir, args.metric)
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["method", "source", "target", "seed",
                                                    "target_acc", "val_source_acc", "wall_s", "run_dir"])
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["method"], r["source"], r["target"], r["seed"])))
    table = markdown(rows, failed)
    (out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
