"""Malformed method, encoder and domain yamls of the user's own (through Hydra's search path):
one clear line naming the file, the key and the shape expected, exit status 2, no traceback
(da/config/checks.py, da/config/signatures.py); and the shortcuts that are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from da.config.checks import normalize_method
from da.errors import ConfigError
from tests.helpers import TINY, assert_clean_error, da_train

CORAL = "_target_: da.losses.coral.CORALLoss"
MLP = "_target_: da.encoders.MLPEncoder"
BOW = "_target_: da.data.amazon.AmazonBow\nname: broken\ndomain: books\n"

#: (id, {file under conf/: text}, the choice, fragments of the message; {file} = the broken file)
BROKEN = [
    ("method-no-loss", {"method/broken.yaml": "name: broken\nweight: 1.0\n"}, "method=broken",
     ["{file} (method=broken): no 'loss'", "loss ({_target_: <loss class>", "bare loss node"]),
    ("method-target-does-not-import",
     {"method/broken.yaml": "name: broken\nloss:\n  _target_: my_missing_pkg.Gap\n"},
     "method=broken", ["{file}", "'method.loss._target_' is 'my_missing_pkg.Gap', which cannot "
                       "be imported", "No module named 'my_missing_pkg'", "PYTHONPATH"]),
    ("method-unknown-key",
     {"method/broken.yaml": f"name: broken\nloss: {{{CORAL}}}\nwieght: 2\n"},
     "method=broken", ["{file}", "unknown key 'method.wieght' (did you mean 'weight'?)",
                       "a method yaml holds name, loss"]),
    ("loss-unknown-argument",
     {"method/broken.yaml": f"{CORAL}\nscale_invariant: true\nscale: 2\n"},
     "method=broken", ["{file}", "unknown key 'method.loss.scale'", "CORALLoss takes no argument "
                       "'scale'; it takes scale_invariant"]),
    ("weight-wrong-type",
     {"method/broken.yaml": f"name: broken\nloss: {{{CORAL}}}\nweight: abc\n"},
     "method=broken", ["{file}", "'method.weight' is 'abc'", "expected a number (a constant "
                       "weight", "or a schedule node"]),
    ("encoder-wrong-type", {"encoder/broken.yaml": f"input: vectors\nout_dim: 5\nmodel:\n  {MLP}\n"
                                                   f"  hidden_dims: 5\n"},
     "encoder=broken", ["{file} (encoder=broken)", "'encoder.model.hidden_dims' is 5, but "
                        "MLPEncoder expects a list of integers (e.g. [5])"]),
    ("encoder-unknown-key",
     {"encoder/broken.yaml": f"input: vectors\nout_dims: 5\nmodel: {{{MLP}}}\n"},
     "encoder=broken", ["{file}", "unknown key 'encoder.out_dims' (did you mean 'out_dim'?)",
                        "an encoder yaml holds input"]),
    ("encoder-no-model", {"encoder/broken.yaml": "input: vectors\nout_dim: 5\n"},
     "encoder=broken", ["{file}", "no 'encoder.model'", "model ({_target_: <nn.Module class>"]),
    # no source/broken.yaml: da-train offers the domain yamls of the search path as source=
    ("domain-unknown-key", {"domain/broken.yaml": BOW + "max_example: 30\n"},
     "source=broken", ["{file} (source=broken)", "unknown key 'source.max_example' (did you "
                       "mean 'max_examples'?)", "AmazonBow takes no argument 'max_example'"]),
    ("domain-wrong-type", {"source/broken.yaml": BOW + "max_examples: lots\n"}, "source=broken",
     ["{file}", "'source.max_examples' is 'lots', but AmazonBow expects an integer or null"]),
    ("domain-target-does-not-import",
     {"source/broken.yaml": "_target_: my_domains.Folder\nname: broken\n"}, "source=broken",
     ["{file}", "'source._target_' is 'my_domains.Folder', which cannot be imported"]),
]


@pytest.mark.parametrize("files,choice,fragments", [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_a_malformed_config_file_gets_one_clear_line(tmp_path, files, choice, fragments):
    for name, text in files.items():
        (tmp_path / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "conf" / name).write_text(text)
    broken = tmp_path / "conf" / list(files)[0]
    args = [a for a in TINY if not a.startswith("source.max_examples")]  # not in every domain
    result = da_train([*args, f"hydra.searchpath=[file://{tmp_path / 'conf'}]", choice],
                      tmp_path / "out")
    assert result.returncode == 2, result.stderr[-3000:]
    assert_clean_error(result, *(f.replace("{file}", str(broken)) for f in fragments))
    assert "Trainer.fit" not in result.stdout + result.stderr


def _method(text: str):
    """A config whose method node is ``text`` merged over conf/base/method.yaml's keys."""
    base = {"name": "mine", "gather": False, "alignment_lr_scale": 1.0}
    return OmegaConf.create({"encoder": {"out_dim": 7},
                             "method": {**base, **OmegaConf.to_container(OmegaConf.create(text))}})


