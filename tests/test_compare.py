"""da-compare (da/results/compare.py) on synthetic sweep dirs and a mocked W&B API: numbers, failed and
incomplete runs listed by name, in-domain pairs out of the average, output files; results.png
(da/results/plot.py): bounded size, every label and cell drawn; redrawing from results.csv."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from da.results import compare, tables
from da.results.csv_file import read_runs
from tests.helpers import REPO

ACC = {  # (method, source, target) -> test/target_acc of seeds 0, 1, 2
    ("source_only", "bow_dvd", "bow_books"): [0.70, 0.72, 0.71],
    ("source_only", "bow_kitchen", "bow_dvd"): [0.60, 0.62, 0.64],
    ("dann", "bow_dvd", "bow_books"): [0.75, 0.77, 0.73],
    ("dann", "bow_kitchen", "bow_dvd"): [0.66, 0.66, 0.66],
    ("dann", "bow_dvd", "bow_dvd"): [0.90, 0.90, 0.90],  # in-domain: not in the average
}


def make_run(sweep: Path, num: int, method: str, source: str, target: str, seed: int,
             metrics: dict | None, resolved: bool = True) -> Path:
    """A job dir as da-train writes it (``metrics=None``: the job failed before the end)."""
    run = sweep / f"{num}_{method}-{source}_to_{target}-s{seed}"
    (run / ".hydra").mkdir(parents=True)
    config = {"method": {"name": method}, "source": {"name": source},
              "target": {"name": target}, "seed": seed}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    if resolved:
        (run / "config.yaml").write_text(yaml.safe_dump(config))
    if metrics is not None:
        (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.fixture
def sweep(tmp_path) -> Path:
    num = 0
    for (method, source, target), accs in ACC.items():
        for seed, acc in enumerate(accs):
            make_run(tmp_path, num, method, source, target, seed,
                     {"test/target_acc": acc, "val/source_acc": 0.8})
            num += 1
    (tmp_path / ".submitit" / "123").mkdir(parents=True)  # launcher files are not runs
    (tmp_path / "multirun.yaml").write_text("{}\n")
    return tmp_path


def row_of(text: str, method: str) -> list[str]:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"| {method} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def test_table_numbers_average_and_files(sweep, capsys):
    assert compare.main([str(sweep)]) == 0
    out = capsys.readouterr().out
    header = [c.strip() for c in out.splitlines()[2].strip("|").split("|")]
    assert header[-2] == "bow_dvd → bow_dvd (in-domain)"  # in-domain pairs come last
    for method in ("source_only", "dann"):
        row = row_of(out, method)
        pair_means = []
        for pair, cell in zip(header[1:-1], row[1:-1]):
            source, _, target = pair.split(" (")[0].partition(" → ")
            accs = ACC.get((method, source, target))
            if accs is None:
                assert cell == "–"
                continue
            mean, std = 100 * statistics.mean(accs), 100 * statistics.stdev(accs)
            assert cell == f"{mean:.1f} ± {std:.1f}"
            if source != target:
                pair_means.append(mean)
        assert row[-1] == f"{statistics.mean(pair_means):.1f}"
    assert "3 run(s) per cell" in out and "FAILED" not in out
    rows = list(csv.DictReader(open(sweep / "results.csv")))
    assert len(rows) == 15 and {r["status"] for r in rows} == {"finished"}
    assert float(rows[0]["test/target_acc"]) in [a for v in ACC.values() for a in v]
    assert (sweep / "results.md").read_text() in out
    if importlib.util.find_spec("matplotlib"):  # the plot is skipped (with a note) without it
        assert (sweep / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_and_incomplete_runs_are_listed_by_name(tmp_path, capsys):
    make_run(tmp_path, 0, "dann", "bow_dvd", "bow_books", 0, {"test/target_acc": 0.7})
    make_run(tmp_path, 1, "dann", "bow_dvd", "bow_books", 1, None)          # crashed in training
    make_run(tmp_path, 2, "dann", "bow_dvd", "bow_books", 2, None, resolved=False)  # before
    make_run(tmp_path, 3, "mmd", "bow_dvd", "bow_books", 0, {"val/source_acc": 0.8})
    make_run(tmp_path, 4, "mmd", "bow_dvd", "bow_books", 1, {"test/target_acc": None})  # NaN
    assert compare.main([str(tmp_path), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "FAILED runs (2" in out
    assert "1_dann-bow_dvd_to_bow_books-s1" in out and "2_dann-bow_dvd_to_bow_books-s2" in out
    assert "without `test/target_acc` (2)" in out
    assert "3_mmd-bow_dvd_to_bow_books-s0" in out and "4_mmd-bow_dvd_to_bow_books-s1" in out
    assert row_of(out, "dann")[1] == "70.0 ± 0.0"
    rows = list(csv.DictReader(open(tmp_path / "report" / "results.csv")))
    assert sorted(r["status"] for r in rows) == ["failed"] * 2 + ["finished"] * 3


def test_no_usable_run_exits_1_and_lists_them(tmp_path, capsys):
    make_run(tmp_path, 0, "dann", "bow_dvd", "bow_books", 0, None)
    assert compare.main([str(tmp_path), "--no-plot"]) == 1
    assert "0_dann-bow_dvd_to_bow_books-s0" in capsys.readouterr().out


def test_loss_metrics_are_not_percentages(sweep, capsys):
    for i, run in enumerate(sorted(p for p in sweep.iterdir() if (p / "metrics.json").exists())):
        (run / "metrics.json").write_text(json.dumps({"train/loss_cls": 0.5 + i % 3 * 0.1}))
    compare.main([str(sweep), "--metric", "train/loss_cls", "--no-plot"])
    out = capsys.readouterr().out
    assert "(%)" not in out and "0.6000 ± 0.1000" in out


class FakeApi:
    """``wandb.Api`` stand-in: ``runs(path, filters)`` over canned runs."""

    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return self._runs


def fake_run(name, method, seed, acc, state="finished"):
    config = {"method/name": method, "source/name": "bow_dvd", "target/name": "bow_books",
              "seed": seed}
    summary = {"test/target_acc": acc, "val/source_acc": {"max": 0.9, "last": 0.85},
               "_runtime": 3.0} if acc is not None else {"_runtime": 1.0}
    return SimpleNamespace(name=name, config=config, summary_metrics=summary, state=state)


def test_wandb_project_through_mocked_api(tmp_path, capsys, monkeypatch):
    import wandb
    api = FakeApi([fake_run("dann-a-s0", "dann", 0, 0.70), fake_run("dann-a-s1", "dann", 1, 0.74),
                   fake_run("mmd-a-s0", "mmd", 0, None, state="crashed")])
    monkeypatch.setattr(wandb, "Api", lambda: api)
    assert compare.main(["--wandb", "me/da", "--group", "amazon_bow_sweep",
                         "--out", str(tmp_path), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert api.calls == [("me/da", {"group": "amazon_bow_sweep"})]
    assert row_of(out, "dann")[1:] == [f"72.0 ± {100 * statistics.stdev([0.70, 0.74]):.1f}",
                                       "72.0"]
    assert "FAILED runs (1" in out and "mmd-a-s0" in out
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert {r["val/source_acc"] for r in rows} == {"0.85", ""}  # "last" of a max,last summary


def test_nested_wandb_config_is_read_too():
    from da.run.tracking import fetch_runs
    run = SimpleNamespace(name="r", state="finished", summary_metrics={"test/target_acc": 0.5},
                          config={"method": {"name": "coral"}, "source.name": "bow_dvd",
                                  "target": {"name": "bow_books"}, "seed": {"value": 2}})
    (row,) = fetch_runs("e/p", api=FakeApi([run]))
    assert (row["method"], row["source"], row["target"], row["seed"]) == \
        ("coral", "bow_dvd", "bow_books", 2)


def test_script_wrapper_and_arguments(sweep):
    out = sweep / "report"
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_runs.py"),
                             str(sweep), "--out", str(out), "--no-plot"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "results.md").read_text() in result.stdout
    with pytest.raises(SystemExit):
        compare.parse_args([])  # neither a sweep dir nor --wandb


def test_runs_pooled_with_the_same_seed_are_flagged(tmp_path, capsys):
    for num, acc in enumerate((0.7, 0.8)):  # e.g. two Optuna trials, both seed 0
        make_run(tmp_path, num, "dann", "bow_dvd", "bow_books", 0, {"test/target_acc": acc})
    compare.main([str(tmp_path), "--no-plot"])
    assert "WARNING: several runs with the same seed were pooled" in capsys.readouterr().out


# --- results.png: a heatmap + sorted averages, bounded in size, every label and number drawn ---

AMAZON_METHODS = ["bnm", "cdan", "cdan_e", "coral", "dann", "dann_entropy", "entropy", "jmmd",
                  "mcc", "mcd", "mmd", "source_only"]
AMAZON_PAIRS = [f"bow_{s} → bow_{t}" for s in ("books", "dvd", "electronics", "kitchen")
                for t in ("books", "dvd", "electronics", "kitchen") if s != t]


def synthetic_table(methods: list[str], pairs: list[str], metric: str = "test/target_acc",
                    seeds: int = 3) -> tables.Table:
    """Every (method, pair) cell with ``seeds`` values between 0.5 and 0.9."""
    rng = random.Random(0)
    cells = {(m, p): [rng.uniform(0.5, 0.9) for _ in range(seeds)] for m in methods for p in pairs}
    return tables.Table(metric, cells, list(methods), list(pairs), [], [])


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG header."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def drawn_texts(fig) -> dict[str, list]:
    """Text → its artists, for every visible text that lies wholly inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    texts: dict[str, list] = defaultdict(list)
    for text in fig.findobj(Text):
        box = text.get_window_extent(canvas.get_renderer())
        if text.get_visible() and text.get_text() and box.x0 >= -1 and box.y0 >= -1 \
                and box.x1 <= fig.bbox.x1 + 1 and box.y1 <= fig.bbox.y1 + 1:
            texts[text.get_text()].append(text)
    return texts


