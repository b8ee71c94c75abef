"""Label-free hyperparameter tuning of a method (console script ``da-tune``).

Usage::

    da-tune method=dann "method.loss.coeff.value=0.1,0.3,1" optim=adam,sgd_annealed \\
        --pairs bow_books:bow_kitchen bow_electronics:bow_dvd --seeds 0,1,2 --score dev \\
        --out experiments/tuning/dann [--launcher parallel]
    da-tune method=mmd "method.weight.value=1,3" encoder=mlp \
        --pairs features=a.npz:features=b.npz features=c.npz:features=d.npz   # own files

Every combination of the sweep overrides (Hydra's ``-m`` syntax) is trained on each declared
development pair and seed, with the unsupervised validators on (``validators.enabled=true``).
Each setting is scored by the mean over pairs and seeds of one **label-free** validator of the
final model (``select/<score>``, :mod:`da.selection.validators`; default ``dev``, Deep Embedded
Validation, You et al. ICML 2019, the rule that came closest to the oracle in
experiments/selection). No target label takes part in the choice. The target test accuracy is
written beside each setting as an **oracle** column, for analysis only.

**Collapse guard.** A method driven by target predictions can score well on a source-side
validator while it pushes every target example into one class. Each run's ``select/prior_kl``
(KL from the source class prior to the mean target prediction,
:func:`da.selection.validators.prior_kl`) is therefore checked: a setting whose worst run exceeds
``--max-prior-kl`` (default 0.05, a 65/35 split of two balanced classes) is *set aside* and
ranked after every setting that passes. If no setting passes, the one with the smallest worst
``prior_kl`` is chosen and a warning is printed. ``--max-prior-kl inf`` turns the guard off.

Writes ``tune.csv`` (one row per setting), ``tune.md`` (settings ranked by the score, the chosen
one first) and ``RUN.md`` (command, commit, machine, wall time) to ``--out``; prints the chosen
overrides. The same runs can be re-scored with ``--table-only --sweep-dir DIR --score NAME``.

**Choosing the method too** (``--methods a,b,c`` or ``--methods all``): each method sweeps the
grid of its yaml's ``tune`` block (:mod:`da.results.method_grid`), ``source_only`` is always a
candidate, and the (method, setting) candidates are ranked together by the same score and guard.
The chosen ``da-train`` line (on the pair, if there is one) is printed and written to
``chosen.txt``::

    da-tune --methods source_only,dann,mmd,coral,shot encoder=mlp target.label_column=null \
        --pairs features=a.npz:features=b.npz --seeds 0,1
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import shlex
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from da.data.files import file_stem
from da.results.method_grid import method_grid, parse_methods
from da.results.tables import collect, job_setting
from da.run.provenance import REPO, git_commit, machine
from da.selection.validators import MAX_PRIOR_KL, MODES

#: Overrides that identify a job's pair and seed rather than its setting (da-compare's list,
#: da.results.tables._NOT_SETTING, also leaves out method=, which is its own column there).
_NOT_SETTING = ("source=", "target=", "source.path=", "target.path=", "seed=",
                "validators.enabled=", "validators.final_only=", "hydra/launcher=",
                "trainer.check_val_every_n_epoch=")
#: Only the final model is scored, so the validators (~0.7 s each on the Amazon MLP) run once, at
#: the run's last validation, in epoch- and step-based runs alike.
_FINAL_ONLY = "validators.final_only=true"


@dataclass
class Setting:
    """One point of the grid with its runs' scores."""

    overrides: str
    scores: list[float]
    source_acc: list[float]
    oracle_target_acc: list[float]
    prior_kl: list[float] = field(default_factory=list)
    failed: int = 0

    @property
    def worst_prior_kl(self) -> float:
        """The largest ``select/prior_kl`` over the runs (``nan`` if none was logged)."""
        return max(self.prior_kl) if self.prior_kl else float("nan")

    def collapsed(self, max_prior_kl: float) -> bool:
        """Whether a run's target predictions moved further from the source prior than allowed.
        A setting without ``select/prior_kl`` (older runs) is not judged."""
        return bool(self.prior_kl) and self.worst_prior_kl > max_prior_kl

    def mean(self, values: list[float]) -> float:
        return statistics.mean(values) if values else float("nan")

    def std(self, values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else 0.0


#: Domain groups that read a user's file (``--pairs features=a.npz:file=b.csv``).
FILE_GROUPS = ("file", "features")


def parse_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    """``["src:tgt", ...]`` → ``[(src, tgt), ...]`` with a clear error for a malformed item.

    A side is a domain name (``bow_books``) or one of the user's files as ``GROUP=PATH`` with
    GROUP ``file`` (text) or ``features`` (vectors): a ``.csv`` can be either, so the kind is
    always said (``features=a.npz:features=b.npz``, ``file=mine.csv:cr``)."""
    parsed = []
    for item in pairs:
        source, sep, target = item.partition(":")
        if not sep or not source or not target:
            raise SystemExit(f"da-tune: error: --pairs takes SOURCE:TARGET items, got '{item}'")
        for side in (source, target):
            group, is_file, path = side.partition("=")
            if is_file and (group not in FILE_GROUPS or not path):
                raise SystemExit(f"da-tune: error: '{side}' in --pairs: a file is GROUP=PATH with "
                                 f"GROUP one of {', '.join(FILE_GROUPS)} (e.g. features=a.npz)")
        parsed.append((source, target))
    return parsed


def side_overrides(role: str, side: str) -> tuple[str, list[str]]:
    """``(name, overrides)`` of one side of a pair: ``bow_books`` → ``source=bow_books``;
    ``features=data/a.npz`` → ``source=features source.path=/abs/data/a.npz`` named ``a``
    (the path made absolute: the sweeps run in the repository)."""
    group, is_file, path = side.partition("=")
    if not is_file:
        return side, [f"{role}={side}"]
    absolute = Path(path).expanduser().resolve()
    return file_stem(absolute), [f"{role}={group}", f"{role}.path={absolute}"]


def run_grid(overrides: list[str], pairs: list[tuple[str, str]], seeds: str, sweep_dir: Path,
             launcher: str | None) -> list[str]:
    """One ``da-train -m`` sweep per development pair into ``sweep_dir/<source>_to_<target>``."""
    commands = []
    for source, target in pairs:
        (source_name, source_args), (target_name, target_args) = (
            side_overrides("source", source), side_overrides("target", target))
        pair_dir = sweep_dir / f"{source_name}_to_{target_name}"
        args = ["-m", *overrides, *source_args, *target_args, f"seed={seeds}",
                "validators.enabled=true", _FINAL_ONLY, f"hydra.sweep.dir={pair_dir}",
                *([f"hydra/launcher={launcher}"] if launcher else [])]
        commands.append(shlex.join(["da-train", *args]))
        print(f"[da-tune] {commands[-1]}", flush=True)
        subprocess.run([sys.executable, "-m", "da.train", *args], cwd=REPO, check=False)
    return commands


def score_settings(sweep_dirs: list[Path], score: str,
                   max_prior_kl: float = MAX_PRIOR_KL) -> list[Setting]:
    """Group the finished jobs under ``sweep_dirs`` by setting, best first: the settings that pass
    the collapse guard by ``select/<score>``, then the collapsed ones (least collapsed first),
    then those without a score."""
    settings: dict[str, Setting] = defaultdict(lambda: Setting("", [], [], []))
    runs = [(root, run) for root in sweep_dirs for run in collect([root])]
    for root, run in runs:
        key = job_setting(root / run.name, _NOT_SETTING)  # method= stays: a grid may sweep it
        setting = settings[key]
        setting.overrides = key
        value = run.metrics.get(f"select/{score}")
        if not run.finished or value is None:
            setting.failed += 1
            continue
        setting.scores.append(float(value))
        setting.source_acc.append(float(run.metrics.get("val/source_acc", float("nan"))))
        setting.oracle_target_acc.append(float(run.metrics.get("test/target_acc", float("nan"))))
        if run.metrics.get("select/prior_kl") is not None:
            setting.prior_kl.append(float(run.metrics["select/prior_kl"]))
    sign = -1.0 if MODES[score] == "max" else 1.0
    scored = [s for s in settings.values() if s.scores]
    passed = [s for s in scored if not s.collapsed(max_prior_kl)]
    collapsed = [s for s in scored if s.collapsed(max_prior_kl)]
    return (sorted(passed, key=lambda s: sign * s.mean(s.scores))
            + sorted(collapsed, key=lambda s: s.worst_prior_kl)
            + [s for s in settings.values() if not s.scores])


def write_tables(settings: list[Setting], score: str, out: Path,
                 max_prior_kl: float = MAX_PRIOR_KL) -> None:
    """``tune.csv`` and ``tune.md``: one row per setting, the chosen one first."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["setting", f"score_{score}_mean", f"score_{score}_std", "runs", "failed",
              "worst_prior_kl", "collapsed", "source_acc_mean", "oracle_target_acc_mean",
              "oracle_target_acc_std"]
    rows = [[s.overrides or "(defaults)", s.mean(s.scores), s.std(s.scores), len(s.scores),
             s.failed, s.worst_prior_kl, int(s.collapsed(max_prior_kl)), s.mean(s.source_acc),
             s.mean(s.oracle_target_acc), s.std(s.oracle_target_acc)] for s in settings]
    (out / "tune.csv").write_text(_csv([header, *rows]))
    direction = "lower" if MODES[score] == "min" else "higher"
    fixed = set.intersection(*(set(s.overrides.split()) for s in settings))
    lines = [f"Settings ranked by `select/{score}` ({direction} is better; mean over development "
             f"pairs × seeds of the final model). Settings whose worst run has `select/prior_kl` "
             f"> {max_prior_kl:g} (target predictions collapsing toward one class) are set aside "
             f"below the others. The first row is chosen. The last two columns use target "
             f"labels: **oracle**, for analysis only, never used for the choice.\n",
             f"Common to every setting: `{' '.join(o for o in settings[0].overrides.split() if o in fixed)}`\n",
             f"| rank | setting | {score} (mean ± std) | runs | worst prior KL | "
             f"source val acc (%) | oracle target acc (%) |", "|---|---|---|---|---|---|---|"]
    for rank, s in enumerate(settings, 1):
        failed = f" ({s.failed} failed)" if s.failed else ""
        varied = " ".join(o for o in s.overrides.split() if o not in fixed) or "(defaults)"
        guard = " **collapsed**" if s.collapsed(max_prior_kl) else ""
        lines.append(f"| {rank} | `{varied}` | {s.mean(s.scores):.4f} ± "
                     f"{s.std(s.scores):.4f} | {len(s.scores)}{failed} | "
                     f"{s.worst_prior_kl:.3f}{guard} | "
                     f"{100 * s.mean(s.source_acc):.1f} | {_oracle(s.oracle_target_acc)} |")
    (out / "tune.md").write_text("\n".join(lines) + "\n")


def _oracle(values: list[float]) -> str:
    """``mean ± std`` in percent of the runs' target test accuracies; a target declared
    unlabeled has none (its runs log no test/target_acc)."""
    known = [v for v in values if v == v]
    if not known:
        return "— (no target labels)"
    spread = statistics.stdev(known) if len(known) > 1 else 0.0
    return f"{100 * statistics.fmean(known):.1f} ± {100 * spread:.1f}"


def _csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="da-tune", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="da-train overrides; lists a,b,c are swept")
    parser.add_argument("--pairs", nargs="+", default=[],
                        help="development pairs SOURCE:TARGET; a side is a domain name or an own "
                             "file as GROUP=PATH (file=texts.csv, features=vectors.npz)")
    parser.add_argument("--methods", default=None,
                        help="choose the method too: a,b,c or all; each method sweeps the grid "
                             "of its yaml's tune block, source_only is always a candidate")
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma separated (default 0,1,2)")
    parser.add_argument("--score", default="dev", choices=[m for m in MODES if "oracle" not in m],
                        help="label-free validator that ranks the settings (default dev)")
    parser.add_argument("--max-prior-kl", type=float, default=MAX_PRIOR_KL,
                        help="collapse guard: set aside settings whose worst run has "
                             f"select/prior_kl above this (default {MAX_PRIOR_KL}; inf: off)")
    parser.add_argument("--out", type=Path, default=None, help="tables dir (default outputs/tune/...)")
    parser.add_argument("--sweep-dir", type=Path, nargs="+", default=[],
                        help="where the runs go (with --table-only: one or more dirs to score)")
    parser.add_argument("--launcher", help="hydra/launcher for the sweeps, e.g. parallel")
    parser.add_argument("--table-only", action="store_true", help="only re-score --sweep-dir")
    args = parser.parse_args(argv)
    if args.table_only and args.sweep_dir is None:
        parser.error("--table-only needs --sweep-dir")
    if not args.table_only and not args.pairs:
        parser.error("give the development pairs: --pairs SOURCE:TARGET [SOURCE:TARGET ...]")
    if args.methods is not None and any(o.startswith("method=") for o in args.overrides):
        parser.error("--methods chooses the method: drop method= from the overrides")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pairs = parse_pairs(args.pairs)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    sweep_dirs = [d.absolute() for d in args.sweep_dir] or [REPO / "outputs" / "tune" / stamp]
    sweep_dir = sweep_dirs[0]
    out = args.out or sweep_dir
    commit = git_commit()
    start = time.perf_counter()
    commands = []
    if args.methods is not None:  # one sweep per method (its own grid) and pair
        sweep_dirs = [sweep_dir / name for name in parse_methods(args.methods)]
        grids = [[*args.overrides, *method_grid(d.name, args.overrides)] for d in sweep_dirs]
        if not args.table_only:
            for grid, method_dir in zip(grids, sweep_dirs):
                commands += run_grid(grid, pairs, args.seeds, method_dir, args.launcher)
    elif not args.table_only:
        commands = run_grid(args.overrides, pairs, args.seeds, sweep_dir, args.launcher)
    wall = time.perf_counter() - start
    settings = score_settings(sweep_dirs, args.score, args.max_prior_kl)
    if not any(s.scores for s in settings):
        print(f"da-tune: error: no finished run under {sweep_dirs} has select/{args.score}",
              file=sys.stderr)
        return 1
    write_tables(settings, args.score, out, args.max_prior_kl)
    if settings[0].collapsed(args.max_prior_kl):
        print(f"da-tune: warning: every setting collapses (worst select/prior_kl > "
              f"{args.max_prior_kl:g}); the least collapsed one is chosen. Widen the grid "
              f"(smaller weights, a diversity term).", file=sys.stderr)
    if commands:
        (out / "RUN.md").write_text(
            f"# da-tune: how {out.name} was chosen\n\n- Command: `da-tune {shlex.join(sys.argv[1:])}`"
            f", i.e.\n" + "".join(f"  - `{c}`\n" for c in commands)
            + f"- Score: `select/{args.score}` (label-free), mean over pairs x seeds; collapse "
            f"guard `select/prior_kl` <= {args.max_prior_kl:g} in every run\n"
            f"- Commit: `{commit}`\n- Machine: {machine()}\n"
            f"- Date: {stamp}; wall time: {wall:.0f} s\n")
    line = chosen_command(settings[0].overrides, pairs)
    (out / "chosen.txt").write_text(line + "\n")
    print((out / "tune.md").read_text() + f"\nchosen: {settings[0].overrides or '(defaults)'}"
          f"\nrun it: {line}\nwritten: {out}", flush=True)
    return 0


def chosen_command(setting: str, pairs: list[tuple[str, str]]) -> str:
    """The ``da-train`` line of the chosen setting; with one development pair, on that pair (the
    user's own files: the usual case), else without source and target."""
    sides = []
    if len(pairs) == 1:
        sides = [*side_overrides("source", pairs[0][0])[1], *side_overrides("target", pairs[0][1])[1]]
    return shlex.join(["da-train", *sides, *setting.split()])


if __name__ == "__main__":
    raise SystemExit(main())