def test_a_bare_loss_node_becomes_the_loss_with_weight_one():
    cfg = _method("_target_: my_losses.Gap\nscale: 0.5\nin_dim: ${encoder.out_dim}\nk: ???\n")
    raw = OmegaConf.to_container(cfg, resolve=False)
    cfg = normalize_method(cfg)
    assert OmegaConf.to_container(_method(
        "_target_: my_losses.Gap\nscale: 0.5\nin_dim: ${encoder.out_dim}\nk: ???\n"),
        resolve=False) == raw  # the composed node it was given is left as it is
    assert OmegaConf.to_container(cfg.method.weight) == {"_target_": "da.schedules.Constant",
                                                         "value": 1.0}
    assert cfg.method.loss._target_ == "my_losses.Gap" and cfg.method.loss.scale == 0.5
    assert cfg.method.loss.in_dim == 7 and OmegaConf.is_missing(cfg.method.loss, "k")
    assert set(cfg.method) == {"name", "gather", "alignment_lr_scale", "loss", "weight"}


def test_a_number_is_a_constant_weight_and_a_missing_weight_is_one():
    cfg = normalize_method(_method(f"loss: {{{CORAL}}}\nweight: 0.3\n"))
    assert cfg.method.weight == {"_target_": "da.schedules.Constant", "value": 0.3}
    cfg = normalize_method(_method(f"loss: {{{CORAL}}}\n"))
    assert cfg.method.weight.value == 1.0
    with pytest.raises(ConfigError, match=r"'method.weight' is True; expected a number"):
        normalize_method(_method(f"loss: {{{CORAL}}}\nweight: true\n"))


def test_every_built_in_method_is_left_as_it_is():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from da.train import CONFIG_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for path in sorted(Path(CONFIG_DIR, "method").glob("*.yaml")):
            cfg = compose("train", overrides=[f"method={path.stem}"])
            before = OmegaConf.to_container(cfg.method)
            assert OmegaConf.to_container(normalize_method(cfg).method) == before, path.stem
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("where,target,new", [
    ("scheduler", "da.optim.AnnealedLR", "da.methods.lr_schedule.AnnealedLR"),
    ("callbacks.progress_bar", "da.progress.ThrottledProgressBar",
     "da.run.progress.ThrottledProgressBar"),
    ("logger.wandb", "da.tracking.WandbLogger", "da.run.tracking.WandbLogger")])
def test_a_target_under_a_moved_module_names_its_new_path(where, target, new):
    """da/ was regrouped by role: a user's yaml that still names an old module gets one line
    with the new path (for any node that is built, not only the checked groups)."""
    from da.config.instantiate import build

    with pytest.raises(ConfigError, match=rf"'{where}._target_' is '{target}', which moved to "
                                          rf"'{new}'; write _target_: {new}\."):
        build(OmegaConf.create({"_target_": target, "total_steps": 1}), where)
    build_ok = OmegaConf.create({"_target_": "da.schedules.Constant", "value": 1.0})
    assert build(build_ok, where)(0.5) == 1.0  # an unmoved target builds as before
