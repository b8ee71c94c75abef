"""Paper protocols per method on a benchmark (conf/benchmark/, conf/recipe/<benchmark>/<method>.yaml,
merged after the experiment by conf/train.yaml's defaults list)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from da.config.compose import CONFIG_DIR
from da.methods.alignment import AlignmentModule
from da.schedules import GaninSchedule

M2U = "experiment=mnist2000_to_usps1800"


def _n(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mcd_on_its_benchmark_gets_its_papers_protocol(compose_cfg):
    cfg = compose_cfg([M2U, "method=mcd"])
    assert cfg.encoder.name == "lenet_mcd" and cfg.encoder.out_dim == 768
    assert list(cfg.encoder.model.channels) == [32, 48] and cfg.encoder.model.batch_norm
    assert not cfg.encoder.model.fc
    assert (cfg.encoder.model.input_mean, cfg.encoder.model.input_std) == (0.5, 0.5)
    assert OmegaConf.to_container(cfg.head) == {"hidden_dims": [100, 100], "batch_norm": True,
                                                "dropout": 0.5}
    assert (cfg.optimizer.lr, cfg.optimizer.weight_decay) == (2e-4, 5e-4)
    assert cfg.data.batch_size == 128 and cfg.method.module.num_k == 4
    assert cfg.trainer.max_steps == 2800 * 7  # 200 epochs x 14 batches x (3 + num_k) steps
    weight = instantiate(cfg.method.weight)
    assert weight(0.0) == weight(1.0) == 1.0  # the paper's weight: no ramp


def test_mcds_network_has_the_authors_parameter_count(compose_cfg):
    # mil-tokyo/MCD_DA classification/model/usps.py on 1x28x28: Feature = conv1 (1*32*25 + 32)
    # + bn1 (2*32) + conv2 (32*48*25 + 48) + bn2 (2*48); Predictor = fc1 (768*100 + 100) + bn
    # (200) + fc2 (100*100 + 100) + bn (200) + fc3 (100*10 + 10) (its bn_fc3 is never used)
    feature = 1 * 32 * 25 + 32 + 64 + 32 * 48 * 25 + 48 + 96
    predictor = 768 * 100 + 100 + 200 + 100 * 100 + 100 + 200 + 100 * 10 + 10
    cfg = compose_cfg([M2U, "method=mcd"])
    encoder = instantiate(cfg.encoder.model, in_dim=28 * 28)
    model = AlignmentModule(encoder, 10, head_hidden_dims=cfg.head.hidden_dims,
                            head_batch_norm=cfg.head.batch_norm, head_dropout=cfg.head.dropout)
    assert (_n(encoder), _n(model.head)) == (feature, predictor) == (39_440, 88_410)
    assert encoder(torch.rand(4, 1, 28, 28)).shape == (4, 768)
    dropouts = [m.p for m in model.head if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.5, 0.5, 0.5]  # before each of the three linear layers
    assert isinstance(model.head[0], torch.nn.Dropout)


# What each recipe sets that differs from the method's own default under the experiment
# (keys it sets to the default's value are not listed); nothing else may change.
RECIPE_CHANGES = {
    "dann": {"method.loss.hidden_dims": [500, 500], "method.loss.coeff.value": 1.0},
    "adda": {"trainer.max_steps": 20000},
    "cdan": {"method.loss.hidden_dims": [500, 500], "method.loss.dropout": 0.5,
             "method.loss.randomized": False, "method.loss.coeff.value": 1.0,
             "method.alignment_lr_scale": 1.0},
    "cdan_e": {"method.loss.hidden_dims": [500, 500], "method.loss.dropout": 0.5,
               "method.loss.randomized": False},
    "mcc": {"method.weight.value": 1.0, "method.weight.gamma": None},
    "bnm": {"method.weight.value": 12.8},
    "shot": {"method.weight.value": 1.0},
    "mmd": {"method.weight.value": 1.0, "method.weight.gamma": None},
    "jmmd": {"method.weight.value": 1.0, "method.weight.gamma": None},
    "coral": {"method.loss.scale_invariant": False, "method.weight.value": 1.0},
    "entropy": {"method.weight.gamma": None},   # weight 0.01 and diversity 1: the method's own
}
RECIPE_DIR = Path(CONFIG_DIR) / "recipe" / "adda_digits"


def test_every_recipe_of_the_benchmark_is_checked():
    # a new recipe file gets its row in RECIPE_CHANGES (source_only: none; mcd: its own tests)
    files = {path.stem for path in RECIPE_DIR.glob("*.yaml")}
    assert files == set(RECIPE_CHANGES) | {"source_only", "mcd"}


@pytest.mark.parametrize("method", sorted(RECIPE_CHANGES))
def test_each_recipe_changes_only_what_it_states(compose_cfg, method):
    changed = {**RECIPE_CHANGES[method], "recipe": f"adda_digits/{method}"}
    with_recipe = OmegaConf.to_container(compose_cfg([M2U, f"method={method}"]))
    without = OmegaConf.to_container(compose_cfg([M2U, f"method={method}", "benchmark=none"]))
    for key, value in changed.items():
        assert OmegaConf.select(OmegaConf.create(with_recipe), key) == value
        assert OmegaConf.select(OmegaConf.create(without), key) != value
        OmegaConf.update(cfg := OmegaConf.create(without), key, value)
        without = OmegaConf.to_container(cfg)
    assert with_recipe == without


@pytest.mark.parametrize("method,at_start,at_end", [
    ("mcc", 1.0, 1.0), ("mmd", 1.0, 1.0), ("jmmd", 1.0, 1.0), ("entropy", 0.01, 0.01),
    ("bnm", 12.8, 12.8), ("coral", 1.0, 1.0), ("shot", 0.0, 1.0)])
def test_recipe_weights_follow_the_papers_schedules(compose_cfg, method, at_start, at_end):
    # the papers' constant trade-offs (no ramp); SHOT's ramp stands in for its source stage
    weight = instantiate(compose_cfg([M2U, f"method={method}"]).method.weight)
    assert weight(0.0) == pytest.approx(at_start) and weight(1.0) == pytest.approx(at_end, rel=1e-3)


@pytest.fixture(scope="module")
def m2u_data(data_dir):
    """The MNIST2000 -> USPS1800 datamodule, built once (every recipe trains on the same data)."""
    from da.config.compose import compose_config
    from da.run.build import build_data
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        datamodule, _ = build_data(compose_config([M2U], tmp))
    GlobalHydra.instance().clear()
    datamodule.prepare()
    return datamodule


@pytest.mark.parametrize("method", sorted(set(RECIPE_CHANGES) - {"adda"}))
def test_each_recipe_builds_and_trains_on_the_digits(compose_cfg, m2u_data, method, tmp_path):
    """The recipe's config builds (loss, weight, optimizer) as da-train builds it and two steps
    on the real digits give a finite, nonzero alignment loss and change the encoder. Catches a
    recipe key that the loss does not take (e.g. `gamma` left for a Constant schedule), and a
    recipe whose loss is a no-op on this network (ADDA trains in its own tests: its alignment
    starts after the source stage)."""
    import lightning as L

    from da.run.build import build_model
    cfg = compose_cfg([M2U, f"method={method}"])
    torch.manual_seed(0)
    model = build_model(cfg, m2u_data)
    before = [p.detach().clone() for p in model.encoder.parameters()]
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, limit_val_batches=0,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=m2u_data)
    loss_align = trainer.callback_metrics["train/loss_align"]
    assert torch.isfinite(loss_align) and loss_align != 0, loss_align
    assert any(not torch.equal(a, b) for a, b in zip(before, model.encoder.parameters()))


def test_source_only_recipe_keeps_the_experiment(compose_cfg):
    # the experiment's settings are ADDA's source stage, the source-only protocol: the recipe
    # only names itself
    with_recipe = OmegaConf.to_container(compose_cfg([M2U, "method=source_only"]))
    without = OmegaConf.to_container(compose_cfg([M2U, "method=source_only", "benchmark=none"]))
    assert (with_recipe.pop("recipe"), without.pop("recipe")) == ("adda_digits/source_only", None)
    assert with_recipe == without


def test_no_recipe_outside_the_benchmark_or_for_other_methods(compose_cfg):
    # MCD without the benchmark: da's own defaults (ramped weight, the run's encoder)
    plain = compose_cfg(["source=mnist", "target=usps", "method=mcd"])
    assert plain.encoder.name == "lenet" and plain.head.hidden_dims == []
    assert isinstance(instantiate(plain.method.weight), GaninSchedule)
    assert instantiate(plain.method.weight)(0.0) == 0.0
    # a method without a recipe (da's own DANN + entropy): the experiment's settings, no error
    plain_recipe = compose_cfg([M2U, "method=dann_entropy"])
    assert plain_recipe.encoder.name == "lenet_adda" and plain_recipe.trainer.max_steps == 10000
    assert (OmegaConf.to_container(plain_recipe) == OmegaConf.to_container(
        compose_cfg([M2U, "method=dann_entropy", "benchmark=none"])))


def test_the_applied_recipe_is_recorded_in_hydras_choices(tmp_path):
    # .hydra/hydra.yaml of a run says which recipe file was merged
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from da.config.compose import CONFIG_DIR
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        for method, encoder in (("source_only", "lenet_adda"), ("mcd", "lenet_mcd")):
            cfg = compose("train", [M2U, f"method={method}",
                                    f"hydra.sweep.dir={tmp_path}"], return_hydra_config=True)
            assert cfg.hydra.runtime.choices["recipe@_global_"] == f"adda_digits/{method}"
            assert cfg.encoder.name == encoder
    GlobalHydra.instance().clear()


def test_each_job_of_a_sweep_trains_with_its_own_methods_recipe(data_dir, tmp_path):
    """`da-train -m experiment=mnist2000_to_usps1800 method=source_only,mcd`: the source-only job
    trains ADDA's LeNet, the MCD job MCD's network with its optimizer (a few steps each)."""
    from tests.helpers import da_train
    result = da_train(["-m", M2U, "method=source_only,mcd", "seed=0", "trainer.max_steps=14",
                       "data.eval_batch_size=1024", "logger=none",
                       f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = {OmegaConf.load(path).method.name: OmegaConf.load(path)
            for path in (tmp_path / "sweep").glob("*/config.yaml")}
    assert set(jobs) == {"source_only", "mcd"}
    assert jobs["source_only"].encoder.name == "lenet_adda"
    assert jobs["source_only"].optimizer.lr == 1e-3
    assert jobs["mcd"].encoder.name == "lenet_mcd" and jobs["mcd"].optimizer.lr == 2e-4
    assert jobs["mcd"].head.hidden_dims == [100, 100]
    for name in jobs:
        assert len(list((tmp_path / "sweep").glob(f"*{name}*/metrics.json"))) == 1
