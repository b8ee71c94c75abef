"""The package's shape: no import cycle between modules of `da`, and short modules.

The import graph is read from the source (every ``import da...`` / ``from da... import``, also
inside functions and under ``if TYPE_CHECKING:``: a deferred or type-only import that closes a
cycle is still a cycle of design). Importing ``da.a.b`` runs ``da/a/__init__.py`` first, so a
module also depends on the ``__init__`` of the packages it imports from.

Module length is a soft limit: above ``SOFT_LINES`` a module is reported (a warning), above
``HARD_LINES`` the test fails. Never split a module only to meet the count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import warnings

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "da"
#: Lines above which a module is reported, and above which the test fails.
SOFT_LINES, HARD_LINES = 300, 400
#: Most loose modules (``__init__`` included) at the top of da/; the rest is grouped by role.
MAX_LOOSE_MODULES = 8


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The `da` modules that importing ``path`` runs (directly)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    me = module_name(path) if PACKAGE in path.parents else ""
    mine = set(ancestors(me)) | {me}  # a module's own packages are being imported already
    runs = found | {parent for name in found for parent in ancestors(name)}
    return {name for name in runs if name in known and name not in mine}


def ancestors(name: str) -> list[str]:
    """``da.a.b`` -> ``["da", "da.a"]``: the packages whose ``__init__`` importing it runs."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_deferred_and_type_checking_imports_both_count(tmp_path):
    (tmp_path / "m.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from da.results.tables import Table\n"
                                   "def f():\n    from da.run.build import build_model\n")
    assert imports_of(tmp_path / "m.py", modules()) == {
        "da.run.build", "da.run", "da.results.tables", "da.results", "da"}


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_short(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= HARD_LINES, f"{name} has {lines} lines; split it along one responsibility"
    if lines > SOFT_LINES:
        warnings.warn(f"{name} has {lines} lines (soft limit {SOFT_LINES})", stacklevel=1)


def test_few_loose_modules_at_the_top_of_the_package():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, f"{len(loose)} loose modules in da/: {loose}"


def test_every_package_says_what_it_is_for():
    """Each package's ``__init__`` starts with a docstring (its one-line purpose)."""
    for init in sorted(PACKAGE.rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(PACKAGE.parent)} has no docstring"


def test_no_test_module_imports_another():
    """Shared test code lives in tests/helpers.py (and tests/losses/reference.py, inputs.py)."""
    tests = PACKAGE.parent / "tests"
    offenders = []
    for path in sorted(tests.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(tests)}: {name}" for name in names
                          if name.startswith("tests.") and name.split(".")[-1].startswith("test_")]
    assert not offenders, offenders
