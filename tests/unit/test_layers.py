"""The import graph of the four packages: no import runs upward, and no two modules import
each other, directly or round a longer loop (docs/design.md §8).

Layers, lowest first: ``states`` (pure rules) ← the kernel (``workflow.kernel``: db, clock,
settings, models, audit, calendar) ← ``notifications`` ← application services
(``workflow.services``) ← entry points (``workflow.entrypoints``, ``workflow.demo``,
``workers``) and the composition root ``workflow.bootstrap``, which may import everything.

Every ``import`` counts, wherever it is written: an import inside a function is how an upward
import or a cycle usually hides (it dodges the ImportError the module-level one would raise),
so it is read here like any other. Alembic's migrations are scripts run by Alembic, not part of
the graph. Reads the source with :mod:`ast`; nothing is imported, so the test needs no server.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("states", "workflow", "workers", "notifications")
SKIPPED = ("workflow.kernel.migrations",)

# Longest prefix wins. ``workflow`` itself is only a package marker (its __init__ imports
# nothing); it sits with the kernel so that nothing may depend on it from below.
LAYERS = {
    "states": 0,
    "workflow": 1,
    "workflow.kernel": 1,
    "notifications": 2,
    "workflow.services": 3,
    "workflow.entrypoints": 4,
    "workflow.demo": 4,
    "workflow.bootstrap": 4,
    "workers": 4,
}
LAYER_NAMES = {0: "states", 1: "kernel", 2: "notifications", 3: "services", 4: "entry points"}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = module_name(path)
            if not name.startswith(SKIPPED):
                found[name] = path
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        found = LAYERS.get(".".join(parts[:n]))
        if found is not None:
            return found
    raise AssertionError(f"{module}: no layer; add its package to LAYERS")


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of ours that ``name`` (a dotted path, maybe ending in an attribute) names."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


class _Collector(ast.NodeVisitor):
    """Every import of one module, remembering whether it sits inside a function."""

    def __init__(self, module: str, is_package: bool, known: dict[str, Path]) -> None:
        self.module, self.known = module, known
        self.package = module if is_package else module.rpartition(".")[0]
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, name: str, node: ast.stmt) -> None:
        target = _resolve(name, self.known)
        if target is not None and target != self.module:
            self.found.append(Import(self.module, target, node.lineno, self.depth > 0))

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            # ``from pkg import sub`` imports the module pkg.sub when there is one.
            self._add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in self.known else base, node)


def imports() -> list[Import]:
    known = modules()
    found: list[Import] = []
    for name, path in known.items():
        collector = _Collector(name, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(collector.found)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's strongly connected components with more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def _where(imp: Import) -> str:
    return f"{imp.source}:{imp.line}{' (inside a function)' if imp.in_function else ''}"


def upward_imports(found: list[Import]) -> list[str]:
    return [
        f"{_where(i)} imports {i.target}: {LAYER_NAMES[layer(i.source)]} → {LAYER_NAMES[layer(i.target)]}"
        for i in found
        if layer(i.target) > layer(i.source)
    ]


def cycles(found: list[Import]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for i in found:
        graph.setdefault(i.source, set()).add(i.target)
        graph.setdefault(i.target, set())
    out = []
    for component in strongly_connected(graph):
        members = set(component)
        edges = sorted(
            {f"{_where(i)} → {i.target}" for i in found if i.source in members and i.target in members}
        )
        out.append(" ↔ ".join(component) + "\n      " + "\n      ".join(edges))
    return out


def test_the_checker_sees_imports_inside_functions_and_cycles() -> None:
    """The checker itself: a function-level import is an edge; a loop of three is a cycle."""
    tree = ast.parse("def f():\n    from workflow.services import sweep\n")
    collector = _Collector("workflow.kernel.x", False, {"workflow.services.sweep": ROOT})
    collector.visit(tree)
    assert collector.found == [Import("workflow.kernel.x", "workflow.services.sweep", 2, True)]
    assert list(strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]
    assert upward_imports(collector.found)


def test_every_module_has_a_layer() -> None:
    for name in modules():
        layer(name)


def test_no_import_runs_upward() -> None:
    found = upward_imports(imports())
    assert not found, f"{len(found)} upward import(s):\n  " + "\n  ".join(found)


def test_no_import_cycle() -> None:
    found = cycles(imports())
    assert not found, f"{len(found)} import cycle(s):\n  " + "\n  ".join(found)


MAX_MODULE_LINES = 450


def test_no_module_over_450_lines() -> None:
    """A module past 450 lines is doing more than one job; split it by job.

    Same files as the import graph: every ``.py`` under the four packages, Alembic's migrations
    excepted."""
    long = sorted(
        (n, path.relative_to(ROOT).as_posix())
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    )
    assert not long, f"{len(long)} module(s) over {MAX_MODULE_LINES} lines:\n  " + "\n  ".join(
        f"{path}: {n} lines" for n, path in reversed(long)
    )
