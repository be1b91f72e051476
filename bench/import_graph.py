"""The import graph of the ``hwocr`` package, read from the source (nothing is imported).

    .venv/bin/python bench/import_graph.py            # summary: counts, cycles, in-function imports
    .venv/bin/python bench/import_graph.py --edges    # and every edge
    .venv/bin/python bench/import_graph.py --sizes    # and lines per module, long functions

Every ``import`` of an hwocr module counts, at the top of a module, inside a function or
under ``if TYPE_CHECKING:``: a cycle that a function-level import keeps from failing at
start-up, or that only a type annotation closes, is still a cycle (the two modules cannot
be understood, tested or moved apart). Importing ``hwocr.a.b`` runs ``hwocr/a/__init__``
too, so that counts as an edge to the package as well.

Each in-function import of an hwocr module gets a reason category, worked out from the
graph rather than from comments:

* ``cycle`` — the imported module reaches back to the importer: the import dodges a cycle;
* ``start-up`` — importing the module at the top would pull in a slow third-party library
  (TensorFlow, Streamlit, OpenCV, numba, NumPy, pandas, …) that the importer's own top-level
  imports do not, or, for a module on the top-level import path of an entry point a person
  waits on (``hwocr``'s command line, reading a drawing: ENTRY_POINTS), any library that the
  entry point does not load already (process pools, zipfile, sqlite3, …): kept lazy so that
  start-up stays fast;
* ``none`` — neither: it could be a top-level import at no cost.

tests/test_import_graph.py loads this file and fails on any cycle and on any ``none``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "hwocr"
#: Third-party modules slow enough to import (tens to thousands of milliseconds) that a
#: lazy import which avoids them counts as one for start-up speed.
HEAVY = frozenset({"tensorflow", "keras", "streamlit", "cv2", "numba", "numpy", "pandas", "scipy", "sklearn",
                   "matplotlib", "PIL", "urllib3"})
#: What a person waits on: ``hwocr`` (every command, ``--help`` too) and reading a drawing.
#: On their top-level import path every library counts, not only the HEAVY ones.
ENTRY_POINTS = ("hwocr.cli", "hwocr.read")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as an edge of the graph."""

    source: str    # importing module, e.g. "hwocr.read"
    target: str    # imported module, e.g. "hwocr.recognize" (or a third-party top name)
    line: int
    in_function: bool
    type_only: bool = False   # under ``if TYPE_CHECKING:``: never runs, still a dependency


def module_files(root: Path = REPO) -> dict[str, Path]:
    """Every module of the package by dotted name (packages as their ``__init__``)."""
    pkg_dir = root / PACKAGE
    out: dict[str, Path] = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name a ``from … import`` reads from."""
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(source: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: set[str]) -> list[str]:
    """The modules one statement imports: hwocr modules by full name, others by top name."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _resolve(source, is_package, node)
        names = [base]
        # ``from hwocr import read`` / ``from hwocr.ui import state`` import submodules.
        names += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
    out: list[str] = []
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            # The deepest module that exists (``import hwocr.ui.state`` -> hwocr.ui.state),
            # plus the packages above it, whose __init__ runs first.
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            out += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        else:
            out.append(name.split(".")[0])
    return out


