"""Every config composes: all source × target × method combinations, every encoder and
experiment file; every method's loss instantiates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict
from torch.utils.data import DataLoader

from da.config.signatures import check_arguments
from da.data.base import DomainSource
from da.train import CONFIG_DIR
from tests.helpers import METHODS

CONF = Path(CONFIG_DIR)
DOMAINS = sorted(p.stem for p in (CONF / "domain").glob("*.yaml"))
#: Every encoder but the `auto` marker, which da.train resolves to one of them (tests/encoders/
#: test_auto.py).
ENCODERS = sorted(p.stem for p in (CONF / "encoder").glob("*.yaml") if p.stem != "auto")
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
#: Methods whose yaml names a LightningModule of their own (``module:``; MCD, SHOT).
MODULE_METHODS = sorted(m for m in METHODS
                        if "\nmodule:" in (CONF / "method" / f"{m}.yaml").read_text())
#: Methods whose loss reads only the target predictions (logits_t): no gradient to f_s.
#: (shot: its loss is information maximization; the pseudo-labels are tested in
#: tests/methods/test_shot.py)
TARGET_PREDICTION_METHODS = {"entropy", "bnm", "mcc", "shot"}
DESIGN_DOMAINS = {"books", "dvd", "electronics", "kitchen", "bow_books", "bow_dvd",
                  "bow_electronics", "bow_kitchen", "rt_polarity", "polarity_v2", "imdb", "cr",
                  "uci_imdb", "uci_amazon", "uci_yelp", "file", "features"}


@pytest.fixture(scope="module")
def hydra_init():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


def test_source_and_target_offer_every_domain_without_wrapper_files(hydra_init):
    # da.train stores source/<d> and target/<d> in Hydra's ConfigStore for every conf/domain/<d>
    # (da/config/domain_groups.py), so Hydra lists them (--help, errors) with no file per group.
    # (a subset: a test of a user's own domain earlier in this process may have added its own)
    loader = GlobalHydra.instance().config_loader()
    for group in ("source", "target"):
        assert set(DOMAINS) <= set(loader.get_group_options(group)), group
    assert not (CONF / "source").exists() and not (CONF / "target").exists()
    assert DESIGN_DOMAINS <= set(DOMAINS)
    assert {"source_only", "dann", "mmd", "coral"} <= set(METHODS)


def test_every_domain_gets_the_base_domain_keys_and_copies_none(hydra_init):
    base = OmegaConf.to_container(OmegaConf.load(CONF / "base" / "domain.yaml"))
    assert set(base) == {"split_seed", "test_fraction", "max_examples"}
    for domain in DOMAINS:
        own = OmegaConf.load(CONF / "domain" / f"{domain}.yaml")
        assert not set(base) & set(own), f"conf/domain/{domain}.yaml copies a base key"
        cfg = compose("train", overrides=[f"source={domain}", f"target={domain}"])
        for group in ("source", "target"):
            assert {key: cfg[group][key] for key in base} == base, (domain, group)
            check_arguments(cfg[group], group)  # the domain's class takes every base key


def test_every_source_target_method_composes(hydra_init):
    # Every domain composes as a source and as a target, each with 3 partners (a cyclic Latin
    # square: source i with targets i, i+1, i+2, so the same-domain pair is in too), and the method
    # cycles over the pairs, so every method composes. The groups are independent, so the full
    # domains^2 x methods product (~360 compositions, 80 s on 2 cores) adds nothing this misses.
    seen, methods, as_target = set(), set(), set()
    pairs = [(s, DOMAINS[(i + k) % len(DOMAINS)]) for i, s in enumerate(DOMAINS) for k in range(3)]
    for i, (source, target) in enumerate(pairs):
        method = METHODS[i % len(METHODS)]
        cfg = compose("train", overrides=[f"source={source}", f"target={target}",
                                          f"method={method}", "seed=3"])
        assert cfg.source.name == source and cfg.target.name == target
        assert cfg.run_name == f"{method}-{source}_to_{target}-s3"
        seen.add(cfg.run_name)
        methods.add(method)
        as_target.add(target)
    assert len(seen) == 3 * len(DOMAINS) and methods == set(METHODS)
    assert as_target == set(DOMAINS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_instantiates(hydra_init, domain):
    cfg = compose("train", overrides=[f"source={domain}"])
    missing = OmegaConf.missing_keys(cfg.source)
    if missing:  # the user's own data (file, features): composes, needs only its path
        assert missing == {"source.path"}, missing
        cfg = compose("train", overrides=[f"source={domain}", "source.path=mine.csv"])
    loader = instantiate(cfg.source)
    # the user's own file is named by it (mine.csv: mine), the others by their group
    assert isinstance(loader, DomainSource) and loader.name == ("mine" if missing else domain)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_method_loss_instantiates_and_runs(hydra_init, method, encoder):
    cfg = compose("train", overrides=[f"method={method}", f"encoder={encoder}"])
    weight = instantiate(cfg.method.weight)
    assert weight(0.0) >= 0 and weight(1.0) >= 0
    # `num_classes: ???` is filled from the data by da.run.build.build_model; here: the 3
    # classes below
    extra = ({"num_classes": 3} if cfg.method.loss is not None
             and OmegaConf.is_missing(cfg.method.loss, "num_classes") else {})
    loss_fn = instantiate(cfg.method.loss, **extra)
    if loss_fn is None:
        # no loss: source only, or a method with its own training loop (`module`, e.g. MCD;
        # built and trained one step by test_every_method_module_builds_and_trains)
        assert method == "source_only" or method in MODULE_METHODS
        return
    d = cfg.encoder.out_dim
    torch.manual_seed(0)
    head = torch.randn(d, 3) / d ** 0.5  # logits computed from the features, as in training
    for m, n in ((6, 5), (1, 1), (1, 4)):  # unequal batch sizes; a batch of one example
        f_s = torch.randn(m, d, requires_grad=True)
        f_t = (torch.randn(n, d) + 1).requires_grad_(True)
        value = loss_fn(f_s=f_s, f_t=f_t, logits_s=f_s @ head, logits_t=f_t @ head,
                        y_s=torch.randint(0, 3, (m,)), progress=0.5)
        assert value.dim() == 0 and torch.isfinite(value), (m, n)
        value.backward()
        assert f_t.grad is not None and torch.isfinite(f_t.grad).all(), (m, n)
        if m > 1:  # with one example some statistics (covariance) have no gradient
            assert f_t.grad.abs().sum() > 0
            if method not in TARGET_PREDICTION_METHODS:
                assert f_s.grad is not None and f_s.grad.abs().sum() > 0


def mismatches(expected: dict, actual: Any, path: str = "") -> list[str]:
    """The keys (dotted paths) of the nested dict ``expected`` whose leaf (a list is a leaf)
    is missing from ``actual`` or differs there."""
    if not isinstance(actual, dict):
        return [path or "<root>"]
    found = []
    for key, value in expected.items():
        where = f"{path}{key}"
        if isinstance(value, dict) and value:
            found += mismatches(value, actual.get(key), f"{where}.")
        elif key not in actual or actual[key] != value:
            found.append(where)
    return found


def is_global(path: Path) -> bool:
    """Whether a config file is ``# @package _global_`` (its keys land at the top level)."""
    return path.is_file() and path.read_text().startswith("# @package _global_")


