"""The hwocr modules form no import cycle — counting imports inside functions and under
``if TYPE_CHECKING:``, which keep a cycle from failing at start-up but not from tying two
modules together. The graph is read from the source by bench/import_graph.py, which also
prints the whole picture (edges, in-function imports and why each is lazy)."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_tool():
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "bench" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


import_graph = _load_tool()


def test_hwocr_has_no_import_cycle():
    graph = import_graph.build_graph(REPO)
    cycles = import_graph.find_cycles(graph.edges())
    assert not cycles, "import cycles among hwocr modules:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_in_function_import_dodges_a_cycle():
    graph = import_graph.build_graph(REPO)
    dodges = [f"{imp.source}:{imp.line} -> {imp.target}" for imp in graph.internal_in_function()
              if import_graph.reason(graph, imp) == "cycle"]
    assert not dodges, "in-function imports that hide a cycle:\n" + "\n".join(dodges)


def test_the_graph_covers_the_package():
    graph = import_graph.build_graph(REPO)
    for module in ("hwocr.cli", "hwocr.read", "hwocr.recognize", "hwocr.fetch", "hwocr.ui.resources"):
        assert module in graph.modules
    assert "hwocr.config" in graph.edges()["hwocr.read"]


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "hwocr" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.mark.parametrize(("a_text", "expected"), [
    ("from hwocr.b import thing\n", [["hwocr.a", "hwocr.b", "hwocr.a"]]),
    ("def f():\n    from hwocr.b import thing\n", [["hwocr.a", "hwocr.b", "hwocr.a"]]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hwocr.b import Thing\n",
     [["hwocr.a", "hwocr.b", "hwocr.a"]]),
    ("from . import b\n", [["hwocr.a", "hwocr.b", "hwocr.a"]]),
    ("import hwocr.b as bee\n", [["hwocr.a", "hwocr.b", "hwocr.a"]]),
    ("from hwocr import c\n", []),
    ("import numpy\n", []),
])
def test_a_cycle_is_found_however_it_is_spelled(tmp_path, a_text, expected):
    root = _package(tmp_path, {"__init__.py": "", "a.py": a_text, "c.py": "",
                               "b.py": "def g():\n    import hwocr.a\n"})
    graph = import_graph.build_graph(root)
    assert import_graph.find_cycles(graph.edges()) == expected


def test_a_longer_cycle_is_reported_as_a_path(tmp_path):
    root = _package(tmp_path, {"__init__.py": "", "a.py": "import hwocr.b\n", "b.py": "import hwocr.c\n",
                               "c.py": "def f():\n    from hwocr.a import x\n"})
    graph = import_graph.build_graph(root)
    assert import_graph.find_cycles(graph.edges()) == [["hwocr.a", "hwocr.b", "hwocr.c", "hwocr.a"]]
    (lazy,) = graph.internal_in_function()
    assert (lazy.source, lazy.target, import_graph.reason(graph, lazy)) == ("hwocr.c", "hwocr.a", "cycle")
