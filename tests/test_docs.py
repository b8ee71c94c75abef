"""The docs name only code that exists: every ``da/...`` path and ``da.xxx`` dotted module (or
``_target_``) named in README.md, docs/*.md, conf/**/*.yaml and setup.cfg, and the README's
Layout block lists every package and top-level module of `da/`.

Catches docs that still name a module after it moved or was renamed (``da/encoders/packaged.py``,
``da.optim``), a ``_target_`` whose class was renamed, and a new package missing from the Layout.
experiments/ is a record of past runs (old paths there are history) and is not checked.
Everything is read from the source (``ast``): nothing is imported, so the test takes well
under a second.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "da"
#: A path ``da/.../x.py`` or a folder ``da/.../``, not inside a longer path (``~/.cache/da/...``).
PATH = re.compile(r"(?<![\w./~-])da/(?:\w+/)*(?:\w+\.py\b)?")
#: A dotted name ``da.x.y.Z``, not inside a longer name (``hydra.da...``) or a path.
DOTTED = re.compile(r"(?<![\w./~-])da(?:\.[A-Za-z_]\w*)+")


def doc_files() -> list[Path]:
    """The files whose references are checked (experiments/ left out: it is history)."""
    files = [REPO / "README.md", REPO / "setup.cfg", *sorted((REPO / "docs").glob("*.md"))]
    return files + sorted((REPO / "conf").rglob("*.yaml"))


def references(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """``(file:line, reference)`` for every match of ``pattern`` in the doc files."""
    found = []
    for path in doc_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(REPO)}:{number}"
            found += [(where, m.group(0)) for m in pattern.finditer(line)]
    return found


@cache
def top_level_names(module: Path) -> frozenset[str]:
    """Names a module defines or imports at its top level, and the strings of its ``__all__``
    (a package with a lazy ``__getattr__`` lists its names there)."""
    names: set[str] = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names.update(ast.literal_eval(node.value))
    return frozenset(names)


def resolves(dotted: str) -> bool:
    """Whether ``da.a.b.Name`` is a module of `da` followed by at most names it defines (only
    the first name after the module is checked: ``Class.attribute`` is not followed)."""
    parts, where = dotted.split(".")[1:], PACKAGE
    while parts and (where / parts[0] / "__init__.py").is_file():
        where = where / parts.pop(0)
    if parts and (where / f"{parts[0]}.py").is_file():
        return len(parts) == 1 or parts[1] in top_level_names(where / f"{parts[0]}.py")
    return not parts or parts[0] in top_level_names(where / "__init__.py")


def test_every_named_da_path_exists() -> None:
    """A ``da/...py`` file or ``da/.../`` folder named in the docs is in the repository."""
    refs = references(PATH)
    assert len(refs) > 20, "the pattern no longer finds the paths the docs name"
    missing = [f"{where}: {ref}" for where, ref in refs if not (REPO / ref).exists()]
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_every_named_da_module_exists() -> None:
    """A dotted ``da.x.y`` (module, or module + name: ``_target_`` values) names real code."""
    refs = references(DOTTED)
    assert len(refs) > 20, "the pattern no longer finds the modules the docs name"
    missing = [f"{where}: {ref}" for where, ref in refs if not resolves(ref)]
    assert not missing, "modules named in the docs that do not exist:\n" + "\n".join(missing)


def test_resolves_rejects_what_is_not_there() -> None:
    """The resolver is not vacuous: a wrong module, file or name is rejected."""
    assert resolves("da.losses.coral.CORALLoss") and resolves("da.encoders.MLPEncoder")
    assert resolves("da.run") and resolves("da.methods.lr_schedule")
    for wrong in ("da.optim", "da.encoders.packaged", "da.losses.coral.CoralLoss", "da.run.x"):
        assert not resolves(wrong), wrong


def layout_rows() -> dict[str, str]:
    """``{first column: rest}`` of the code block under the README's ``## Layout``."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("## Layout\n"):].split("```")[1]
    rows = [line.split(maxsplit=1) for line in block.splitlines() if line.strip()]
    return {row[0]: row[1] if len(row) > 1 else "" for row in rows}


def test_readme_layout_lists_every_package_and_top_level_module() -> None:
    """Every package (``da/x/``) and top-level module (``da/x.py``) of `da` has a Layout row,
    and every ``x.py`` a package row names is a module of that package."""
    rows = layout_rows()
    expected = {f"da/{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py")}
    expected |= {f"da/{p.name}" for p in PACKAGE.glob("*.py")}
    assert not expected - set(rows), f"missing from the README's Layout: {expected - set(rows)}"
    wrong = [f"{name} {module}" for name, rest in rows.items() if name.startswith("da/")
             and name.endswith("/") for module in re.findall(r"\b\w+\.py\b", rest)
             if not (REPO / name / module).is_file()]
    assert not wrong, f"modules in the README's Layout that do not exist: {wrong}"
