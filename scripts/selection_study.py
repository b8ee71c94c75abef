#!/usr/bin/env python
"""How close does each unsupervised validator get to the oracle? (issue #7, experiments/selection)

Usage: python scripts/selection_study.py SWEEP_DIR [SWEEP_DIR ...] --out DIR

Reads every run of the sweep dirs (``config.yaml`` + ``csv/metrics.csv`` with the per-epoch
``select/*`` columns that da-train logs). Each (run, epoch) is a candidate model whose true
quality is its target test accuracy ``select/oracle_target_acc``. Two selection problems:

- **epoch** (checkpoint selection inside one run): the candidates are the epochs of one run;
- **pair** (model selection): the candidates are all epochs of all runs (methods, seeds) of one
  source → target pair.

For each problem and validator (its direction from :data:`da.selection.validators.MODES`) the
validator picks its best candidate; ties count as the mean accuracy of the tied candidates (a
random tie-break). Reported per validator, in accuracy points, averaged over runs (epoch) or pairs
(pair): ``acc`` of the pick, ``gap`` = oracle pick − pick (≥ 0; lower is better) and ``vs last``
= pick − the default (the last epoch; for pairs the mean of the runs' last epochs). Writes
``results.csv`` (one row per problem instance and validator) and ``results.md``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

import yaml

from da.selection.validators import MODES

TRUTH = "select/oracle_target_acc"
VALIDATORS = ["source_acc", "entropy", "iwv", "dev", "snd", "oracle_target_acc"]
LABELS = {"oracle_target_acc": "oracle (target labels)"}


def read_runs(roots: list[Path]) -> list[dict]:
    """``{"method", "pair", "name", "epochs": [{"epoch", "select/...": value}]}`` per run."""
    runs = []
    for root in roots:
        for config_path in sorted(root.rglob("config.yaml")):
            run_dir = config_path.parent
            metrics_csv = run_dir / "csv" / "metrics.csv"
            if not metrics_csv.is_file():
                continue
            config = yaml.safe_load(config_path.read_text())
            source, target = config["source"]["name"], config["target"]["name"]
            if source == target:
                continue  # in-domain: no transfer
            with open(metrics_csv) as f:
                rows = [r for r in csv.DictReader(f) if r.get(TRUTH)]
            epochs = [{"epoch": int(r["epoch"]), "method": config["method"]["name"],
                       **{k: float(v) for k, v in r.items() if k.startswith("select/") and v}}
                      for r in rows]
            if epochs:
                runs.append({"method": config["method"]["name"], "pair": f"{source}→{target}",
                             "name": str(run_dir.relative_to(root)), "epochs": epochs})
    return runs


def pick(candidates: list[dict], validator: str) -> float | None:
    """Target accuracy of the candidate the validator scores best (mean over ties)."""
    key = f"select/{validator}"
    scored = [c for c in candidates if key in c]
    if not scored:
        return None
    best = (max if MODES[validator] == "max" else min)(c[key] for c in scored)
    return statistics.mean(c[TRUTH] for c in scored if c[key] == best)


def evaluate(problems: dict[str, list[dict]], last: dict[str, float], level: str) -> list[dict]:
    """One row per (problem instance, validator) with the pick, oracle and default accuracy."""
    rows = []
    for name, candidates in problems.items():
        oracle = max(c[TRUTH] for c in candidates)
        method = candidates[0].get("method", "") if level == "epoch" else ""
        for validator in VALIDATORS:
            acc = pick(candidates, validator)
            rows.append({"level": level, "instance": name, "method": method,
                         "validator": validator,
                         "picked_acc": acc, "oracle_acc": oracle, "last_acc": last[name],
                         "candidates": len(candidates)})
    return rows


def summarize(rows: list[dict], level: str) -> list[str]:
    """Markdown table: per validator mean acc, gap to the oracle and difference to last."""
    lines = [f"| validator | acc ({level}) | gap to oracle | vs last | instances |",
             "|---|---|---|---|---|"]
    mine = [r for r in rows if r["level"] == level]
    first = mine[0] if mine else None
    if first is not None:
        insts = {r["instance"]: r for r in mine}.values()
        lines.append(_line("last (default)", [r["last_acc"] for r in insts],
                           [r["oracle_acc"] for r in insts], [r["last_acc"] for r in insts]))
    for validator in VALIDATORS:
        ok = [r for r in mine if r["validator"] == validator and r["picked_acc"] is not None]
        if ok:
            lines.append(_line(LABELS.get(validator, validator), [r["picked_acc"] for r in ok],
                               [r["oracle_acc"] for r in ok], [r["last_acc"] for r in ok]))
    return lines


def by_method(rows: list[dict]) -> list[str]:
    """Markdown: mean epoch-selection gap to the oracle per validator (rows) and method."""
    epoch = [r for r in rows if r["level"] == "epoch"]
    methods = sorted({r["method"] for r in epoch})
    lines = ["| gap to oracle | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for validator in ["last", *VALIDATORS]:
        cells = []
        for method in methods:
            mine = [r for r in epoch if r["method"] == method and
                    (validator == "last" or r["validator"] == validator)]
            acc = [(r["last_acc"] if validator == "last" else r["picked_acc"], r["oracle_acc"])
                   for r in mine]
            acc = [(a, o) for a, o in acc if a is not None]
            cells.append(f"{100 * statistics.mean(o - a for a, o in acc):.2f}" if acc else "–")
        lines.append(f"| {LABELS.get(validator, validator)} | " + " | ".join(cells) + " |")
    return lines


def _line(label: str, acc: list[float], oracle: list[float], last: list[float]) -> str:
    mean = statistics.mean
    gap = mean(o - a for o, a in zip(oracle, acc))
    diff = mean(a - b for a, b in zip(acc, last))
    return f"| {label} | {100 * mean(acc):.2f} | {100 * gap:.2f} | {100 * diff:+.2f} | {len(acc)} |"


def study(runs: list[dict]) -> list[dict]:
    """Rows for the epoch-selection and the pair-selection problems."""
    per_run = {f"{r['pair']} {r['method']} {r['name']}": r["epochs"] for r in runs}
    last_run = {k: max(e, key=lambda c: c["epoch"])[TRUTH] for k, e in per_run.items()}
    by_pair: dict[str, list[dict]] = defaultdict(list)
    last_pair: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        by_pair[r["pair"]].extend(r["epochs"])
        last_pair[r["pair"]].append(max(r["epochs"], key=lambda c: c["epoch"])[TRUTH])
    return (evaluate(per_run, last_run, "epoch")
            + evaluate(dict(by_pair), {p: statistics.mean(v) for p, v in last_pair.items()},
                       "pair"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    runs = read_runs(args.sweep_dirs)
    if not runs:
        raise SystemExit(f"selection_study: no run with {TRUTH} in csv/metrics.csv under "
                         f"{[str(d) for d in args.sweep_dirs]}")
    rows = study(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    pairs = len({r["pair"] for r in runs})
    text = [f"{len(runs)} runs, {pairs} pairs; accuracy on the target test part, % points.", "",
            "**Epoch selection** (per run: which epoch to test)", "", *summarize(rows, "epoch"),
            "", "Epoch selection, gap to the oracle by method:", "", *by_method(rows),
            "", "**Model selection** (per pair: which method and epoch)", "",
            *summarize(rows, "pair")]
    (args.out / "results.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