def test_plot_of_a_12_methods_x_13_columns_table_is_bounded_and_labelled(tmp_path):
    pytest.importorskip("matplotlib")
    from da.results import plot as compare_plot
    table = synthetic_table(AMAZON_METHODS, AMAZON_PAIRS)
    fig = compare_plot.plot(table, tmp_path / "results.png")
    width, height = png_size(tmp_path / "results.png")
    assert 1200 <= width <= 2400 and 600 <= height <= 2400, (width, height)  # was 10296 × 540
    texts = drawn_texts(fig)
    for label in [*AMAZON_METHODS, *AMAZON_PAIRS, "average"]:
        assert label in texts, f"{label!r} is not drawn inside the figure"
    for method in AMAZON_METHODS:
        for pair in AMAZON_PAIRS:
            mean, std, _ = table.cell(method, pair)
            drawn = texts[f"{mean:.1f}\n± {std:.1f}"]  # mean ± std over seeds, in every cell
            assert len(drawn) == 1, f"{method} / {pair}: no 'mean ± std' drawn in its cell"
            assert drawn[0].get_fontsize() >= 8
        assert f"{table.average(method):.1f}" in texts  # the average column
    heatmap = fig.axes[0]
    rows = [t.get_text() for t in heatmap.get_yticklabels()]
    assert rows == sorted(AMAZON_METHODS, key=lambda m: -table.average(m))  # best on top
    assert "difference to source_only" in fig.get_suptitle()


