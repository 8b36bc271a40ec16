"""The layout follows the data's path: a module imports only its own area or a lower one, and no module
imports itself back through others.

Imports are read with `ast` from every file under src/kpbench, including imports inside functions and
under `if TYPE_CHECKING:` (a hidden upward import is still an upward dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "kpbench"

# Lowest first. The shared base (anyone may import it) is rank 0; `kpbench` itself (the package root,
# only __version__) counts as base too; `__main__` is the command line's entry point.
BASE = ("errors", "atomic", "fmt", "stop", "lock", "inputs")  # shared by every area; import nothing above them
AREAS = ("data", "models", "train", "scaling", "bench", "cost", "estimate", "cloud", "report", "demo", "cli")
RANK = {**{name: 0 for name in BASE}, "": 0, **{name: i for i, name in enumerate(AREAS, 1)}, "__main__": len(AREAS)}

# Known exceptions, each (importer module, imported module) or a group of modules in a cycle: none.
# Nothing may be added here without a reason beside it.
ALLOWED_UPWARD: set[tuple[str, str]] = set()
ALLOWED_CYCLES: set[frozenset[str]] = set()  # each would be a whole group of modules that import each other


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Every kpbench module `name` imports, wherever the import statement stands in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from .x import y` inside package p is p.x
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from kpbench.report import figures` imports the submodule kpbench.report.figures.
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(subs or {base})
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) - {name} for name, path in modules.items()}


def test_every_module_belongs_to_a_known_area():
    unknown = sorted(m for m in all_modules() if area(m) not in RANK)
    assert not unknown, f"modules outside the layering (add their area to RANK in order): {unknown}"


def test_no_module_imports_a_higher_area():
    upward = sorted(
        (importer, imported)
        for importer, targets in import_graph().items()
        for imported in targets
        if RANK.get(area(imported), 0) > RANK[area(importer)] and (importer, imported) not in ALLOWED_UPWARD
    )
    lines = [f"{a} ({area(a) or 'kpbench'}) imports {b} ({area(b)})" for a, b in upward]
    assert not upward, "imports that run upward:\n" + "\n".join(lines)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_no_import_cycles():
    cycles = [c for c in find_cycles(import_graph()) if frozenset(c) not in ALLOWED_CYCLES]
    assert not cycles, "modules that import each other:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


@pytest.mark.parametrize("source, expected", [
    ("from kpbench.report import figures", {"kpbench.report.figures"}),
    ("def f():\n    from kpbench.cli.report import x", {"kpbench.cli.report"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kpbench.cost.compare import C", {"kpbench.cost.compare"}),
    ("from .blocks import Report", {"kpbench.report.blocks"}),
    ("import numpy, kpbench.data", {"kpbench.data"}),
])
def test_imports_are_found_wherever_they_stand(tmp_path, source, expected):
    path = tmp_path / "mod.py"
    path.write_text(source, encoding="utf-8")
    known = {"kpbench.report.figures", "kpbench.report.blocks", "kpbench.cli.report", "kpbench.cost.compare"}
    assert imported_modules("kpbench.report.build", path, known) == expected


def test_a_cycle_through_three_modules_is_found():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
