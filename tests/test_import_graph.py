"""The hwocr modules form no import cycle — counting imports inside functions and under
``if TYPE_CHECKING:``, which keep a cycle from failing at start-up but not from tying two
modules together — and an import of an hwocr module sits inside a function only to keep a
library off start-up. The graph is read from the source by bench/import_graph.py, which also
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


def test_every_in_function_import_keeps_a_library_off_start_up():
    # One that could be a top-level import at no cost ("none") belongs at the top.
    graph = import_graph.build_graph(REPO)
    needless = [f"{imp.source}:{imp.line} -> {imp.target}" for imp in graph.internal_in_function()
                if import_graph.reason(graph, imp) == "none"]
    assert not needless, "in-function imports that could be top-level imports:\n" + "\n".join(needless)


def test_streamlit_is_imported_only_by_the_ui():
    graph = import_graph.build_graph(REPO)
    outside = [f"{imp.source}:{imp.line}" for imp in graph.imports
               if imp.target == "streamlit" and not imp.source.startswith("hwocr.ui")]
    assert not outside, outside


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


@pytest.mark.parametrize(("files", "expected"), [
    # Nothing slow behind it: it could be at the top.
    ({"a.py": "def f():\n    from hwocr.b import x\n", "b.py": "import json\n"}, "none"),
    # A slow library the importer does not load already.
    ({"a.py": "def f():\n    from hwocr.b import x\n", "b.py": "import numpy\n"}, "start-up"),
    ({"a.py": "import numpy\ndef f():\n    from hwocr.b import x\n", "b.py": "import numpy\n"}, "none"),
    # On the command line's start-up path any library it does not load counts.
    ({"cli.py": "def f():\n    from hwocr.b import x\n", "b.py": "import zipfile\n"}, "start-up"),
    ({"cli.py": "import hwocr.a\n", "a.py": "def f():\n    from hwocr.b import x\n", "b.py": "import zipfile\n"},
     "start-up"),
    ({"cli.py": "import zipfile\ndef f():\n    from hwocr.b import x\n", "b.py": "import zipfile\n"}, "none"),
])
def test_why_an_in_function_import_is_lazy(tmp_path, files, expected):
    root = _package(tmp_path, {"__init__.py": "", **files})
    graph = import_graph.build_graph(root)
    (lazy,) = graph.internal_in_function()
    assert import_graph.reason(graph, lazy) == expected


def test_a_package_imported_with_its_module_shares_the_module_reason(tmp_path):
    # ``from hwocr.p.q import x`` imports hwocr.p too: one statement, one reason.
    root = _package(tmp_path, {"__init__.py": "", "a.py": "def f():\n    from hwocr.p.q import x\n",
                               "p/__init__.py": "", "p/q.py": "import cv2\n"})
    graph = import_graph.build_graph(root)
    assert sorted((imp.target, import_graph.reason(graph, imp)) for imp in graph.internal_in_function()) == [
        ("hwocr.p", "start-up"), ("hwocr.p.q", "start-up")]
