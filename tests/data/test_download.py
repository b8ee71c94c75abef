"""`da-data download` against a local HTTP mirror of archives rebuilt from ../shared/datasets, and
the sha256 check of dataset files on first use. Never touches the internet."""

from __future__ import annotations

import gzip
import io
import re
import shutil
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from da.data import integrity
from da.data.amazon import AmazonText
from da.data.cli import main as da_data
from da.data.archives import read_members
from da.data.fetch import fetch
from da.data.movies import ImdbSubset, PolarityV2, RtPolarity
from da.data.registry import DATASETS, Source, find_datasets, published
from da.data.sentences import CustomerReviews, UciSentences
from da.errors import DataError
from tests.helpers import DATA_DIR


class Mirror(BaseHTTPRequestHandler):
    """Serves ``server.root`` with single-range support; ``server.drops[path] = n`` closes the
    connection after n body bytes once; ``server.ignore_range`` answers every request with 200."""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        path = server.root / unquote(urlparse(self.path).path).lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data, start = path.read_bytes(), 0
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if wanted and not server.ignore_range:
            start = int(wanted.group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = server.drops.pop(self.path, None)
        self.wfile.write(body if cut is None else body[:cut])
        self.close_connection = cut is not None

    def log_message(self, *args) -> None:
        pass


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _original(folder: str, name: str) -> bytes:
    path = DATA_DIR / folder / name
    return gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()


def build_mirror(root: Path) -> None:
    """Archives in their original formats, as the home pages ship them, from the local copies."""
    rt = {f"rt-polaritydata/{n}": _original("rt_polarity_v1", n)
          for n in ("rt-polarity.neg", "rt-polarity.pos")}
    rt["rt-polaritydata.README.1.0.txt"] = _original("rt_polarity_v1",
                                                     "rt-polaritydata.README.1.0.txt")
    acl = {}
    for path in sorted((DATA_DIR / "mdsd_sorted_acl").glob("*/*.review.gz")):
        domain = "kitchen_&_housewares" if path.parent.name == "kitchen" else path.parent.name
        data = gzip.decompress(path.read_bytes())
        if path.parent.name == "books" and path.name.startswith("positive"):
            data = b"<data>\n" + data + b"</data>\n"  # as in one public copy; stripped on download
        acl[f"sorted_data_acl/{domain}/{path.name[:-3]}"] = data
    files = {"rt_polarity_v1/rt-polaritydata.tar.gz": _tar_gz(rt),
             "mdsd_sorted_acl/domain_sentiment_data.tar.gz": _tar_gz(acl),
             "imdb_subset_2000/imdb.csv": _original("imdb_subset_2000", "imdb.csv.gz"),
             "polarity_v2_txt_sentoken/review_polarity.tar.gz":
                 (DATA_DIR / "polarity_v2_txt_sentoken" / "review_polarity.tar.gz").read_bytes()}
    for name in ("custrev.neg", "custrev.pos"):
        files[f"cr_custrev/{name}"] = _original("cr_custrev", name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "readme.txt",
                     "yelp_labelled.txt"):
            zf.writestr(f"sentiment labelled sentences/{name}",
                        _original("uci_sentiment_labelled_sentences", name))
            zf.writestr(f"__MACOSX/sentiment labelled sentences/._{name}", b"\0junk")
    files["uci_sentiment_labelled_sentences/sentiment+labelled+sentences.zip"] = buf.getvalue()
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("mirror")
    build_mirror(root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    httpd.root, httpd.requests, httpd.drops, httpd.ignore_range = root, [], {}, False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mirror(server):
    server.requests.clear()
    server.drops.clear()
    server.ignore_range = False
    return server


def get(name: str, target: Path, mirror, base: str = "") -> int:
    return da_data(["download", name, "--data-dir", str(target), "--url-base", mirror.url + base])


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("name,loader,total", [
    ("rt_polarity", RtPolarity("rt_polarity"), 10662),             # tar.gz members
    ("uci_sentiment_labelled_sentences", UciSentences("uci_yelp", "yelp"), 1000),  # zip
    ("cr", CustomerReviews("cr"), 3771),                          # plain files
    ("imdb", ImdbSubset("imdb"), 2000),                           # plain file -> gzip -9 -n
    ("polarity_v2", PolarityV2("polarity_v2"), 2000),             # the archive itself, sha known
], ids=["tar.gz", "zip", "files", "gzip", "archive"])
def test_download_rebuilds_the_layout(tmp_path, mirror, name, loader, total):
    assert get(name, tmp_path, mirror) == 0
    (dataset,) = find_datasets(name)
    for entry in dataset.files:
        local = tmp_path / dataset.folder / entry.path
        if shutil.which("gzip") or not entry.content_sha256:
            assert local.read_bytes() == (DATA_DIR / dataset.folder / entry.path).read_bytes()
    integrity.forget()
    domain = loader.load(tmp_path)  # reads through the sha256 check
    assert len(domain.train) + len(domain.test) == total
    assert leftovers(tmp_path) == []  # no staging folder, no .da-downloads
    assert da_data(["verify", name, "--data-dir", str(tmp_path)]) == 0
    mirror.requests.clear()
    assert get(name, tmp_path, mirror) == 0 and mirror.requests == []  # present: nothing fetched


def test_blitzer_archive_is_renamed_unwrapped_and_gzipped(tmp_path, mirror):
    assert get("kitchen", tmp_path, mirror) == 0
    for path in (DATA_DIR / "mdsd_sorted_acl").glob("*/*.review.gz"):
        rel = path.relative_to(DATA_DIR)
        assert gzip.decompress((tmp_path / rel).read_bytes()) == gzip.decompress(path.read_bytes())
    assert len(AmazonText("books", "books").load(tmp_path).train) == 1400


def test_python_gzip_fallback_is_verified_by_content(tmp_path, mirror, monkeypatch):
    monkeypatch.setattr("da.data.download.shutil.which", lambda name: None)
    assert get("imdb", tmp_path, mirror) == 0
    local = tmp_path / "imdb_subset_2000" / "imdb.csv.gz"
    assert local.read_bytes() != (DATA_DIR / "imdb_subset_2000" / "imdb.csv.gz").read_bytes()
    assert len(ImdbSubset("imdb").load(tmp_path).train) == 1400


def test_interrupted_download_resumes_with_a_range_request(tmp_path, mirror):
    path = "/rt_polarity_v1/rt-polaritydata.tar.gz"
    mirror.drops[path] = 50_000
    assert get("rt_polarity_v1", tmp_path, mirror) == 0
    assert mirror.requests == [(path, None), (path, "bytes=50000-")]
    assert len(RtPolarity("rt_polarity").load(tmp_path).train) > 7000


def test_a_later_run_resumes_the_part_file(tmp_path, mirror):
    url, dest = mirror.url + "/cr_custrev/custrev.pos", tmp_path / "custrev.pos"
    mirror.drops["/cr_custrev/custrev.pos"] = 1000
    with pytest.raises(DataError, match="run the same command again to resume"):
        fetch(url, dest, attempts=1, log=lambda m: None)
    assert (tmp_path / "custrev.pos.part").stat().st_size == 1000 and not dest.exists()
    fetch(url, dest, log=lambda m: None)
    assert mirror.requests[-1] == ("/cr_custrev/custrev.pos", "bytes=1000-")
    assert dest.read_bytes() == (DATA_DIR / "cr_custrev" / "custrev.pos").read_bytes()


def test_server_without_range_support_restarts(tmp_path, mirror):
    mirror.ignore_range = True
    mirror.drops["/cr_custrev/custrev.neg"] = 777
    dest = tmp_path / "custrev.neg"
    fetch(mirror.url + "/cr_custrev/custrev.neg", dest, log=lambda m: None)
    assert dest.read_bytes() == (DATA_DIR / "cr_custrev" / "custrev.neg").read_bytes()


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[: len(b) // 2], "corrupt or not a tar archive"),
    (lambda b: _tar_gz({"rt-polaritydata/rt-polarity.neg": b"x\n",
                        "rt-polaritydata/rt-polarity.pos": b"y\n",
                        "rt-polaritydata.README.1.0.txt": b"z\n"}), "not the published"),
    (lambda b: _tar_gz({"../rt-polarity.neg": b"x"}), "unsafe member"),
], ids=["truncated", "other-content", "path-traversal"])
def test_bad_archive_leaves_nothing_behind(tmp_path, mirror, capsys, damage, message):
    bad = mirror.root / "bad" / "rt_polarity_v1" / "rt-polaritydata.tar.gz"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(damage((mirror.root / "rt_polarity_v1/rt-polaritydata.tar.gz").read_bytes()))
    target = tmp_path / "data"
    assert get("rt_polarity", target, mirror, "/bad") == 2
    assert message in capsys.readouterr().err
    assert list(target.iterdir()) == []  # no dataset folder, staging or download left


def test_missing_file_on_the_server_is_a_clear_error(tmp_path, mirror, capsys):
    target = tmp_path / "data"
    assert get("cr", target, mirror, "/nowhere") == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert list(target.iterdir()) == []


def test_unsafe_zip_members_are_refused(tmp_path):
    for name in ("/etc/readme.txt", "a/../../readme.txt"):
        archive = tmp_path / "x.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(name, b"x")
        with pytest.raises(DataError, match="unsafe member name"):
            read_members(archive, Source("http://h/x.zip", "zip", (("readme.txt", "readme.txt"),)))


def test_incomplete_folder_is_completed_and_other_files_kept(tmp_path, mirror):
    folder = tmp_path / "cr_custrev"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "custrev.neg").write_bytes(b"damaged")
    assert get("cr", tmp_path, mirror) == 0
    assert da_data(["verify", "cr", "--data-dir", str(tmp_path)]) == 0
    assert (folder / "notes.txt").read_text() == "mine"