def module_imports(source: str, path: Path, modules: set[str]) -> list[Import]:
    """The imports of one module, marked as top-level or in a function (type-checking ones left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    own_packages = {".".join(source.split(".")[:i]) for i in range(1, source.count(".") + 1)}
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, in_function, True)
            for child in node.orelse:
                visit(child, in_function, type_only)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(source, is_package, node, modules):
                # A module's own packages are initialised before it runs: not an edge.
                if target != source and target not in own_packages:
                    found.append(Import(source, target, node.lineno, in_function, type_only))
            return
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner, type_only)

    visit(tree, False, False)
    # One edge per (target, place): ``from x import a`` twice in a function is one import.
    unique: dict[tuple[str, int], Import] = {}
    for imp in found:
        unique.setdefault((imp.target, imp.line), imp)
    return list(unique.values())


@dataclass(frozen=True)
class Graph:
    modules: tuple[str, ...]
    imports: tuple[Import, ...]

    def edges(self, *, in_function: bool | None = None, runtime: bool = False) -> dict[str, set[str]]:
        """hwocr -> hwocr edges; ``in_function`` None for all, True/False for one kind;
        ``runtime`` leaves out the type-checking ones."""
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.target in out and (in_function is None or imp.in_function == in_function) and not (
                    runtime and imp.type_only):
                out[imp.source].add(imp.target)
        return out

    def loaded_at_start(self, module: str) -> set[str]:
        """Third-party top-level names that importing ``module`` loads (top-level imports only)."""
        top = self.edges(in_function=False, runtime=True)
        reach = _reachable(top, module) | {module}
        return {imp.target for imp in self.imports
                if imp.source in reach and not imp.in_function and not imp.type_only
                and imp.target not in self.modules}

    def internal_in_function(self) -> list[Import]:
        return [imp for imp in self.imports if imp.in_function and imp.target in self.modules]


def build_graph(root: Path = REPO) -> Graph:
    files = module_files(root)
    names = set(files)
    imports: list[Import] = []
    for name, path in files.items():
        imports += module_imports(name, path, names)
    return Graph(tuple(sorted(files)), tuple(imports))


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules (Tarjan's SCCs,
    then a breadth-first search inside each), so a report names concrete loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        # Iterative Tarjan: the graph is small, but recursion depth is not worth the risk.
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == node:
                        break
                if len(group) > 1 or node in edges.get(node, ()):
                    groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)

    cycles: list[list[str]] = []
    for group in sorted(groups):
        members = set(group)
        start = group[0]
        # Shortest path start -> ... -> start inside the group.
        parents: dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt_frontier = []
            for node in frontier:
                for w in sorted(edges.get(node, ())):
                    if w not in members:
                        continue
                    if w == start:
                        found = node
                        break
                    if w not in parents:
                        parents[w] = node
                        nxt_frontier.append(w)
                if found is not None:
                    break
            frontier = nxt_frontier
        path = [found]
        while path[-1] != start:
            path.append(parents[path[-1]])
        cycles.append([*reversed(path), start])
    return cycles


def reason(graph: Graph, imp: Import) -> str:
    """Why an in-function hwocr import is in a function: cycle, start-up or none (see module doc)."""
    if imp.source in _reachable(graph.edges(), imp.target):
        return "cycle"
    # ``from hwocr.a.b import c`` imports hwocr.a with hwocr.a.b: one statement, b's reason.
    deeper = [other for other in graph.imports if other.source == imp.source and other.line == imp.line
              and other.target.startswith(imp.target + ".") and other.target in graph.modules]
    if deeper:
        return reason(graph, deeper[0])
    target_loads = graph.loaded_at_start(imp.target)
    if (target_loads - graph.loaded_at_start(imp.source)) & HEAVY:
        return "start-up"
    top = graph.edges(in_function=False, runtime=True)
    for entry in ENTRY_POINTS:
        on_path = imp.source == entry or imp.source in _reachable(top, entry)
        if on_path and target_loads - graph.loaded_at_start(entry):
            return "start-up"
    return "none"


def report(graph: Graph, *, show_edges: bool = False) -> str:
    edges = graph.edges()
    n_edges = sum(len(v) for v in edges.values())
    lines = [f"{len(graph.modules)} hwocr modules, {n_edges} edges between them"]
    if show_edges:
        top = graph.edges(in_function=False)
        for src in graph.modules:
            for dst in sorted(edges[src]):
                kind = "" if dst in top[src] else "  (in function or type-checking)"
                lines.append(f"  {src} -> {dst}{kind}")
    inner = graph.internal_in_function()
    reasons: Counter[str] = Counter()
    detail = []
    for imp in sorted(inner, key=lambda i: (i.source, i.line, i.target)):
        why = reason(graph, imp)
        reasons[why] += 1
        detail.append(f"  {imp.source}:{imp.line} -> {imp.target}  [{why}]")
    lines.append(f"{len(inner)} in-function imports of hwocr modules: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    lines += detail
    cycles = find_cycles(edges)
    lines.append(f"{len(cycles)} import cycle(s) (counting in-function imports)")
    lines += ["  " + " -> ".join(c) for c in cycles]
    return "\n".join(lines)


#: A function longer than this many lines (signature, docstring and body) is counted as long.
LONG_FUNCTION = 80


def sizes(root: Path = REPO) -> str:
    """Lines per module (largest first) and every function over LONG_FUNCTION lines: the
    size figures of docs/ARCHITECTURE.md's before/after table."""
    files = module_files(root)
    counts = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in files.items()}
    long_fns = []
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > LONG_FUNCTION:
                    long_fns.append((length, f"{name}.{node.name}"))
    lines = [f"{len(counts)} modules, {sum(counts.values()):,} lines"]
    lines += [f"  {n:6,}  {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"{len(long_fns)} function(s) over {LONG_FUNCTION} lines")
    lines += [f"  {n:6,}  {name}" for n, name in sorted(long_fns, reverse=True)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="list every edge")
    parser.add_argument("--sizes", action="store_true", help="lines per module and functions over 80 lines")
    args = parser.parse_args(argv)
    graph = build_graph()
    print(report(graph, show_edges=args.edges))
    if args.sizes:
        print(sizes())
    return 1 if find_cycles(graph.edges()) else 0


if __name__ == "__main__":
    sys.exit(main())
