"""Compare two folders written by ``scripts/reference_jobs.sh``: every job's ``metrics.json``
must hold the same keys with the same values, except ``time/*`` and ``meta/*`` (wall times,
commit, versions).

    python scripts/compare_reference.py BEFORE AFTER [--tol 0]

Prints one line per job (``same``, or the keys that differ with both values) and exits 1 when a
job differs, is missing on one side, or has no metrics at all (a job that failed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: Keys that are allowed to differ between two runs of the same job.
IGNORED_PREFIXES = ("time/", "meta/")


def job_metrics(root: Path) -> dict[str, dict]:
    """``{job: metrics}`` for every ``metrics.json`` under ``root`` (the cache folder left out)."""
    found = {}
    for path in sorted(root.rglob("metrics.json")):
        relative = path.parent.relative_to(root)
        if relative.parts and relative.parts[0] == "cache":
            continue
        metrics = json.loads(path.read_text())
        found[str(relative)] = {key: value for key, value in metrics.items()
                                if not key.startswith(IGNORED_PREFIXES)}
    return found


def differences(before: dict, after: dict, tol: float) -> list[str]:
    """The keys whose values differ by more than ``tol`` (or are on one side only)."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, "<missing>"), after.get(key, "<missing>")
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            if math.isclose(old, new, rel_tol=0, abs_tol=tol) or (math.isnan(old) and math.isnan(new)):
                continue
        elif old == new:
            continue
        lines.append(f"    {key}: {old} -> {new}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tol", type=float, default=0.0, help="absolute tolerance (default 0)")
    args = parser.parse_args(argv)
    before, after = job_metrics(args.before), job_metrics(args.after)
    if not before or not after:
        print(f"no metrics.json under {args.before if not before else args.after}")
        return 1
    failed = False
    for job in sorted(set(before) | set(after)):
        if job not in before or job not in after:
            print(f"{job}: only in {args.before if job in before else args.after}")
            failed = True
            continue
        lines = differences(before[job], after[job], args.tol)
        print(f"{job}: {'same' if not lines else f'{len(lines)} keys differ'} "
              f"({len(before[job])} keys)")
        print(*lines, sep="\n") if lines else None
        failed = failed or bool(lines)
    print("all jobs match" if not failed else "DIFFERENCES FOUND")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