def copy_dataset(folder: str, target: Path) -> Path:
    shutil.copytree(DATA_DIR / folder, target / folder)
    for path in [target / folder, *(target / folder).rglob("*")]:
        path.chmod(0o644 if path.is_file() else 0o755)
    return target / folder


def test_modified_data_file_raises_with_the_fix(tmp_path, monkeypatch, capsys, data_dir):
    folder = copy_dataset("cr_custrev", tmp_path)
    path = folder / "custrev.pos"
    path.write_bytes(path.read_bytes().replace(b"great", b"grate", 1))
    integrity.forget()
    with pytest.raises(DataError, match=r"custrev.pos: sha256 [0-9a-f]{64} does not match the "
                       r"published 15eeb0b9.*da-data download cr_custrev --data-dir .*"
                       r"DA_VERIFY_DATA=0"):
        CustomerReviews("cr").load(tmp_path)
    assert da_data(["verify", "--data-dir", str(tmp_path)]) == 1
    assert "custrev.pos" in capsys.readouterr().out
    monkeypatch.setenv("DA_VERIFY_DATA", "0")
    assert len(CustomerReviews("cr").load(tmp_path).train) > 2000


def test_each_file_is_hashed_once_per_process_until_it_changes(tmp_path, monkeypatch, data_dir):
    path = copy_dataset("uci_sentiment_labelled_sentences", tmp_path) / "yelp_labelled.txt"
    integrity.forget()
    calls = []
    real = integrity.sha256
    monkeypatch.setattr(integrity, "sha256", lambda data: calls.append(1) or real(data))
    loader = UciSentences("uci_yelp", "yelp")
    loader.load(tmp_path)
    loader.load(tmp_path)
    assert len(calls) == 1
    path.write_bytes(path.read_bytes() + b"extra\t1\n")
    with pytest.raises(DataError, match="does not match the published"):
        loader.load(tmp_path)


