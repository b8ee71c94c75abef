"""Every config composes: all source × target × method combinations, every encoder and
experiment file; every method's loss instantiates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from da.data.base import DomainSource
from da.train import CONFIG_DIR

CONF = Path(CONFIG_DIR)
DOMAINS = sorted(p.stem for p in (CONF / "domain").glob("*.yaml"))
METHODS = sorted(p.stem for p in (CONF / "method").glob("*.yaml"))
ENCODERS = sorted(p.stem for p in (CONF / "encoder").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
DESIGN_DOMAINS = {"books", "dvd", "electronics", "kitchen", "bow_books", "bow_dvd",
                  "bow_electronics", "bow_kitchen", "rt_polarity", "polarity_v2", "imdb", "cr",
                  "uci_imdb", "uci_amazon", "uci_yelp"}


@pytest.fixture(scope="module")
def hydra_init():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


def test_source_and_target_offer_the_same_domains():
    assert {p.stem for p in (CONF / "source").glob("*.yaml")} == set(DOMAINS)
    assert {p.stem for p in (CONF / "target").glob("*.yaml")} == set(DOMAINS)
    assert DESIGN_DOMAINS <= set(DOMAINS)
    assert {"source_only", "dann", "mmd", "coral"} <= set(METHODS)


def test_every_source_target_method_composes(hydra_init):
    seen = set()
    for source in DOMAINS:
        for target in DOMAINS:
            for method in METHODS:
                cfg = compose("train", overrides=[f"source={source}", f"target={target}",
                                                  f"method={method}", "seed=3"])
                assert cfg.source.name == source and cfg.target.name == target
                assert cfg.run_name == f"{method}-{source}_to_{target}-s3"
                seen.add(cfg.run_name)
    assert len(seen) == len(DOMAINS) ** 2 * len(METHODS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_instantiates(hydra_init, domain):
    cfg = compose("train", overrides=[f"source={domain}"])
    loader = instantiate(cfg.source)
    assert isinstance(loader, DomainSource) and loader.name == domain


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_method_loss_instantiates_and_runs(hydra_init, method, encoder):
    cfg = compose("train", overrides=[f"method={method}", f"encoder={encoder}"])
    weight = instantiate(cfg.method.weight)
    assert weight(0.0) >= 0 and weight(1.0) >= 0
    loss_fn = instantiate(cfg.method.loss)
    if loss_fn is None:
        assert method == "source_only"
        return
    d = cfg.encoder.out_dim
    f_s = torch.randn(6, d, requires_grad=True)
    value = loss_fn(f_s=f_s, f_t=torch.randn(5, d) + 1, logits_s=torch.randn(6, 2),
                    logits_t=torch.randn(5, 2), y_s=torch.randint(0, 2, (6,)), progress=0.5)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert f_s.grad is not None and f_s.grad.abs().sum() > 0


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(hydra_init, experiment):
    cfg = compose("train", overrides=[f"experiment={experiment}"])
    OmegaConf.to_container(cfg.source, resolve=True)
    OmegaConf.to_container(cfg.method, resolve=True)
