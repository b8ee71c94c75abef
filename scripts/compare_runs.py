#!/usr/bin/env python
"""Tabulate a sweep: same as the ``da-compare`` console script (see :mod:`da.results.compare`).

Usage: python scripts/compare_runs.py SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--metric NAME]
"""

from da.results.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