def test_missing_dataset_or_file_names_the_download_command(tmp_path):
    with pytest.raises(DataError, match=r"da-data download cr_custrev --data-dir"):
        CustomerReviews("cr").load(tmp_path)
    (tmp_path / "mdsd_sorted_acl" / "books").mkdir(parents=True)
    with pytest.raises(DataError, match=rf"missing data file .*da-data download mdsd_sorted_acl "
                                        rf"--data-dir {tmp_path}`"):
        AmazonText("books", "books").load(tmp_path)


def test_names_resolve_to_folders():
    assert [d.folder for d in find_datasets("bow_dvd")] == ["mdsd_dann_svmlight"]
    assert {d.folder for d in find_datasets("mnist")} == {"mnist_idx", "mnist_usps_jda"}
    with pytest.raises(DataError, match="Did you mean 'rt_polarity'"):
        find_datasets("rt_polarty")
    assert published("/x/mdsd_sorted_acl/books/positive.review.gz")[1].size == 527987
    assert published("/x/elsewhere/books/positive.review.gz") is None


def test_registry_matches_the_shared_datasets_and_their_provenance(data_dir):
    registered = set()
    for dataset in DATASETS:
        provenance = (data_dir / dataset.folder / "PROVENANCE.md").read_text()
        for entry in dataset.files:
            raw = (data_dir / dataset.folder / entry.path).read_bytes()
            assert len(raw) == entry.size and integrity.sha256(raw) == entry.sha256
            assert entry.sha256 in provenance and f"{entry.size:,}" in provenance
            if entry.content_sha256:
                assert integrity.sha256(gzip.decompress(raw)) == entry.content_sha256
                assert entry.content_sha256 in provenance
            registered.add(f"{dataset.folder}/{entry.path}")
    on_disk = {p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")
               if p.is_file() and p.name not in ("PROVENANCE.md", "README.md")}
    assert registered == on_disk