@pytest.mark.parametrize("methods, pairs", [(40, 60), (1, 1)])
def test_plot_stays_bounded_for_any_table_size(tmp_path, methods, pairs):
    pytest.importorskip("matplotlib")
    from da.results import plot as compare_plot
    names = [f"method_{i}" for i in range(methods)]
    table = synthetic_table(names, [f"domain_{i} → domain_{i + 1}" for i in range(pairs)])
    fig = compare_plot.plot(table, tmp_path / "results.png")
    width, height = png_size(tmp_path / "results.png")
    assert 900 <= width <= 2400 and 400 <= height <= 2400, (width, height)
    texts = drawn_texts(fig)
    assert all(name in texts for name in [*names, *table.pairs]), "a label is not drawn"


def test_plot_labels_an_oracle_metric_and_colours_a_loss_by_value(tmp_path):
    pytest.importorskip("matplotlib")
    from da.results import plot as compare_plot
    oracle = synthetic_table(AMAZON_METHODS[:3], AMAZON_PAIRS[:2], metric="val/target_acc_oracle")
    fig = compare_plot.figure(oracle)
    assert "ORACLE val/target_acc_oracle" in fig.get_suptitle()
    assert "ORACLE" in fig.axes[1].get_xlabel()
    loss = synthetic_table(["dann", "source_only"], AMAZON_PAIRS[:2], metric="train/loss_cls")
    labels = [ax.get_xlabel() for ax in compare_plot.figure(loss).axes]
    assert "train/loss_cls" in labels and "difference" not in " ".join(labels)


