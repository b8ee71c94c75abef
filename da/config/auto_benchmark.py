"""``benchmark=auto`` (the default): the per-method settings that follow the kind of data.

conf/train.yaml merges the recipe ``conf/recipe/<benchmark>/<method>.yaml`` after the experiment,
through ``- optional recipe@_global_: ${da_recipe:${benchmark},${method},${source},${target}}``
(Hydra resolves a defaults-list interpolation only from groups whose own default is a plain name,
so the choice is made here, not in the ``benchmark`` entry). A paper's benchmark
(``experiment=mnist2000_to_usps1800``) names its own option (``adda_digits``); with ``auto``
:func:`choose_benchmark` reads the chosen source and target options: ``vectors`` when both domains
hold vectors (the Amazon bag-of-words domains, a user's own ``features`` file), else ``none``. The
vectors recipes (conf/recipe/vectors/) train the methods whose Adam defaults collapse on vectors
(a cell more than 3 points below source-only, or the collapse guard's flag) under SGD instead
(experiments/amazon_bow/optimizer/README.md, conf/benchmark/vectors.yaml). ``benchmark=none``: no recipes.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from da.config.auto_encoder import option_modality

#: The resolver conf/train.yaml's defaults list calls.
RESOLVER = "da_recipe"
#: The ``benchmark`` option that lets the data choose.
AUTO = "auto"
#: The benchmark option per kind of data; a kind not listed gets ``none`` (no recipes).
KIND_BENCHMARKS = {"vectors": "vectors"}
NONE = "none"


def choose_benchmark(source: str, target: str) -> str:
    """The benchmark option for domain options ``source`` and ``target``: the option of their
    common kind of data (:data:`KIND_BENCHMARKS`), else ``none``. Never raises: a domain it cannot
    read, or two of different kinds, get ``none`` (and their own error once composed)."""
    try:
        kinds = {option_modality("source", str(source)), option_modality("target", str(target))}
    except Exception:  # noqa: BLE001 - a yaml it cannot follow: no recipe, errors come later
        return NONE
    return KIND_BENCHMARKS.get(kinds.pop(), NONE) if len(kinds) == 1 else NONE


def recipe(benchmark: str, method: str, source: str, target: str) -> str:
    """The recipe option ``<benchmark>/<method>`` (an optional default: Hydra skips a missing
    file), ``benchmark`` ``auto`` replaced by :func:`choose_benchmark`'s option."""
    if str(benchmark) == AUTO:
        benchmark = choose_benchmark(source, target)
    return f"{benchmark}/{method}"


def register_resolver() -> None:
    """Register :func:`recipe` as ``${da_recipe:...}`` (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, recipe)
