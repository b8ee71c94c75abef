"""da-tune: settings grouped from a sweep's job dirs, ranked by a label-free score, never by the oracle."""

from __future__ import annotations

import json

import pytest
import yaml

from da.results.tune import main, parse_pairs, score_settings
from tests.helpers import da_train


def _job(root, name, overrides, dev, source_acc, target_acc, finished=True, prior_kl=None):
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / "config.yaml").write_text(yaml.safe_dump(
        {"method": {"name": "dann"}, "source": {"name": "a"}, "target": {"name": "b"}, "seed": 0}))
    if finished:
        metrics = {"select/dev": dev, "val/source_acc": source_acc, "test/target_acc": target_acc}
        if prior_kl is not None:
            metrics["select/prior_kl"] = prior_kl
        (job / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "sweep"
    common = ["method=dann", "seed=0", "source=a", "target=b", "validators.enabled=true"]
    # low DEV but the worse oracle: the label-free score must win
    _job(root, "0_x", [*common, "method.loss.coeff.value=0.3"], 0.1, 0.8, 0.60)
    _job(root, "1_x", [*common, "method.loss.coeff.value=0.3", "seed=1"], 0.3, 0.8, 0.62)
    _job(root, "2_x", [*common, "method.loss.coeff.value=1"], 0.5, 0.8, 0.90)
    _job(root, "3_x", [*common, "method.loss.coeff.value=3"], 0.0, 0.8, 0.90, finished=False)
    return root


def test_settings_are_ranked_by_the_label_free_score_not_the_oracle(sweep):
    settings = score_settings([sweep], "dev")
    assert [s.overrides for s in settings] == [
        "method=dann method.loss.coeff.value=0.3", "method=dann method.loss.coeff.value=1",
        "method=dann method.loss.coeff.value=3"]
    best = settings[0]
    assert best.scores == [0.1, 0.3] and best.mean(best.oracle_target_acc) == pytest.approx(0.61)
    assert settings[2].failed == 1 and not settings[2].scores  # unfinished: listed, never chosen


def test_table_only_writes_the_ranked_tables(sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--table-only", "--sweep-dir", str(sweep), "--out", str(out)]) == 0
    table = (out / "tune.md").read_text()
    assert "| 1 | `method.loss.coeff.value=0.3` | 0.2000" in table
    assert "oracle" in table and "Common to every setting: `method=dann`" in table
    assert "chosen: method=dann method.loss.coeff.value=0.3" in capsys.readouterr().out
    rows = (out / "tune.csv").read_text().splitlines()
    assert rows[0].startswith("setting,score_dev_mean") and len(rows) == 4


def test_bad_pairs_and_empty_sweeps_are_clear_errors(tmp_path):
    assert parse_pairs(["bow_books:bow_kitchen"]) == [("bow_books", "bow_kitchen")]
    with pytest.raises(SystemExit, match="SOURCE:TARGET"):
        parse_pairs(["bow_books"])
    (tmp_path / "empty").mkdir()
    assert main(["--table-only", "--sweep-dir", str(tmp_path / "empty")]) == 1


def test_collapsed_settings_are_set_aside_whatever_their_score(tmp_path, capsys):
    root = tmp_path / "sweep"
    common = ["method=entropy", "seed=0", "source=a", "target=b"]
    # the best DEV, but one of its runs pushes the target into one class
    _job(root, "0_x", [*common, "w=1"], 0.1, 0.8, 0.55, prior_kl=0.01)
    _job(root, "1_x", [*common, "w=1", "seed=1"], 0.1, 0.8, 0.55, prior_kl=0.4)
    _job(root, "2_x", [*common, "w=0.1"], 0.5, 0.8, 0.75, prior_kl=0.02)
    _job(root, "3_x", [*common, "w=3"], 0.0, 0.8, 0.50, prior_kl=0.9)
    ranked = score_settings([root], "dev", max_prior_kl=0.05)
    assert [s.overrides.split()[-1] for s in ranked] == ["w=0.1", "w=1", "w=3"]
    assert ranked[1].worst_prior_kl == 0.4 and ranked[1].collapsed(0.05)
    assert [s.overrides.split()[-1] for s in score_settings([root], "dev", float("inf"))] == [
        "w=3", "w=1", "w=0.1"]  # guard off: DEV alone
    out = tmp_path / "out"
    assert main(["--table-only", "--sweep-dir", str(root), "--out", str(out)]) == 0
    table = (out / "tune.md").read_text()
    assert "| 1 | `w=0.1` |" in table and "0.400 **collapsed**" in table
    assert "warning" not in capsys.readouterr().err
    assert main(["--table-only", "--sweep-dir", str(root), "--out", str(out),
                 "--max-prior-kl", "0.001"]) == 0  # nothing passes: least collapsed, warned
    captured = capsys.readouterr()
    assert "chosen: method=entropy w=0.1" in captured.out
    assert "every setting collapses" in captured.err


def test_own_file_pairs_in_one_call(tmp_path, monkeypatch, capsys):
    """Issue #27: several pairs of the user's own files in one da-tune call, the kind of each
    file said (features=PATH), relative paths from the caller's directory, each pair named by
    its files, and the settings scored over both pairs."""
    import numpy as np

    from da.results.tables import collect

    rng = np.random.default_rng(0)
    for name, shift in (("a", 0.0), ("b", 0.4), ("c", 0.1), ("d", 0.6)):
        y = np.arange(400) % 2  # 400: 28 source validation rows >= validators.min_samples
        x = rng.normal(size=(400, 5)) + shift + 2.0 * y[:, None]
        np.savez(tmp_path / f"{name}.npz", X=x, y=np.where(y == 1, "pos", "neg"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="GROUP one of file, features"):
        parse_pairs(["vectors=a.npz:features=b.npz"])
    out, sweeps = tmp_path / "out", tmp_path / "sweeps"
    code = main(["method=mmd", "method.weight.value=1,3", "encoder=mlp", "trainer.max_epochs=2",
                 "logger=none", "--pairs", "features=a.npz:features=b.npz",
                 "features=c.npz:features=d.npz", "--seeds", "0", "--out", str(out),
                 "--sweep-dir", str(sweeps)])
    assert code == 0, capsys.readouterr()
    assert sorted(p.name for p in sweeps.iterdir()) == ["a_to_b", "c_to_d"]
    runs = collect([sweeps])
    assert sorted({(r.source, r.target) for r in runs}) == [("a", "b"), ("c", "d")]
    assert all(r.finished for r in runs) and len(runs) == 4
    settings = score_settings([sweeps], "dev")
    # the pair's paths are not part of a setting: each setting has one run per pair
    assert sorted(o for s in settings for o in s.overrides.split()
                  if o.startswith("method.weight.value=")) == [
        "method.weight.value=1", "method.weight.value=3"]
    assert not any("path=" in s.overrides for s in settings)
    assert all(len(s.scores) == 2 for s in settings)


# --------------------------------------------------------------------------------------------
# --methods: the method is chosen too (issue #27, point 3)
# --------------------------------------------------------------------------------------------

def test_methods_and_their_grids_come_from_the_method_yamls(compose_cfg):
    from omegaconf import OmegaConf

    from da.results.method_grid import builtin_methods, method_grid, parse_methods

    assert parse_methods("dann,mmd") == ["source_only", "dann", "mmd"]
    assert parse_methods("mmd,source_only,mmd") == ["source_only", "mmd"]
    assert parse_methods("all") == builtin_methods() and builtin_methods()[0] == "source_only"
    assert len(builtin_methods()) == 14
    assert method_grid("mmd", []) == ["method=mmd", "method.weight.value=0.3,1.0,3.0"]
    assert method_grid("cdan_e", []) == [  # cdan's block, inherited
        "method=cdan_e", "method.loss.coeff.value=0.1,0.3,1.0"]
    assert method_grid("source_only", []) == ["method=source_only"]
    for name in builtin_methods()[1:]:  # small grids around each default
        cfg = compose_cfg([f"method={name}", "encoder=mlp"])
        grid = OmegaConf.to_container(cfg.method.tune)
        assert 1 <= len(grid) and all(2 <= len(v) <= 4 for v in grid.values()), name
        for key, values in grid.items():
            assert OmegaConf.select(cfg, key) in values, (name, key)
    with pytest.raises(SystemExit, match="method 'nope' cannot be composed"):
        method_grid("nope", [])


@pytest.mark.parametrize("tune, message", [(3, "'method.tune' is 3"),
                                           ({"method.weight.value": []}, "is \\[\\]")])
def test_a_malformed_tune_block_is_a_config_error(tune, message):
    from omegaconf import OmegaConf

    from da.config.checks import normalize_method
    from da.errors import ConfigError

    cfg = OmegaConf.create({"method": {"name": "m", "loss": None, "weight": 1.0, "tune": tune}})
    with pytest.raises(ConfigError, match=message):
        normalize_method(cfg)


def _tune_methods(folder, flip_target: bool) -> tuple[list[dict], str]:
    """da-tune --methods dann on a features pair a -> b written in ``folder``, b unlabeled and
    tested on the labeled b_test; with ``flip_target`` every label of b_test is the other class.
    (Not a labeled b with a seeded stratified split: flipping its labels would change the split.)
    Returns tune.csv's rows and chosen.txt."""
    import csv

    import numpy as np

    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, shift in (("a", 0.0), ("b", 0.6), ("b_test", 0.6)):
        y = np.arange(400) % 2
        x = rng.normal(size=(400, 5)) + shift + 2.0 * y[:, None]
        labels = 1 - y if name == "b_test" and flip_target else y
        np.savez(folder / f"{name}.npz", X=x, **({} if name == "b" else {
            "y": np.where(labels == 1, "pos", "neg")}))
    code = main(["--methods", "dann", "encoder=mlp", "trainer.max_epochs=2", "logger=none",
                 "target.label_column=null", f"target.test_path={folder / 'b_test.npz'}",
                 "--pairs", f"features={folder / 'a.npz'}:features={folder / 'b.npz'}",
                 "--seeds", "0", "--out", str(folder / "out"),
                 "--sweep-dir", str(folder / "sweeps")])
    assert code == 0
    assert sorted(p.name for p in (folder / "sweeps").iterdir()) == ["dann", "source_only"]
    with open(folder / "out" / "tune.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows, (folder / "out" / "chosen.txt").read_text().strip()


def test_methods_pick_never_reads_target_labels(tmp_path):
    """--methods on a pair, then on the same pair with every target label flipped: the same
    candidates, label-free scores and choice (only the oracle column changes); the chosen line
    names the pair and the chosen setting, and runs as it is."""
    rows, line = _tune_methods(tmp_path / "plain", flip_target=False)
    flipped, flipped_line = _tune_methods(tmp_path / "flipped", flip_target=True)
    assert len(rows) == 4  # source_only + dann's three reversal caps
    label_free = ("setting", "score_dev_mean", "worst_prior_kl", "source_acc_mean")
    assert [[r[k] for k in label_free] for r in rows] == \
        [[r[k].replace("flipped", "plain") for k in label_free] for r in flipped]
    assert [r["oracle_target_acc_mean"] for r in rows] != \
        [r["oracle_target_acc_mean"] for r in flipped]
    folder = tmp_path / "plain"
    assert line.startswith(f"da-train source=features source.path={folder / 'a.npz'} "
                           f"target=features target.path={folder / 'b.npz'} ")
    assert line.endswith(" " + rows[0]["setting"].split()[-1])  # e.g. method=source_only
    assert flipped_line == line.replace("plain", "flipped")
    result = da_train(line.split()[1:] + ["trainer.enable_progress_bar=false"],
                      tmp_path / "chosen_run", cwd=tmp_path)  # as printed, with the test file
    assert result.returncode == 0, result.stderr[-2000:]


def test_methods_exclude_a_method_override():
    with pytest.raises(SystemExit):
        main(["--methods", "dann", "method=mmd", "--pairs", "a:b"])
