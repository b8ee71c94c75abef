"""benchmark=auto: the recipes that follow the kind of data (da/config/auto_benchmark.py,
conf/recipe/vectors/). On vectors MCC, entropy, BNM, MCD, DANN, CDAN, CDAN+E and DANN+entropy
train under SGD with their label-free weights (their Adam defaults collapse there, or trip the
collapse guard: experiments/amazon_bow/optimizer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from da.config.auto_benchmark import choose_benchmark, recipe
from da.config.compose import CONFIG_DIR

BOW = ["source=bow_kitchen", "target=bow_dvd"]
SGD = {"optimizer._target_": "torch.optim.SGD", "optimizer.lr": 0.03, "optimizer.momentum": 0.9,
       "scheduler": {"_target_": "da.methods.lr_schedule.AnnealedLR", "_partial_": True,
                     "alpha": 10.0, "beta": 0.75},
       "scheduler_interval": "step"}
# What each vectors recipe changes from the method's own default (Adam); nothing else may change.
VECTOR_CHANGES = {
    "mcc": {**SGD, "method.weight.value": 0.1,
            "method.tune": {"method.weight.value": [0.03, 0.1, 0.3]}},
    "entropy": {**SGD, "method.weight.value": 0.1,
                "method.tune": {"method.weight.value": [0.03, 0.1, 0.3]}},
    "bnm": SGD,   # the weight under SGD is the Adam default's (0.1)
    "mcd": {**SGD, "method.weight.value": 0.03,
            "method.tune": {"method.weight.value": [0.01, 0.03, 0.1]}},
    "dann": {**SGD, "method.loss.objective": "confusion", "method.loss.coeff.value": 1.0},
    # chosen by the collapse guard (select/prior_kl > 0.05 under Adam, never under SGD)
    "cdan": SGD,   # lambda under SGD is the Adam default's (0.3)
    "cdan_e": {**SGD, "method.loss.coeff.value": 0.1},
    "dann_entropy": {**SGD, "method.loss.losses.dann.coeff.value": 0.1},
}
RECIPE_DIR = Path(CONFIG_DIR) / "recipe" / "vectors"


@pytest.fixture
def hydra_sources():
    """Hydra initialized on conf/ (the resolver reads the domain options from its sources)."""
    from hydra import initialize_config_dir
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("source,target,expected", [
    ("bow_books", "bow_kitchen", "vectors"), ("features", "features", "vectors"),
    ("rt_polarity", "cr", "none"), ("books", "kitchen", "none"), ("mnist", "usps", "none"),
    ("bow_books", "books", "none"),          # vectors -> text: no common kind
    ("no_such_domain", "bow_books", "none"),  # its own error comes once composed
])
def test_the_kind_of_data_picks_the_benchmark(hydra_sources, source, target, expected):
    assert choose_benchmark(source, target) == expected


def test_a_named_benchmark_is_kept(hydra_sources):
    assert recipe("adda_digits", "mcd", "bow_books", "bow_dvd") == "adda_digits/mcd"
    assert recipe("none", "mcc", "bow_books", "bow_dvd") == "none/mcc"
    assert recipe("auto", "mcc", "bow_books", "bow_dvd") == "vectors/mcc"
    assert recipe("auto", "mcc", "rt_polarity", "cr") == "none/mcc"


def test_every_vectors_recipe_is_checked():
    assert {path.stem for path in RECIPE_DIR.glob("*.yaml")} == set(VECTOR_CHANGES)


@pytest.mark.parametrize("method", sorted(VECTOR_CHANGES))
def test_each_vectors_recipe_changes_only_what_it_states(compose_cfg, method):
    with_recipe = OmegaConf.to_container(compose_cfg(BOW + [f"method={method}"]))
    without = OmegaConf.to_container(compose_cfg(BOW + [f"method={method}", "benchmark=none"]))
    assert without["optimizer"]["_target_"] == "torch.optim.Adam"
    for key, value in {**VECTOR_CHANGES[method], "recipe": f"vectors/{method}"}.items():
        assert OmegaConf.select(OmegaConf.create(with_recipe), key) == value, key
        assert OmegaConf.select(OmegaConf.create(without), key) != value, key
        OmegaConf.update(cfg := OmegaConf.create(without), key, value, merge=False)
        without = OmegaConf.to_container(cfg)
    assert with_recipe == without


@pytest.mark.parametrize("method", ["source_only", "mmd", "jmmd", "coral", "shot", "adda"])
def test_methods_without_a_vectors_recipe_keep_their_defaults(compose_cfg, method):
    cfg = compose_cfg(BOW + [f"method={method}"])
    assert cfg.optimizer._target_ == "torch.optim.Adam"
    assert (OmegaConf.to_container(cfg) == OmegaConf.to_container(
        compose_cfg(BOW + [f"method={method}", "benchmark=none"])))


@pytest.mark.parametrize("domains", [["source=rt_polarity", "target=cr"],
                                     ["source=mnist", "target=usps"]])
def test_no_vectors_recipe_on_text_or_images(compose_cfg, domains):
    cfg = compose_cfg(domains + ["method=mcc"])
    assert cfg.optimizer._target_ == "torch.optim.Adam" and cfg.method.weight.value == 0.03


def test_the_msda_experiment_keeps_the_adam_defaults(compose_cfg):
    # its features are not raw counts; DANN's vectors recipe diverged there (the yaml says so)
    cfg = compose_cfg(["experiment=amazon_bow_msda", "method=dann"])
    assert cfg.optimizer._target_ == "torch.optim.Adam" and cfg.recipe is None
    assert cfg.method.loss.objective == "reversal"


def test_a_users_own_feature_files_get_the_vectors_recipe(compose_cfg, tmp_path):
    for name in ("a", "b"):
        np.savez(tmp_path / f"{name}.npz", X=np.zeros((4, 3)), y=np.array([0, 1, 0, 1]))
    cfg = compose_cfg(["source=features", f"source.path={tmp_path / 'a.npz'}",
                       "target=features", f"target.path={tmp_path / 'b.npz'}", "method=mcd"])
    assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.method.weight.value == 0.03


def test_the_vectors_recipe_is_recorded_in_hydras_choices(tmp_path):
    from hydra import compose, initialize_config_dir
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", BOW + ["method=mcc", f"hydra.sweep.dir={tmp_path}"],
                      return_hydra_config=True)
        assert cfg.hydra.runtime.choices["recipe@_global_"] == "vectors/mcc"
        assert cfg.hydra.runtime.choices["benchmark"] == "auto"
    GlobalHydra.instance().clear()


def test_the_vectors_recipe_builds_sgd_with_the_annealed_schedule(compose_cfg, data_dir):
    """As da-train builds it on the real bag-of-words data: the optimizer is SGD at 0.03 with
    momentum, and the learning rate anneals per step (mu_0 / (1 + 10 p)^0.75)."""
    from da.run.build import build_data, build_model
    cfg = compose_cfg(BOW + ["method=mcc", "source.max_examples=200", "target.max_examples=200"])
    datamodule, _ = build_data(cfg)
    datamodule.prepare()
    model = build_model(cfg, datamodule)
    optimizer = model.configure_optimizers()["optimizer"]
    assert isinstance(optimizer, torch.optim.SGD)
    assert {group["lr"] for group in optimizer.param_groups} == {0.03}
    assert {group["momentum"] for group in optimizer.param_groups} == {0.9}
    assert model.scheduler_interval == "step"
    scheduler = model.scheduler_factory(optimizer, total_steps=100)
    for _ in range(50):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.03 / 6 ** 0.75)  # p = 1/2
