"""Compare methods across source → target pairs and seeds (console script ``da-compare``).

Usage::

    da-compare SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--metric test/target_acc]
    da-compare --wandb ENTITY/PROJECT [--group GROUP] --out DIR     # runs logged to W&B (online)
    da-compare --from-csv DIR/results.csv [--out DIR]   # redraw results.png from a results.csv
    da-compare SWEEP_DIR [...] --append DIR/results.csv  # add a slice of runs to a results.csv

Reads every job of the sweep dirs (``metrics.json`` + ``config.yaml``; see ``da-train -m``), or the
runs of a W&B project through ``wandb.Api``, and prints a method × pair table of the metric's
mean ± std over seeds with a per-method average over the transfer pairs. Writes ``results.csv``
(one row per run, every metric), ``results.md`` (the table) and ``results.png`` (a heatmap of the
table and the sorted averages, see :mod:`da.results.plot`) into ``--out`` (default: the first
SWEEP_DIR). ``--from-csv`` reads the runs back from a ``results.csv`` instead, prints the table and
writes only ``results.png`` (default: beside the CSV): the CSV and ``results.md``, which da-bench
extends with its reference row, stay as they are. ``--append`` grows one table across sessions:
the runs of the SWEEP_DIRs are added to the rows of an existing ``results.csv`` (a run whose method,
pair and seed is there already is an error: nothing is counted twice) and ``results.csv``,
``results.md`` and ``results.png`` are written beside it.

Runs of a method that differ in overrides other than the pair, method, seed, experiment and
plumbing (``hydra.*``, logger, progress bar, validators, diagnostics) are separate rows, named
``method [overrides]``, and ``results.csv`` has their ``setting``: a sweep over
``method.loss.coeff.value=0.1,1.0`` gives two rows, not one pooled cell.

Nothing is dropped silently: a job that failed (a run dir with ``config.yaml`` or ``.hydra/`` but
no ``metrics.json``, or a W&B run that did not finish) and a run without the metric are listed by
name under the table. Same-domain pairs (``bow_books → bow_books``, which a full source × target
sweep contains) are marked *in-domain* and left out of the averages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from da.results.csv_file import read_runs, write_csv
from da.results.plot import plot
from da.results.tables import Run, build_table, collect, markdown


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="da-compare", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dirs", nargs="*", type=Path, help="sweep (or run) directories")
    parser.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read runs from W&B instead")
    parser.add_argument("--group", help="with --wandb: only the runs of this W&B group")
    parser.add_argument("--from-csv", type=Path, metavar="CSV",
                        help="read the runs from a results.csv and redraw only results.png")
    parser.add_argument("--append", type=Path, metavar="CSV",
                        help="add the SWEEP_DIRs' runs to this results.csv (created if absent)")
    parser.add_argument("--out", type=Path,
                        help="output dir (default: the first SWEEP_DIR, or the CSV's dir)")
    parser.add_argument("--metric", default="test/target_acc")
    parser.add_argument("--no-plot", action="store_true", help="skip results.png")
    args = parser.parse_args(argv)
    if sum(map(bool, (args.sweep_dirs, args.wandb, args.from_csv))) != 1:
        parser.error("give SWEEP_DIR(s), --wandb ENTITY/PROJECT or --from-csv CSV (one of them)")
    if args.from_csv and args.no_plot:
        parser.error("--from-csv only redraws results.png: it cannot go with --no-plot")
    if args.append and not args.sweep_dirs:
        parser.error("--append needs the SWEEP_DIR(s) whose runs it adds")
    if args.wandb and args.out is None:
        parser.error("--wandb needs --out DIR")
    return args


def main(argv: list[str] | None = None) -> int:
    """``da-compare``: print the table, write results.csv/.md/.png; exit 1 if no run is usable."""
    args = parse_args(argv)
    if args.wandb:
        from da.run.tracking import fetch_runs
        runs = [Run(**r) for r in fetch_runs(args.wandb, group=args.group)]
    elif args.from_csv:
        runs = [Run(**r) for r in read_runs(args.from_csv)]
    else:
        runs = collect(args.sweep_dirs)
    if args.append:
        runs = appended(args.append, runs)
    csv_path = args.from_csv or args.append
    out = args.out or (csv_path.parent if csv_path else args.sweep_dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    table = build_table(runs, args.metric)
    text = markdown(table)
    written = []
    if not args.from_csv:  # the CSV is the record; results.md may hold da-bench's reference row
        write_csv(runs, out / "results.csv")
        (out / "results.md").write_text(text)
        written += [out / "results.csv", out / "results.md"]
    if table.cells and not args.no_plot and plot(table, out / "results.png") is not None:
        written.append(out / "results.png")
    print(text + "\nwritten: " + (", ".join(map(str, written)) or "nothing"), flush=True)
    return 0 if table.cells else 1


def appended(csv_path: Path, new: list[Run]) -> list[Run]:
    """The runs of ``csv_path`` (none if it does not exist yet) followed by ``new``; a SystemExit
    naming the run if one of ``new`` has the method, setting, pair and seed of a run already there."""
    old = [Run(**r) for r in read_runs(csv_path)] if csv_path.is_file() else []
    def key(run: Run) -> tuple:
        return run.method, run.setting, run.source, run.target, str(run.seed)
    seen = {key(run): run.name for run in old}
    for run in new:
        if key(run) in seen:
            raise SystemExit(f"da-compare: error: {run.name} is in {csv_path} already (as "
                             f"{seen[key(run)]}); remove that row to replace it")
        seen[key(run)] = run.name
    return old + new


if __name__ == "__main__":
    raise SystemExit(main())
