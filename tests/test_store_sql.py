"""Every SQL statement of hwocr lives in :mod:`hwocr.store` (issue 13): outside it, no
module calls ``execute``/``executemany``/``executescript``, opens SQLite itself or holds a
string that reads as SQL. A schema change is then made in one package, next to every
statement it touches. The pages and app.py are held to the same rule (they read through
:mod:`hwocr.store.queries`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / "hwocr" / "store"

#: SQL in a string literal: upper-case keywords as the store writes them (prose in
#: messages says "select", not "SELECT … FROM").
_SQL = re.compile(
    r"\bSELECT\s.*\bFROM\b|\bSELECT\s+(COUNT|NOT|SUM|MAX|MIN|1)\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b"
    r"|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\b(CREATE|DROP)\s+(TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bALTER\s+TABLE\b|\bPRAGMA\s+\w+|^\s*(BEGIN|COMMIT|ROLLBACK)\b",
    re.DOTALL,
)
_EXECUTE = {"execute", "executemany", "executescript"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def sql_outside_store(path: Path, root: Path = REPO) -> list[str]:
    """``file:line: what`` for each statement or SQL string in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    where = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in _EXECUTE:
                found.append(f"{where}:{node.lineno}: .{func.attr}(…)")
            elif func.attr == "connect" and isinstance(func.value, ast.Name) and func.value.id == "sqlite3":
                found.append(f"{where}:{node.lineno}: sqlite3.connect(…)")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
              and _SQL.search(node.value)):
            found.append(f"{where}:{node.lineno}: SQL {node.value.strip()[:60]!r}")
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def checked_files(root: Path = REPO) -> list[Path]:
    files = [p for p in sorted((root / "hwocr").rglob("*.py")) if (root / "hwocr" / "store") not in p.parents]
    files += sorted((root / "pages").rglob("*.py")) if (root / "pages").is_dir() else []
    files += [root / "app.py"] if (root / "app.py").is_file() else []
    return files


def test_no_sql_outside_hwocr_store():
    found = [hit for path in checked_files() for hit in sql_outside_store(path)]
    assert not found, ("SQL outside hwocr/store (add a function to a store module and call it):\n"
                       + "\n".join(found))


def test_the_check_covers_the_modules_that_had_sql():
    names = {p.relative_to(REPO).as_posix() for p in checked_files()}
    assert {"hwocr/workspace.py", "hwocr/dataset.py", "hwocr/review.py", "hwocr/pipeline.py",
            "hwocr/ui/resources.py"} <= names
    assert not any(n.startswith("hwocr/store/") for n in names)


def test_the_store_has_sql_the_check_would_see():
    # The store modules themselves trip the check: it looks for what they really contain.
    assert sql_outside_store(STORE / "names.py") and sql_outside_store(STORE / "schema.py")


def test_each_way_of_writing_sql_is_caught(tmp_path):
    module = tmp_path / "hwocr" / "bad.py"
    module.parent.mkdir()
    module.write_text(
        '"""A docstring may say SELECT * FROM names."""\n'
        "import sqlite3\n"
        "def f(ws, conn, ids):\n"
        '    """So may this one: UPDATE names SET x = 1."""\n'
        '    ws.query("SELECT id FROM names WHERE status = ?", ("x",))\n'
        '    conn.execute(q)\n'
        '    conn.executemany(q, [])\n'
        '    marks = ",".join("?" for _ in ids)\n'
        '    sql = f"DELETE FROM chars WHERE id IN ({marks})"\n'
        '    text = ("UPDATE names "\n'
        '            "SET status = ?")\n'
        '    return sqlite3.connect("x"), "INSERT OR IGNORE INTO names (a) VALUES (?)", "PRAGMA user_version"\n',
        encoding="utf-8",
    )
    hits = sql_outside_store(module, tmp_path)
    assert [int(h.split(":")[1]) for h in hits] == [5, 6, 7, 9, 10, 12, 12, 12], hits
    clean = tmp_path / "hwocr" / "clean.py"
    clean.write_text('MESSAGE = "select a name, then update its boxes"\n', encoding="utf-8")
    assert sql_outside_store(clean, tmp_path) == []
