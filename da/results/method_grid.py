"""The candidates of ``da-tune --methods``: each method with the grid its yaml declares.

A method yaml may hold a ``tune`` block, its own small label-free grid around its default
(``conf/method/mmd.yaml``: ``tune: {method.weight.value: [0.3, 1.0, 3.0]}``); a method without one
is one candidate, its default. ``source_only`` is always a candidate, so that "no adaptation" can
win. The blocks are read from the composed config of each method (so ``cdan_e`` inherits
``cdan``'s, and a user's own method on a ``hydra.searchpath`` declares its own).
"""

from __future__ import annotations

from pathlib import Path

from da.config.compose import CONFIG_DIR

#: The baseline that every ``--methods`` list includes.
BASELINE = "source_only"


def builtin_methods() -> list[str]:
    """Every method of ``conf/method`` (``--methods all``), the baseline first."""
    names = sorted(p.stem for p in (Path(CONFIG_DIR) / "method").glob("*.yaml"))
    return [BASELINE] + [n for n in names if n != BASELINE]


def parse_methods(spec: str) -> list[str]:
    """``a,b,c`` or ``all`` → method names, the baseline first and added if missing."""
    names = builtin_methods() if spec.strip() == "all" else [
        n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise SystemExit("da-tune: error: --methods takes a comma-separated list or all")
    return [BASELINE] + [n for n in dict.fromkeys(names) if n != BASELINE]


def method_grid(method: str, overrides: list[str]) -> list[str]:
    """The sweep overrides of ``method``'s grid: ``["method=mmd", "method.weight.value=0.3,1,3"]``
    (``overrides``: the user's other overrides, e.g. a ``hydra.searchpath`` for own methods)."""
    import tempfile

    from omegaconf import OmegaConf

    from da.config.compose import compose_config
    from da.errors import DAError

    kept = [o for o in overrides if o.startswith("hydra.searchpath")]  # the user's own methods
    try:
        with tempfile.TemporaryDirectory() as scratch:
            cfg = compose_config([f"method={method}", *kept], Path(scratch))
    except DAError as exc:
        raise SystemExit(f"da-tune: error: method '{method}': {exc}") from exc
    except Exception as exc:  # Hydra: an unknown method name
        raise SystemExit(f"da-tune: error: method '{method}' cannot be composed: "
                         f"{str(exc).splitlines()[0]}") from exc
    grid = cfg.method.get("tune")
    points = [] if grid is None else [
        f"{key}={','.join(_value(v) for v in OmegaConf.to_container(values))}"
        for key, values in grid.items()]
    return [f"method={method}", *points]


def _value(value: object) -> str:
    """A grid value as Hydra's sweep syntax writes it (floats keep their decimal point)."""
    return repr(value) if isinstance(value, float) else str(value)
