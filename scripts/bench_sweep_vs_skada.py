"""`da` sweeps vs a hand-written skada loop: the same 36 runs, wall time side by side (issue #15).

The 36 runs: the 12 Amazon bag-of-words transfer pairs x source_only / DANN / DeepCORAL, seed 0,
10 epochs, a 5000 -> 50 ReLU -> 2 network, Adam 1e-3, 64 source + 64 target examples per step.

- **skada 0.6.0, as a user loops it**: one Python process (started by this script and timed
  from its start, imports included) that reads each domain's svmlight files once, trains on the
  same 1800 source reviews as `da` (its source train/validation split), the 2000 unlabeled
  target reviews, and tests on the target test set. DANN gets `da`'s 50 -> 100 -> 1 domain
  classifier (skada's default one does not train, see experiments/perf/README.md).
- **`da`**: `da-train -m hydra/launcher=parallel` (2 worker processes, one torch thread each),
  one sweep per source domain (9 jobs each), with `da`'s defaults (CSV log, a checkpoint per
  epoch, source validation each epoch), timed from each command's start to its end.

Also measured in the same invocation: `da`'s per-run overhead against a plain PyTorch loop doing
identical work (scripts/bench_overhead.py) and the 144-run sweep (source_only, DANN, MMD, CORAL x
12 pairs x 3 seeds, `experiment=amazon_bow_sweep`, one sweep per source).

    pip install --no-deps skada==0.6.0 skorch==1.4.0 POT==0.9.7.post1 tabulate pandas  # not da's
    python scripts/bench_sweep_vs_skada.py                 # -> experiments/perf/sweep_vs_skada.*
    python scripts/bench_sweep_vs_skada.py --smoke --out /tmp/b   # 2 pairs, 1 epoch: does it run

Writes ``sweep_vs_skada.md`` (the table, the command, commit and machine) and
``sweep_vs_skada.jsonl`` (one line per run) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOMAINS = ("books", "dvd", "electronics", "kitchen")
METHODS = {"source_only": "SourceOnly", "dann": "DANN", "coral": "DeepCoral"}


def pairs(domains: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(s, t) for s in domains for t in domains if s != t]


# --- the skada loop (runs in its own process: `--skada-loop`) ----------------------------------

def skada_loop(domains: tuple[str, ...], epochs: int, seed: int) -> None:
    """Every pair x method with skada, one JSON line per run on stdout."""
    import numpy as np
    import torch
    from sklearn.datasets import load_svmlight_file

    import skada.deep
    from bench_skada import Discriminator, Net  # this folder: the networks of bench_skada.py
    from da.data.splits import stratified_split

    root = Path(os.environ["DA_DATA_DIR"]) / "mdsd_dann_svmlight"
    data = {}
    for domain in domains:  # each file read once, as a user's loop would
        parts = {}
        for part in ("train", "test"):
            x, y = load_svmlight_file(str(root / f"{domain}_{part}.svmlight.gz"),
                                      n_features=5000, zero_based=True, dtype=np.float32)
            parts[part] = (x.toarray(), (y > 0).astype(np.int64))
        data[domain] = parts
    for source, target in pairs(domains):
        (xs, ys), (xt, _) = data[source]["train"], data[target]["train"]
        train_idx, _ = stratified_split(ys, 0.1, 0)  # da's 1800 / 200 source split
        xs, ys = xs[train_idx], ys[train_idx]
        x = np.concatenate([xs, xt])
        y = np.concatenate([ys, -np.ones(len(xt), dtype=np.int64)])  # target labels masked
        sample_domain = np.concatenate([np.ones(len(xs)), -np.ones(len(xt))]).astype(np.int64)
        for method, cls in METHODS.items():
            torch.manual_seed(seed)
            np.random.seed(seed)
            extra = {"domain_classifier": Discriminator()} if method == "dann" else {}
            reg = {} if method == "source_only" else {"reg": 1.0}
            net = getattr(skada.deep, cls)(
                Net(), layer_name="body.features", batch_size=64, max_epochs=epochs,
                optimizer=torch.optim.Adam, lr=1e-3, train_split=None, verbose=0, **reg, **extra)
            net.fit(x, y, sample_domain=sample_domain)
            x_test, y_test = data[target]["test"]
            pred = net.predict(x_test, sample_domain=-np.ones(len(x_test), dtype=np.int64))
            print(json.dumps({"lib": "skada", "method": method, "pair": f"{source}:{target}",
                              "target_acc": float((np.asarray(pred) == y_test).mean())}),
                  flush=True)


# --- the timed parts -------------------------------------------------------------------------

def timed(command: list[str], env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, **(env or {})))
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def da_sweeps(domains: tuple[str, ...], overrides: list[str], sweep_dir: Path) -> float:
    """One `da-train -m` per source domain into ``sweep_dir``; their summed wall time."""
    total = 0.0
    for source in domains:
        targets = ",".join(f"bow_{t}" for t in domains if t != source)
        seconds, _ = timed([sys.executable, "-m", "da.train", "-m", "hydra/launcher=parallel",
                            f"source=bow_{source}", f"target={targets}", *overrides,
                            f"hydra.sweep.dir={sweep_dir}/{source}"])
        total += seconds
    return total


def da_runs(sweep_dir: Path) -> list[dict]:
    import yaml
    runs = []
    for metrics_path in sorted(sweep_dir.rglob("metrics.json")):
        cfg = yaml.safe_load((metrics_path.parent / "config.yaml").read_text())
        metrics = json.loads(metrics_path.read_text())
        runs.append({"lib": "da", "method": cfg["method"]["name"], "seed": cfg["seed"],
                     "pair": f"{cfg['source']['domain']}:{cfg['target']['domain']}",
                     "target_acc": metrics["test/target_acc"],
                     "fit_s": metrics["time/fit_s"], "total_s": metrics["time/total_s"]})
    return runs


def overhead(repeats: int, epochs: int) -> dict:
    """The summary line of scripts/bench_overhead.py (da vs a plain loop, DANN, 50-unit MLP)."""
    _, out = timed([sys.executable, str(REPO / "scripts" / "bench_overhead.py"), "--epochs",
                    str(epochs), "--repeats", str(repeats), "trainer.enable_progress_bar=false"])
    return json.loads(out.strip().splitlines()[-1])


def provenance() -> str:
    import torch
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=REPO).stdout.strip()
    return (f"commit `{commit}`{' (with uncommitted changes)' if dirty else ''}, "
            f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def mean_acc(runs: list[dict], lib: str) -> str:
    by_method = {}
    for run in runs:
        if run["lib"] == lib:
            by_method.setdefault(run["method"], []).append(100 * run["target_acc"])
    return ", ".join(f"{m} {sum(v) / len(v):.1f}" for m, v in by_method.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "perf")
    parser.add_argument("--overhead-repeats", type=int, default=5)
    parser.add_argument("--skip-144", action="store_true", help="skip the 144-run sweep")
    parser.add_argument("--smoke", action="store_true",
                        help="2 domains (2 pairs), 1 epoch, 1 overhead repeat: check it runs")
    parser.add_argument("--skada-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    domains = DOMAINS[:2] if args.smoke else DOMAINS
    epochs = 1 if args.smoke else args.epochs
    if args.skada_loop:
        return skada_loop(domains, epochs, seed=0)
    args.out.mkdir(parents=True, exist_ok=True)
    args.provenance = provenance()  # before this run writes its own output files
    n = len(pairs(domains)) * len(METHODS)
    skada_s, out = timed([sys.executable, __file__, "--skada-loop", "--epochs", str(epochs),
                          *(["--smoke"] if args.smoke else [])],
                         env={"PYTHONPATH": os.pathsep.join(filter(None, [
                             str(Path(__file__).parent), str(REPO), os.environ.get("PYTHONPATH")]))})
    runs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    common = ["encoder=mlp", "seed=0", f"trainer.max_epochs={epochs}",
              "trainer.enable_progress_bar=false"]
    with tempfile.TemporaryDirectory() as tmp:
        da_s = da_sweeps(domains, [f"method={','.join(METHODS)}", *common], Path(tmp) / "36")
        runs += da_runs(Path(tmp) / "36")
        sweep144_s = None if args.skip_144 or args.smoke else da_sweeps(
            domains, ["experiment=amazon_bow_sweep", f"trainer.max_epochs={epochs}"],
            Path(tmp) / "144")
        n144 = len(list((Path(tmp) / "144").rglob("metrics.json")))
    over = overhead(1 if args.smoke else args.overhead_repeats, epochs)
    assert sum(r["lib"] == "da" for r in runs) == n, "a da job wrote no metrics.json"
    write_report(args, n, skada_s, da_s, runs, over, sweep144_s, n144)


def write_report(args, n, skada_s, da_s, runs, over, sweep144_s, n144) -> None:
    name = "sweep_vs_skada_smoke" if args.smoke else "sweep_vs_skada"
    (args.out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    command = "python scripts/bench_sweep_vs_skada.py " + " ".join(sys.argv[1:])
    lines = [f"# `da` sweep vs a skada loop: {n} runs\n",
             f"Command: `{command.strip()}`; {args.provenance}. Raw runs: `{name}.jsonl`.\n",
             "| setup | runs | wall time | per run | mean target acc (%) |", "|---|---|---|---|---|",
             f"| skada 0.6.0, one Python process | {n} | {skada_s:.1f} s | {skada_s / n:.2f} s | "
             f"{mean_acc(runs, 'skada')} |",
             f"| `da-train -m hydra/launcher=parallel`, one sweep per source | {n} | {da_s:.1f} s "
             f"| {da_s / n:.2f} s | {mean_acc(runs, 'da')} |", "",
             f"**Ratio da / skada: {da_s / skada_s:.2f}x** (aim <= 0.7x).", "",
             f"Per-run overhead against a plain PyTorch loop doing identical work "
             f"(scripts/bench_overhead.py, DANN, bow_dvd -> bow_electronics, median of "
             f"{args.overhead_repeats if not args.smoke else 1} repeats): da "
             f"{over['median_fit_s']['da']:.2f} s, plain {over['median_fit_s']['plain']:.2f} s, "
             f"**{over['ratio_da_over_plain']:.2f}x** (aim <= 1.15x); target accuracy "
             f"{over['target_acc']}."]
    if sweep144_s is not None:
        lines += ["", f"The 144-run sweep (`experiment=amazon_bow_sweep`, one sweep per source, "
                      f"{n144} runs): **{sweep144_s:.1f} s**."]
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
