"""The package's shape: no import cycle between modules of `da`, and short modules.

The import graph is read from the source (every ``import da...`` / ``from da... import``, also
inside functions, since a deferred import that closes a cycle is still a cycle of design; not
those under ``if TYPE_CHECKING:``, which never run). Importing
``da.a.b`` runs ``da/a/__init__.py`` first, so a module also depends on the ``__init__`` of the
packages it imports from.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "da"
MAX_LINES = 250


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The `da` modules that importing ``path`` runs (directly)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for block in ast.walk(tree):  # `if TYPE_CHECKING:` imports never run: type hints only
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING"):
            block.body = []
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


def test_a_deferred_import_counts_a_type_checking_one_does_not(tmp_path):
    (tmp_path / "m.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from da.compare import Table\n"
                                   "def f():\n    from da.build import build\n")
    assert imports_of(tmp_path / "m.py", modules()) == {"da.build", "da"}


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_short(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it along one responsibility"


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
