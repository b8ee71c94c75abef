"""The Amazon table against issue #26's aims, from results.csv (as da-bench writes it).

    python experiments/amazon_bow/aims.py [experiments/amazon_bow/results.csv]

Per method, over the 12 transfer pairs: mean target accuracy, the largest per-pair std, the cells
more than 3 points below source-only ("↓", read from target test labels: a report, never a
selection), the runs and cells the collapse guard flags ("†": ``select/prior_kl`` > 0.05,
label-free), whether every ↓ cell is flagged, and Ganin et al.'s proxy A-distance of the tested
model's features (``diag/a_distance_svm``): its mean and on how many pairs it is below
source-only's. Prints a Markdown table.
"""

from __future__ import annotations

import collections
import csv
import statistics
import sys
from pathlib import Path

GUARD = 0.05   # select/prior_kl above it: a collapse by issue #26's definition
DROP = 3.0     # points below source-only: a collapse by the same definition


def _float(row: dict, key: str) -> float | None:
    value = row.get(key, "")
    return float(value) if value not in ("", None) else None


def cells_of(path: Path) -> dict[tuple[str, str], list[dict]]:
    cells = collections.defaultdict(list)
    with open(path) as handle:
        for row in csv.DictReader(handle):
            if row["status"] == "finished" and row["source"] != row["target"]:
                cells[(row["method"], f"{row['source']}>{row['target']}")].append(row)
    return cells


def mean_of(rows: list[dict], key: str) -> float | None:
    values = [v for v in (_float(r, key) for r in rows) if v is not None]
    return statistics.mean(values) if values else None


def main(path: Path) -> None:
    cells = cells_of(path)
    pairs = sorted({p for _, p in cells})
    methods = sorted({m for m, _ in cells}, key=lambda m: (m != "source_only", m))
    base = {p: 100 * mean_of(cells[("source_only", p)], "test/target_acc") for p in pairs}
    base_probe = {p: mean_of(cells[("source_only", p)], "diag/a_distance_svm") for p in pairs}
    print("| method | seeds | mean | largest per-pair std | ↓ cells | † runs (cells) | "
          "↓ cells flagged | probe | probe < source-only's |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method in methods:
        rows = {p: cells.get((method, p), []) for p in pairs}
        if not all(rows.values()):
            print(f"| {method} | missing pairs: "
                  f"{', '.join(p for p in pairs if not rows[p])} |")
            continue
        acc = {p: [100 * float(r["test/target_acc"]) for r in rows[p]] for p in pairs}
        means = {p: statistics.mean(acc[p]) for p in pairs}
        stds = [statistics.stdev(acc[p]) for p in pairs if len(acc[p]) > 1]
        down = {p for p in pairs if means[p] < base[p] - DROP}
        flagged_runs = {p: sum((_float(r, "select/prior_kl") or 0) > GUARD for r in rows[p])
                        for p in pairs}
        flagged = {p for p in pairs if flagged_runs[p]}
        probe = {p: mean_of(rows[p], "diag/a_distance_svm") for p in pairs}
        shown = [v for v in probe.values() if v is not None]
        below = sum(probe[p] is not None and base_probe[p] is not None
                    and probe[p] < base_probe[p] for p in pairs)
        seeds = sorted({len(rows[p]) for p in pairs})
        print(f"| {method} | {'/'.join(map(str, seeds))} | {statistics.mean(means.values()):.1f} | "
              f"{max(stds, default=0):.1f} | {len(down) or '0'}"
              f"{' (' + ', '.join(sorted(down)) + ')' if down else ''} | "
              f"{sum(flagged_runs.values())} ({len(flagged)}) | "
              f"{'–' if not down else f'{len(down & flagged)} of {len(down)}'} | "
              f"{statistics.mean(shown):.2f} | "
              f"{'–' if method == 'source_only' else below} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results.csv"))
