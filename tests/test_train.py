"""End-to-end `da-train` on a real pair (small subsets) through the CLI: every method trains (each
group checked where its short run tells: target accuracy over chance, or the source task learned),
text domains through bag of words, one dir per multirun job, W&B's offline run files."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from tests.helpers import QUICK, TINY, da_train, majority_rate, metrics_of, run_dirs, run_of


@pytest.mark.slow
@pytest.mark.parametrize("method", ["source_only", "dann", "mmd", "coral"])
def test_da_train_each_method_beats_chance(data_dir, tmp_path, method):
    # 5 epochs (30 steps): CORAL at its tuned weight 10 is still at the majority after 2, and so
    # is DANN under its vectors recipe (SGD lr 0.03, annealed: 0.6275 after 5, measured)
    epochs = ["trainer.max_epochs=5"] if method in ("coral", "dann") else []
    result = da_train([*QUICK, f"method={method}", *epochs], tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("test/target_acc", "test/target_f1", "val/source_acc", "train/loss_cls",
                "train/loss_align", "train/align_weight", "time/total_s"):
        assert key in metrics, key
    assert "val/target_acc_oracle" not in metrics  # the per-epoch oracle pass is opt-in
    # bow_electronics' 400 test examples: a constant predictor gets 0.5025 (measured after the 2
    # epochs: 0.608-0.625; coral after 5: 0.5875)
    majority = majority_rate(run)
    assert metrics["test/target_acc"] >= majority + 0.05, (metrics["test/target_acc"], majority)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["method"]["name"] == method and config["source"]["name"] == "bow_dvd"
    assert (run / "csv" / "metrics.csv").is_file()
    assert f"[da] {method}-bow_dvd_to_bow_electronics-s0" in result.stdout
    # the summary names the encoder, and the recipe benchmark=auto merged for vectors (DANN's)
    recipe = {"dann": "vectors/dann"}.get(method)
    assert ("| encoder mlp" + (f" | recipe {recipe}" if recipe else "") + "\n") in result.stdout
    assert metrics["meta/recipe"] == (recipe or "none")
    if method == "source_only":
        assert metrics["train/loss_align"] == 0.0
    else:
        assert metrics["train/loss_align"] != 0.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["entropy", "bnm", "mcc", "dann_entropy"])
def test_prediction_method_learns_the_source_end_to_end(data_dir, tmp_path, method):
    result = da_train([*TINY, f"method={method}", "trainer.max_epochs=5", "data.oracle_val=true"],
                      tmp_path / "out",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "out")
    # It learned the source task with the alignment term on: the 30 source validation examples
    # are balanced (a constant predictor: 0.5; measured after 5 epochs: 0.70-0.73). Target
    # accuracy is no bound here: on 300 examples these methods stay near the majority rate
    # (entropy: 0.50-0.52 for 1-20 epochs), so the test checks that the reported number is the
    # final model's accuracy on the target test part instead.
    majority = majority_rate(run_of(tmp_path / "out"), "source_val")
    assert metrics["val/source_acc"] >= majority + 0.1, (metrics["val/source_acc"], majority)
    assert metrics["test/target_acc"] == pytest.approx(metrics["val/target_acc_oracle"], abs=1e-6)
    assert math.isfinite(metrics["train/loss_align"]) and metrics["train/loss_align"] != 0.0
    assert f"[da] {method}-bow_dvd_to_bow_electronics-s0" in result.stdout
    if method == "dann_entropy":
        for key in ("dann/disc_acc", "dann/grl_coeff", "dann/loss", "entropy/loss"):
            assert f"train/align/{key}" in metrics, key
        assert metrics["train/align/entropy/weight"] == pytest.approx(0.01)  # the yaml's


@pytest.mark.slow
@pytest.mark.parametrize("method", ["cdan", "cdan_e", "jmmd", "mcd"])
def test_conditional_or_mcd_method_beats_chance_end_to_end(data_dir, tmp_path, method):
    # 5 epochs: after 1 these methods are at the majority rate (0.497-0.530 vs 0.503)
    # jmmd at its tuned weight 3 collapses the features to a constant within these 25 steps
    # (loss_align 0, source val 0.57); the plumbing checked here runs it at weight 1
    weight = ["method.weight.value=1"] if method == "jmmd" else []
    # CDAN's and CDAN+E's vectors recipes (SGD) stay at the majority rate for these 5 epochs;
    # the plumbing is checked with their Adam defaults (the recipes adapt in test_adaptation.py)
    if method.startswith("cdan"):
        weight.append("benchmark=none")
    result = da_train([*TINY, f"method={method}", "trainer.max_epochs=5", *weight],
                      tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "out")
    # bow_electronics' 300 test examples: a constant predictor gets 0.503 (measured: 0.597-0.680)
    majority = majority_rate(run_of(tmp_path / "out"))
    assert metrics["test/target_acc"] >= majority + 0.05, (metrics["test/target_acc"], majority)
    for key in ("train/loss", "train/loss_cls", "train/loss_align", "train/align_weight",
                "val/source_acc", "test/target_loss"):
        assert math.isfinite(metrics[key]), key
    assert metrics["train/loss_align"] != 0.0
    assert f"[da] {method}-bow_dvd_to_bow_electronics-s0" in result.stdout
    if method.startswith("cdan"):
        assert 0.0 <= metrics["train/align/disc_acc"] <= 1.0
    if method == "cdan_e":
        assert 1.0 <= metrics["train/align/weight_min"] <= metrics["train/align/weight_max"] <= 2.0
    if method == "mcd":
        assert math.isfinite(metrics["train/align/discrepancy_generator"])


@pytest.mark.slow
def test_text_domains_go_through_bag_of_words(data_dir, tmp_path):
    result = da_train(["source=uci_imdb", "target=uci_amazon", "encoder=mlp", "method=mmd",
                       "trainer.max_epochs=15", "trainer.enable_progress_bar=false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run, metrics = run_of(tmp_path), metrics_of(tmp_path)
    majority = majority_rate(run)  # uci_amazon's test part is balanced: 0.5 (measured: 0.733)
    assert metrics["test/target_acc"] >= majority + 0.1, (metrics["test/target_acc"], majority)


@pytest.mark.slow
def test_multirun_gives_one_dir_per_job(data_dir, tmp_path):
    result = da_train(["-m", *QUICK, "method=source_only,coral", "seed=0,1",
                       "trainer.max_epochs=1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    names = sorted(p.name.split("_", 1)[1] for p in run_dirs(tmp_path))
    assert names == sorted(f"{m}-bow_dvd_to_bow_electronics-s{s}"
                           for m in ("source_only", "coral") for s in (0, 1))


@pytest.mark.slow
def test_wandb_offline_logger_writes_run_files(data_dir, tmp_path):
    result = da_train([*QUICK, "logger=wandb", "trainer.max_epochs=1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(tmp_path)
    offline = list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert offline, list(run.rglob("*"))


def test_metrics_record_the_commit_of_the_runs_start(data_dir, tmp_path, compose_cfg,
                                                     monkeypatch):
    """A long run records the commit its code came from, not HEAD when it ended (a commit made
    while it trained must not be credited with its numbers)."""
    import lightning as L

    from da.run import provenance
    from da.train import train
    trained = []  # HEAD "moves" once training has run
    fit = L.Trainer.fit
    monkeypatch.setattr(L.Trainer, "fit", lambda *a, **k: (fit(*a, **k), trained.append(1))[0])
    monkeypatch.setattr(provenance, "git_commit",
                        lambda *a, **k: "commit-at-end" if trained else "commit-at-start")
    metrics = train(compose_cfg([*TINY, "method=source_only", "logger=csv"]), tmp_path)
    assert metrics["meta/git_commit"] == "commit-at-start"
    assert json.loads((tmp_path / "metrics.json").read_text())["meta/git_commit"] == \
        "commit-at-start"
