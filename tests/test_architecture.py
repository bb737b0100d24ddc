"""The package's shape: folders in pipeline order, imports that only point down, no circles.

Every import counts, wherever it is written (module level, inside a function, under
TYPE_CHECKING): a lazy import is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "metaxy_cli"
ROOT = "metaxy_cli"
# The data path, lowest first: a package may import its own modules and the packages before it.
LAYERS = ("definitions", "sql", "store", "engine", "render", "cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in path.parts}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The metaxy_cli modules that `path` imports (`from pkg import submodule` names the submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == ROOT)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == ROOT:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, known) - {name} for name, path in found.items()}


def layer_of(module: str) -> int | None:
    """The pipeline stage of a module; None for the package root and `__main__` (the top)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "__main__":
        return None
    return LAYERS.index(parts[1])


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if not state.get(target):
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if not state.get(start):
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_top_level_is_the_pipeline():
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert entries == sorted(["__init__.py", "__main__.py", *LAYERS])
    assert len(entries) <= 8
    for package in LAYERS:
        docstring = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and "May import" in docstring, f"{package}/__init__.py must say what it owns and may import"


def test_every_module_belongs_to_a_stage():
    for name in modules():
        assert name == ROOT or layer_of(name) is not None or name.endswith("__main__"), name


def test_no_import_circles():
    assert find_cycle(import_graph()) is None


def test_imports_point_down_the_pipeline():
    upward = []
    for module, targets in import_graph().items():
        mine = layer_of(module)
        if mine is None:
            continue
        for target in targets:
            theirs = layer_of(target)
            if theirs is None or theirs > mine:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_cycle_finder_finds_circles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_sql_builders_receive_resolved_features():
    """No query builder looks a feature up in the project: they take sql.resolved objects."""
    for path in (PACKAGE / "sql").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ".feature(" not in text, path.name
        assert "project.graph" not in text or path.name == "resolved.py", path.name