def test_from_csv_redraws_the_plot_only(sweep, tmp_path, capsys):
    make_run(sweep, 99, "dann", "bow_dvd", "bow_books", 9, None)  # failed: listed both times
    assert compare.main([str(sweep), "--no-plot"]) == 0
    first = capsys.readouterr().out
    assert "FAILED runs (1" in first
    before = (sweep / "results.csv").read_bytes()
    out = tmp_path / "again"
    assert compare.main(["--from-csv", str(sweep / "results.csv"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.split("\nwritten:")[0] == first.split("\nwritten:")[0]
    assert (sweep / "results.csv").read_bytes() == before
    expected = {"results.png"} if importlib.util.find_spec("matplotlib") else set()
    assert {p.name for p in out.iterdir()} == expected


@pytest.mark.parametrize("png_path", sorted(str(p.relative_to(REPO)) for p in
                                            (REPO / "experiments").rglob("results.png")))
def test_committed_pngs_can_be_redrawn_from_their_csv(png_path):
    """The CSV beside each committed results.png gives back its results.md (bench: less the
    reference row), so ``da-compare --from-csv`` redraws the same table."""
    folder = REPO / Path(png_path).parent
    runs = [compare.Run(**r) for r in read_runs(folder / "results.csv")]
    text = compare.markdown(compare.build_table(runs, "test/target_acc"))
    committed = [ln for ln in (folder / "results.md").read_text().splitlines()
                 if not ln.startswith("| *")]
    assert text.splitlines() == committed


def test_append_grows_one_table_across_slices_and_refuses_a_run_twice(tmp_path, capsys):
    """Slices of a table run in different sessions: --append adds each to one results.csv."""
    table = tmp_path / "table" / "results.csv"
    first, second = tmp_path / "slice1", tmp_path / "slice2"
    make_run(first, 0, "dann", "bow_dvd", "bow_books", 0, {"test/target_acc": 0.75})
    make_run(second, 0, "dann", "bow_dvd", "bow_books", 1, {"test/target_acc": 0.77})
    make_run(second, 1, "source_only", "bow_dvd", "bow_books", 0, {"test/target_acc": 0.70})
    assert compare.main([str(first), "--append", str(table), "--no-plot"]) == 0  # creates it
    assert compare.main([str(second), "--append", str(table), "--no-plot"]) == 0
    capsys.readouterr()
    rows = read_runs(table)
    assert sorted((r["method"], r["seed"], r["metrics"]["test/target_acc"]) for r in rows) == [
        ("dann", 0, 0.75), ("dann", 1, 0.77), ("source_only", 0, 0.70)]
    assert row_of((table.parent / "results.md").read_text(), "dann")[1] == "76.0 ± 1.4 (n=2)"
    before = table.read_bytes()
    with pytest.raises(SystemExit, match="dann-bow_dvd_to_bow_books-s1 is in .* already"):
        compare.main([str(second), "--append", str(table), "--no-plot"])
    assert table.read_bytes() == before  # nothing written, nothing counted twice


def test_run_slice_script_adds_a_slice_and_its_record(tmp_path, data_dir):
    """scripts/run_slice.sh: a sweep, its runs appended to the table, a RUN.md record; the same
    slice again is refused and leaves the table as it was."""
    table, runs = tmp_path / "table", tmp_path / "runs"
    env = {**os.environ, "PYTHON": sys.executable, "SLICE_LAUNCHER": "basic",
           "SLICE_ALLOW_DIRTY": "1", "DA_DATA_DIR": str(data_dir)}
    command = ["bash", str(REPO / "scripts" / "run_slice.sh"), str(table), str(runs),
               "source=bow_dvd", "target=bow_books", "encoder=mlp", "method=source_only",
               "seed=0,1", "source.max_examples=200", "target.max_examples=200",
               "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_runs(table / "results.csv")
    assert sorted((r["method"], r["source"], r["target"], r["seed"]) for r in rows) == [
        ("source_only", "bow_dvd", "bow_books", 0), ("source_only", "bow_dvd", "bow_books", 1)]
    assert all(0.5 < r["metrics"]["test/target_acc"] <= 1 for r in rows)
    record = (table / "RUN.md").read_text()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=REPO).stdout.strip()
    assert f"commit `{commit}`" in record and "method=source_only seed=0,1" in record
    assert "runs: 2 finished of 2 job dirs" in record
    before = (table / "results.csv").read_bytes()
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode != 0 and "already" in again.stderr
    assert (table / "results.csv").read_bytes() == before


def test_run_slice_allows_only_its_tables_own_files_uncommitted(tmp_path):
    """Slices of one session append to the table between commits: run_slice.sh accepts an
    uncommitted results.csv / results.md / RUN.md of its table, and refuses any other change
    (it could alter the training code). Python is a stub here: only the check is tested."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "run_slice.sh", repo / "scripts" / "run_slice.sh")
    table = repo / "experiments" / "table"
    table.mkdir(parents=True)
    (table / "results.csv").write_text("method,seed\n")
    (repo / "code.py").write_text("x = 1\n")
    stub = tmp_path / "python"
    stub.write_text("#!/usr/bin/env bash\necho stub\n")
    stub.chmod(0o755)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "table"]):
        subprocess.run(git + args, cwd=repo, check=True)
    env = {**os.environ, "PYTHON": str(stub)}
    env.pop("SLICE_ALLOW_DIRTY", None)

    def slice_():
        return subprocess.run(["bash", "scripts/run_slice.sh", "experiments/table",
                               str(tmp_path / "runs"), "method=dann"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=60)

    (table / "results.csv").write_text("method,seed\ndann,0\n")  # a previous slice's rows
    done = slice_()
    assert done.returncode == 0, done.stderr
    assert "uncommitted" not in (table / "RUN.md").read_text()
    assert "results.csv/results.md/RUN.md differ from it" in (table / "RUN.md").read_text()
    (repo / "code.py").write_text("x = 2\n")  # a change to the code
    refused = slice_()
    assert refused.returncode == 2 and "uncommitted changes" in refused.stderr


def test_collapses_are_marked_in_the_table(tmp_path, capsys):
    """Issue #26's collapse: `†` where a run's select/prior_kl > 0.05 (the label-free guard),
    `↓` where the mean accuracy is > 3 points below source_only's on the pair; cells without
    prior_kl are not judged by the guard, and the notes name the drops the guard missed."""
    pair, other = ("bow_dvd", "bow_books"), ("bow_kitchen", "bow_books")
    runs = [("source_only", pair, 0.75, 0.01), ("source_only", other, 0.70, None),
            ("mcd", pair, 0.60, 0.30),    # collapsed to one class: both marks
            ("mcc", pair, 0.71, 0.02),    # 4 points lower, class mix kept: ↓ only
            ("mmd", pair, 0.72, 0.06),    # within 3 points, guard fires: † only
            ("bnm", pair, 0.73, 0.04),    # 2 points lower, guard quiet: no mark
            ("dann", other, 0.60, None)]  # no prior_kl logged: ↓, not judged by the guard
    for num, (method, (source, target), acc, kl) in enumerate(runs):
        metrics = {"test/target_acc": acc} | ({} if kl is None else {"select/prior_kl": kl})
        make_run(tmp_path, num, method, source, target, 0, metrics)
    assert compare.main([str(tmp_path), "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert row_of(text, "mcd")[1] == "60.0 ± 0.0 †↓"
    assert row_of(text, "mcc")[1] == "71.0 ± 0.0 ↓"
    assert row_of(text, "mmd")[1] == "72.0 ± 0.0 †"
    assert row_of(text, "bnm")[1] == "73.0 ± 0.0"
    assert row_of(text, "dann")[2] == "60.0 ± 0.0 ↓"
    assert row_of(text, "source_only")[1:3] == ["75.0 ± 0.0", "70.0 ± 0.0"]
    assert "2 of the 5 cells with it logged are flagged; 2 cells without it" in text
    (missed,) = [ln for ln in text.splitlines() if ln.startswith("↓")]
    assert "(3 cells;" in missed
    assert "Not flagged by the guard: mcc / bow_dvd → bow_books" in missed
    assert "dann" not in missed  # it was not judged, so not "missed"


def test_settings_are_rows_not_pooled_cells(tmp_path, capsys):
    """Issue #27: two settings of a method (a sweep over one of its keys) are two rows with
    their setting in results.csv; plumbing overrides (launcher, logger, validators) and the
    experiment are not settings. Appending the same seed in another setting is allowed."""
    def job(num, method, seed, acc, overrides):
        run = make_run(tmp_path / "sweep", num, method, "bow_dvd", "bow_books", seed,
                       {"test/target_acc": acc})
        (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(
            [f"method={method}", f"seed={seed}", "source=bow_dvd", "target=bow_books",
             "experiment=amazon_bow_sweep", "hydra/launcher=parallel", "logger=csv",
             "validators.enabled=true", *overrides]))

    for num, (value, seed, acc) in enumerate([(0.1, 0, 0.70), (0.1, 1, 0.72),
                                              (1.0, 0, 0.60), (1.0, 1, 0.62)]):
        job(num, "dann", seed, acc, [f"method.loss.coeff.value={value}"])
    job(4, "source_only", 0, 0.72, [])
    assert compare.main([str(tmp_path / "sweep"), "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert row_of(text, "dann [method.loss.coeff.value=0.1]")[1] == "71.0 ± 1.4 (n=2)"
    assert row_of(text, "dann [method.loss.coeff.value=1.0]")[1] == "61.0 ± 1.4 (n=2) ↓"
    assert row_of(text, "source_only")[1] == "72.0 ± 0.0 (n=1)"
    assert "pooled" not in text
    rows = read_runs(tmp_path / "sweep" / "results.csv")
    assert sorted({r["setting"] for r in rows}) == [
        "", "method.loss.coeff.value=0.1", "method.loss.coeff.value=1.0"]
    # read back from the CSV: the same rows
    again = compare.markdown(compare.build_table([compare.Run(**r) for r in rows],
                                                 "test/target_acc"))
    assert row_of(again, "dann [method.loss.coeff.value=1.0]")[1] == "61.0 ± 1.4 (n=2) ↓"
