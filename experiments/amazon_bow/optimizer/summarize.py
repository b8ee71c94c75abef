"""Tabulate the runs of the optimizer study (README.md here) by setting and pair.

    python experiments/amazon_bow/optimizer/summarize.py RUN_ROOT [RUN_ROOT ...]

Every run dir below a RUN_ROOT (a dir with ``metrics.json`` and ``.hydra/overrides.yaml``) is
grouped by its *setting*: its Hydra overrides other than ``source``, ``target``, ``seed`` and
those shared by every run read. Per setting and pair it prints the target accuracy (%, mean over
seeds; **read from target test labels, for the report only**), and per setting the means of the
label-free signals: source validation accuracy, ``select/dev``, the worst ``select/prior_kl``.
"""

from __future__ import annotations

import collections
import json
import statistics
import sys
from pathlib import Path

import yaml

IGNORED = ("source", "target", "seed")


def load_runs(roots: list[str]) -> list[dict]:
    runs = []
    for root in roots:
        for metrics in sorted(Path(root).rglob("metrics.json")):
            overrides = metrics.parent / ".hydra" / "overrides.yaml"
            if not overrides.exists():
                continue
            pairs = dict(o.split("=", 1) for o in yaml.safe_load(overrides.read_text()))
            runs.append({"overrides": pairs, "metrics": json.loads(metrics.read_text())})
    return runs


def setting_of(run: dict, shared: set[tuple[str, str]]) -> str:
    keep = [f"{k}={v}" for k, v in sorted(run["overrides"].items())
            if k not in IGNORED and (k, v) not in shared]
    return " ".join(keep) or "(shared settings only)"


def main(roots: list[str]) -> None:
    runs = load_runs(roots)
    if not runs:
        sys.exit(f"no runs with metrics.json and .hydra/overrides.yaml below {roots}")
    shared = set.intersection(*(set(r["overrides"].items()) for r in runs))
    cells = collections.defaultdict(list)
    for run in runs:
        o = run["overrides"]
        pair = f"{o['source'].removeprefix('bow_')[0]}>{o['target'].removeprefix('bow_')[0]}"
        cells[(setting_of(run, shared), pair)].append(run["metrics"])
    settings = sorted({s for s, _ in cells})
    pairs = sorted({p for _, p in cells})
    print("shared:", " ".join(f"{k}={v}" for k, v in sorted(shared)))
    print("| setting | " + " | ".join(pairs) + " | mean acc | val/source_acc | select/dev | "
          "worst prior_kl |")
    print("|---" * (len(pairs) + 5) + "|")
    for s in settings:
        accs, row, all_runs = [], [], []
        for p in pairs:
            ms = cells.get((s, p), [])
            all_runs += ms
            if ms:
                a = 100 * statistics.mean(m["test/target_acc"] for m in ms)
                accs.append(a)
                row.append(f"{a:.1f}")
            else:
                row.append("")

        def mean(key: str) -> str:
            vals = [m[key] for m in all_runs if key in m]
            return f"{statistics.mean(vals):.3f}" if vals else "—"
        worst = max((m["select/prior_kl"] for m in all_runs if "select/prior_kl" in m),
                    default=float("nan"))
        print(f"| {s} | " + " | ".join(row) + f" | {statistics.mean(accs):.1f} | "
              f"{mean('val/source_acc')} | {mean('select/dev')} | {worst:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
