"""``da-data``: list, download and verify the datasets of the ``DA_DATA_DIR`` layout.

    da-data list [--data-dir DIR]
    da-data download NAME [NAME ...] [--data-dir DIR] [--url-base URL]
    da-data verify [NAME ...] [--data-dir DIR]

NAME is a folder (``rt_polarity_v1``) or a domain name (``rt_polarity``, ``bow_dvd``, ...).
User errors print one line and exit with status 2; ``verify`` exits 1 when a file is missing or
differs from its published sha256.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from da.data.download import ENV_URL_BASE, download, missing_or_bad
from da.data.io import resolve_data_dir
from da.data.registry import DATASETS, Dataset, find_datasets
from da.errors import DAError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="da-data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", help="layout root (default: $DA_DATA_DIR, else "
                                             "~/.cache/da/datasets)")
    commands.add_parser("list", parents=[data_dir], help="the datasets and whether present")
    get = commands.add_parser("download", parents=[data_dir], help="fetch and verify datasets")
    get.add_argument("names", nargs="+", metavar="NAME", help="folder or domain name")
    get.add_argument("--url-base", help=f"mirror serving <URL>/<folder>/<original file name> "
                                        f"(default: ${ENV_URL_BASE}, else the original URLs)")
    check = commands.add_parser("verify", parents=[data_dir], help="check files' sha256")
    check.add_argument("names", nargs="*", metavar="NAME", help="default: every present dataset")
    return parser.parse_args(argv)


def list_datasets(root: Path) -> int:
    """Print one line per dataset: folder, size, domains, present or not, home page."""
    print(f"data dir: {root}")
    for d in DATASETS:
        size = sum(f.size for f in d.files) / 1e6
        state = "present" if (root / d.folder).is_dir() else "missing"
        print(f"{d.folder:34} {size:5.1f} MB  {state:8} {' '.join(d.domains):44} {d.home}")
    return 0


def verify(root: Path, names: list[str]) -> int:
    """Check every file of the named (default: present) datasets; 1 if any is missing or bad."""
    chosen: list[Dataset] = [d for n in names for d in find_datasets(n)] if names else [
        d for d in DATASETS if (root / d.folder).is_dir()]
    if not chosen:
        print(f"no dataset found in {root}; run `da-data download NAME`.")
        return 1
    failed = 0
    for dataset in dict.fromkeys(chosen):
        bad = missing_or_bad(dataset, root / dataset.folder)
        failed += len(bad)
        verdict = "ok" if not bad else f"FAILED: {', '.join(bad)}"
        print(f"{dataset.folder}: {len(dataset.files) - len(bad)}/{len(dataset.files)} files "
              f"match the published sha256 - {verdict}")
        if bad:
            print(f"  fix: delete them and run `da-data download {dataset.folder} --data-dir "
                  f"{root}`")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``da-data`` console script."""
    args = parse_args(argv)
    root = resolve_data_dir(args.data_dir)
    try:
        if args.command == "list":
            return list_datasets(root)
        if args.command == "verify":
            return verify(root, args.names)
        for name in args.names:
            download(name, root, url_base=args.url_base, log=lambda m: print(m, flush=True))
        return 0
    except (DAError, OSError) as exc:  # OSError: e.g. a read-only or full data dir
        print(f"da-data: error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
