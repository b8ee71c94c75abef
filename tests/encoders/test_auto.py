"""`encoder=auto`, the default: the encoder follows the data (da/config/auto_encoder.py)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from da.run.build import build_datamodule
from da.errors import ConfigError
from tests.helpers import assert_clean_error, da_train, job_dirs, metrics_of, run_of, sweep_dir

SHORT = ["trainer.max_epochs=1", "trainer.enable_progress_bar=false", "source.max_examples=300",
         "target.max_examples=300"]


@pytest.mark.parametrize("overrides,encoder", [
    ([], "minilm"),  # the main job: rt_polarity -> cr, text
    (["source=bow_books", "target=bow_kitchen"], "mlp"),
    (["source=mnist", "target=usps"], "lenet"),
    (["source=features", "source.path=a.npz", "target=features", "target.path=b.npz"], "mlp"),
    (["target=file", "target.path=b.csv"], "minilm"),
    (["source=bow_books", "target=bow_kitchen", "encoder=auto"], "mlp"),
    (["source=rt_polarity", "target=cr", "encoder=mlp"], "mlp"),  # an explicit choice wins
    (["experiment=mnist_to_usps"], "lenet"),  # so does an experiment's
])
def test_auto_picks_the_encoder_of_the_data(compose_cfg, overrides, encoder):
    cfg = compose_cfg(overrides)
    assert cfg.encoder.name == encoder and cfg.encoder.input != "auto"


def test_the_main_job_is_the_explicit_minilm_run(compose_cfg):
    auto = OmegaConf.to_container(compose_cfg([]), resolve=True)
    assert auto == OmegaConf.to_container(compose_cfg(["encoder=minilm"]), resolve=True)


def test_overrides_of_encoder_keys_apply_to_the_chosen_encoder(compose_cfg):
    cfg = compose_cfg(["encoder.lr_scale=0.5", "encoder.freeze=4"])
    assert (cfg.encoder.name, cfg.encoder.lr_scale, cfg.encoder.freeze) == ("minilm", 0.5, 4)
    cfg = compose_cfg(["source=mnist", "target=usps", "encoder.model.dropout=0.2"])
    assert (cfg.encoder.name, cfg.encoder.model.dropout) == ("lenet", 0.2)
    with pytest.raises(ConfigError, match=r"encoder.freeze=4: encoder=auto \(the default\) chose "
                                          r"encoder=mlp for this run's vectors domains, and "
                                          r"encoder mlp has no key 'encoder.freeze'"):
        compose_cfg(["source=bow_books", "target=bow_kitchen", "encoder.freeze=4"])


@pytest.mark.parametrize("argv,expected", [
    (["encoder.freeze=4", "--cfg", "job"], ["encoder.freeze=4", "encoder=minilm", "--cfg", "job"]),
    (["source=bow_books", "encoder=auto", "target=bow_kitchen"],
     ["source=bow_books", "target=bow_kitchen", "encoder=mlp"]),
    (["-m", "seed=0,1", "source=mnist", "target=usps"],  # one pair: resolved for every job
     ["-m", "seed=0,1", "source=mnist", "target=usps", "encoder=lenet"]),
    (["-m", "source=bow_dvd,mnist"], None),  # a sweep over domains: per job
    (["-m", "encoder=mlp,minilm"], None),  # a sweep over encoders
    (["encoder=mlp"], None),  # explicit
    (["experiment=mnist_to_usps"], None),  # the experiment names lenet
    (["source=bow_boks"], None),  # Hydra's own error, with the options
    (["--help"], None),
])
def test_da_train_argv_names_the_encoder_before_hydra_composes(tmp_path, argv, expected):
    from da.config.auto_encoder import auto_encoder_argv
    from da.train import compose_plain

    assert auto_encoder_argv(argv, lambda o: compose_plain(o, tmp_path)) == (expected or argv)


def test_a_sweep_whose_sweeper_params_set_domains_is_resolved_per_job(tmp_path):
    from da.config.auto_encoder import auto_encoder_argv
    from da.train import compose_plain

    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "mixed.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      source: bow_dvd,mnist\n")
    argv = ["-m", f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "experiment=mixed"]
    assert auto_encoder_argv(argv, lambda o: compose_plain(o, tmp_path)) == argv
    single = argv[1:]  # a single run has one pair: rt_polarity -> cr
    assert auto_encoder_argv(single, lambda o: compose_plain(o, tmp_path))[-1] == "encoder=minilm"


@pytest.mark.parametrize("encoder", [[], ["encoder=mlp"]])
def test_domains_of_different_modalities_are_refused(compose_cfg, encoder):
    """With auto when composing; with an explicit encoder before any data is read."""
    message = (r"source 'bow_books' holds vectors but target 'cr' holds text; a source and a "
               r"target must hold the same kind of data")
    with pytest.raises(ConfigError, match=message):
        build_datamodule(compose_cfg(["source=bow_books", "target=cr", *encoder,
                                      "data_dir=/nonexistent"]))


@pytest.mark.slow
@pytest.mark.parametrize("pair,encoder", [(["source=bow_books", "target=bow_kitchen"], "mlp"),
                                          (["source=mnist", "target=usps"], "lenet")])
def test_da_train_just_runs_on_vectors_and_images(data_dir, tmp_path, pair, encoder):
    result = da_train([*pair, *SHORT], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    name = "dann-{}_to_{}-s0".format(pair[0].split("=")[1], pair[1].split("=")[1])
    assert f"[da] {name}: " in result.stdout and f"| encoder {encoder}\n" in result.stdout
    run = run_of(tmp_path)
    assert run.parent.name == name  # the run name keeps <method>-<source>_to_<target>-s<seed>
    config = OmegaConf.load(run / "config.yaml")
    assert config.encoder.name == encoder and "auto" not in OmegaConf.to_yaml(config.encoder)
    assert f"encoder={encoder}" in OmegaConf.load(run / ".hydra" / "overrides.yaml")
    metrics = metrics_of(tmp_path)
    assert metrics["meta/encoder"] == encoder and metrics["test/target_acc"] > 0


@pytest.mark.slow
def test_each_job_of_a_sweep_over_domains_follows_its_own(data_dir, tmp_path):
    result = da_train(["-m", "source=bow_dvd,bow_books", "target=bow_electronics", *SHORT,
                       "encoder.lr_scale=0.5"], tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_dirs(sweep_dir(tmp_path))
    assert [job.name for job in jobs] == ["0_dann-bow_dvd_to_bow_electronics-s0",
                                          "1_dann-bow_books_to_bow_electronics-s0"]
    for job in jobs:
        encoder = OmegaConf.load(job / "config.yaml").encoder
        assert (encoder.name, encoder.input, encoder.lr_scale) == ("mlp", "vectors", 0.5)


def test_different_modalities_through_the_cli(tmp_path):
    result = da_train(["source=bow_books", "target=cr"], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "source 'bow_books' holds vectors but target 'cr' holds text")