def experiment_choices(raw: dict) -> dict[str, str]:
    """``{group: option}`` of an experiment file's ``- override /<group>: <option>`` defaults."""
    entries = [next(iter(entry.items())) for entry in raw.get("defaults", [])]
    return {key.removeprefix("override ").lstrip("/"): option for key, option in entries}


class TinyPairs(L.LightningDataModule):
    """Two 3-class domains of 8 random 6-d vectors: one training batch of both domains, and
    ``loader(part, labels=...)``, which a method reads the target training part through."""

    num_classes = 3

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.x_s, self.x_t = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g) + 1
        self.y_s = torch.arange(8) % 3

    def train_dataloader(self) -> DataLoader:
        return DataLoader([{"source": (self.x_s, self.y_s), "target": self.x_t}], batch_size=None)

    def loader(self, part: str, labels: bool = True, **kwargs: Any) -> list[Any]:
        assert part == "target_train" and not labels, (part, labels)
        return [self.x_t[:5], self.x_t[5:]]


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no")
@pytest.mark.parametrize("method", MODULE_METHODS)
def test_every_method_module_builds_and_trains(hydra_init, method: str, tmp_path: Path) -> None:
    """A method's own ``module`` (MCD, SHOT) is built from its yaml by build_model as da-train
    builds it, is an `AlignmentModule` subclass, and one training step on tiny data gives
    finite, nonzero losses and changes the encoder.

    Catches a ``module`` node that does not build with build_model's arguments (SHOT has a loss,
    so the loss test never built its module: a renamed class passed) and an own step that does
    not train (MCD without its optimizer steps, SHOT with its target term cut), which checking
    the partial's ``__name__`` let through."""
    from da.methods import AlignmentModule
    from da.encoders import MLPEncoder
    from da.run.build import build_model

    cfg = compose("train", overrides=[f"method={method}", "encoder=mlp", "optim=adam"])
    torch.manual_seed(0)
    data = TinyPairs()
    encoder = MLPEncoder(in_dim=6, hidden_dims=[cfg.encoder.out_dim])
    model = build_model(cfg, data, encoder)
    expected = cfg.method.module._target_.rsplit(".", 1)[-1]
    assert type(model).__name__ == expected and isinstance(model, AlignmentModule)
    assert isinstance(model, L.LightningModule) and type(model) is not AlignmentModule
    before = [p.detach().clone() for p in model.encoder.parameters()]
    # ADDA adapts only after its source stage (half the batches): two batches reach stage 2
    epochs = 2 if method == "adda" else 1
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=data)
    assert trainer.global_step >= 1
    metrics = trainer.callback_metrics
    for key in ("train/loss_cls", "train/loss_align"):
        assert torch.isfinite(metrics[key]) and metrics[key] > 0, (key, metrics[key])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.encoder.parameters()))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(hydra_init, experiment: str, tmp_path: Path) -> None:
    """``experiment=<name>`` gives the groups the file chooses and every value its body sets
    (``hydra.*`` sweeper params included), and every node outside ``hydra`` resolves.

    Catches an experiment whose values do not land: a file without ``# @package _global_``
    (its keys end up under ``experiment.``), a group or ``_self_`` of train.yaml composed after
    ``experiment`` (its values reset the experiment's), a choice that does not take."""
    raw = OmegaConf.to_container(OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml"))
    cfg = compose("train", overrides=[f"experiment={experiment}"], return_hydra_config=True)
    composed = OmegaConf.to_container(cfg, resolve=False)
    choices = experiment_choices(raw)
    body = {key: value for key, value in raw.items() if key != "defaults"}
    assert not mismatches(body, composed), (experiment, mismatches(body, composed))
    groups = {g: o for g, o in choices.items() if "/" not in g}  # not hydra/sweeper
    plain = compose("train", overrides=[f"{group}={option}" for group, option in groups.items()])
    for group in groups:
        assert cfg.hydra.runtime.choices[group] == groups[group]
        if is_global(CONF / group / f"{groups[group]}.yaml"):  # benchmark: no node of its own
            continue
        expected = OmegaConf.merge(plain[group], body.get(group, {}))
        assert composed[group] == OmegaConf.to_container(expected), (experiment, group)
        if "name" in composed[group]:  # a domain, encoder or method file is named by its stem
            assert composed[group]["name"] == body.get(group, {}).get("name", groups[group])
    with open_dict(cfg):  # as da.config.compose.compose_config does, so ${hydra:...} resolves
        cfg.hydra.runtime.output_dir, cfg.hydra.job.num = str(tmp_path), 0
    HydraConfig.instance().set_config(cfg)
    OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]),
                           resolve=True)


def test_an_experiment_overrides_the_keys_of_train_yaml(hydra_init):
    """`experiment` comes after `_self_` in train.yaml's defaults: its values win (before the
    fix, train.yaml's own `data.denoiser: null` silently replaced the experiment's mSDA; the
    denoiser is now `encoder.denoiser`)."""
    assert compose("train", overrides=["encoder=mlp"]).encoder.denoiser is None
    cfg = compose("train", overrides=["experiment=amazon_bow_msda"])
    assert cfg.encoder.denoiser._target_ == "da.data.msda.MSDA" and cfg.encoder.denoiser.layers == 5
    assert compose("train", overrides=["experiment=amazon_bow_msda",
                                       "encoder.denoiser=null"]).encoder.denoiser is None
