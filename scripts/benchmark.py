#!/usr/bin/env python
"""Run a named benchmark and write its tables: same as the ``da-bench`` console script.

Usage: python scripts/benchmark.py NAME [--launcher parallel] [override ...]   (see :mod:`da.results.bench`)
"""

from da.results.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
