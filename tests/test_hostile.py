"""Hostile input through the real entry points: bad CSVs, images, URLs, redirects and zips
(tests/hostile/corpus.py) given to ``python -m hwocr import`` and to the Import page; a
read-only workspace; formulas that must not reach any CSV hwocr writes.

Every case must end with one clear line (or one reason per row), no traceback, the
database intact, every crop file with its row, and nothing written outside the
workspace (the folder around it is listed before and after each run).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hwocr.text import FORMULA_PREFIXES
from hwocr.ui import state
from hwocr.workspace import Workspace
from tests.helpers import add_name, files_in_dataset, rows_in_chars
from tests.hostile import harness
from tests.hostile.corpus import Case, all_cases, cases_of, name_png
from tests.httpserver import LocalServer

REPO = Path(__file__).resolve().parent.parent
IMPORT = str(REPO / "pages" / "1_Import.py")
REVIEW = str(REPO / "pages" / "2_Review.py")

CASES = all_cases()


def case_id(case: Case) -> str:
    return f"{case.category}-{case.name}"


# --- the command line ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        srv.route("/a.png", lambda handler, hit: handler.send(200, name_png(), {"Content-Type": "image/png"}))
        yield srv


@pytest.fixture(scope="module")
def cli_outcomes(tmp_path_factory, server):
    """The whole corpus through ``python -m hwocr import``, four runs at a time."""
    return harness.run_all(list(CASES), tmp_path_factory.mktemp("hostile_cli"), server)


def test_the_corpus_covers_every_category():
    counts = {c: len(cases_of(c)) for c in ("csv", "image", "url", "redirect", "zip")}
    assert counts == {"csv": 24, "image": 21, "url": 24, "redirect": 8, "zip": 16}
    assert len({case.name for case in CASES}) == len(CASES)
    # The committed corpus is code; the biggest input it builds stays small on disk.
    assert max(len(case.data) for case in CASES) < 300_000


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cli_handles(case, cli_outcomes):
    outcome = cli_outcomes[case.name]
    assert harness.problems(case, outcome) == []


def test_cli_file_level_messages_are_exact(cli_outcomes, tmp_path):
    # Spot checks of the whole line, on top of the ending every case is checked for.
    assert cli_outcomes["header_only"].stderr == "hwocr: header_only.csv: the file has a header but no data rows\n"
    assert cli_outcomes["xlsx"].stderr == (
        "hwocr: xlsx.csv: is a zip archive or an Excel workbook, not a CSV; save it as CSV (UTF-8)\n")
    assert cli_outcomes["zip_claims_6_gb"].stderr.startswith("hwocr: images.zip: expands to 6,000,000,")


def test_cli_rows_name_their_reason_on_stdout(cli_outcomes):
    out = cli_outcomes["file_scheme"].stdout.splitlines()
    assert out[:3] == [
        "names.csv: 24 rows (original layout, utf-8)",
        "  24 new names, 0 already in the workspace, 0 skipped (no usable transcription), 0 duplicate unit_id(s) "
        "kept once",
        "  images: 0 fetched, 24 failed, in " + out[2].rsplit(" in ", 1)[1],
    ]
    assert len(out) == 3 + 10 + 1 and out[-1] == "    … 14 more: `python -m hwocr status --failures`"
    assert all(re.fullmatch(r"    \w+: refused: .+", line) for line in out[3:13])


def test_terminal_escapes_from_a_csv_are_neutralised(tmp_path):
    """A unit_id can hold escape sequences (clear the screen, set the window title):
    the CLI prints them as '?' in every human-readable line, on stdout and stderr."""
    arena = harness.Arena(tmp_path / "arena")
    evil = "\x1b]0;pwned\x07EVIL\x1b[2J\x9b31m"
    csv_path = harness.write_csv(arena.inputs / "names.csv", [(evil, "images/missing.png", "AB")])
    imported = harness.run_cli(arena, ["import", str(csv_path)])
    assert imported.exit_code == 3
    assert "    ?]0;pwned?EVIL?[2J?31m: no such file images/missing.png" in imported.stdout.splitlines()
    status = harness.run_cli(arena, ["status", "--failures"])
    assert "  ?]0;pwned?EVIL?[2J?31m: fetch_failed: no such file images/missing.png" in status.stdout.splitlines()
    bad = harness.Arena(tmp_path / "arena2")
    header = f"unit_id,{evil},transcription\nA,b,C\n".encode()
    (bad.inputs / "h.csv").write_bytes(header)
    refused = harness.run_cli(bad, ["import", str(bad.inputs / "h.csv")])
    # Header cells are quoted with repr(), which spells control characters out.
    assert refused.exit_code == 2 and "'\\x1b]0;pwned\\x07EVIL\\x1b[2J\\x9b31m'" in refused.stderr
    for text in (imported.stdout, imported.stderr, status.stdout, refused.stderr):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    # The JSON output keeps the data exactly (escaped by JSON itself).
    as_json = harness.run_cli(arena, ["status", "--failures", "--json"])
    assert json.loads(as_json.stdout)["failures"][0]["unit_id"] == evil


def test_refused_urls_never_reach_the_server(cli_outcomes, server):
    hits = dict(server.hits)
    # Only the allowed server's own redirecting routes were asked, once each; the image
    # every other case points at was never requested (loopback, decimal, octal, hex,
    # localhost, IPv6 forms: all refused before connecting).
    assert hits.get("/a.png", 0) == 0
    assert sorted(hits) == sorted(f"/r/{case.name}" for case in cases_of("redirect"))
    assert set(hits.values()) == {1}


def test_accepted_odd_images_are_segmented_and_harvested(cli_outcomes):
    rows = cli_outcomes["sixteen_bit_png"].rows
    for case in cases_of("image"):
        status, _ = rows[case.name]
        if case.level == "ok":
            assert status in ("matched", "repaired", "needs_review", "failed"), (case.name, status)
    # The fully transparent PNG is blank paper: segmented, nothing found.
    assert rows["transparent_png"][0] == "failed"


def test_metadata_addresses_stay_refused_when_private_ones_are_allowed(monkeypatch):
    from hwocr.errors import InputError, UnsafeSourceError
    from hwocr.fetch import check_url

    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "1")
    assert check_url("http://10.1.2.3/a.png") == "http://10.1.2.3/a.png"
    for url, reason in [
        ("http://169.254.169.254/latest/", "169.254.169.254 is a link-local address"),
        ("http://100.100.100.200/latest/", "100.100.100.200 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe embeds 169.254.169.254, a link-local address"),
    ]:
        with pytest.raises(UnsafeSourceError) as info:
            check_url(url)
        assert str(info.value) == f"{reason} (list it in HWOCR_ALLOW_PRIVATE_URLS to allow)"
    # Listed by address, it is allowed (a lab's own metadata mock, say).
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "169.254.169.254, 10.0.0.0/8")
    assert check_url("http://169.254.169.254/x") == "http://169.254.169.254/x"
    with pytest.raises(UnsafeSourceError):
        check_url("http://192.168.1.1/x")
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "yes-please")
    with pytest.raises(InputError) as info:
        check_url("http://example.com/x")
    assert str(info.value) == ("HWOCR_ALLOW_PRIVATE_URLS=yes-please: yes-please is not an IP address or network; "
                               "use 1 to allow private addresses, or list them (127.0.0.1,192.168.0.0/16)")


def test_bad_allow_private_setting_is_one_line_from_the_cli(tmp_path):
    arena = harness.Arena(tmp_path / "arena")
    csv_path = harness.write_csv(arena.inputs / "names.csv", [("A1", "http://example.com/a.png", "AB")])
    outcome = harness.run_cli(arena, ["import", str(csv_path)], allow_private="everything")
    assert outcome.exit_code == 2
    assert outcome.stderr == ("hwocr: HWOCR_ALLOW_PRIVATE_URLS=everything: everything is not an IP address or "
                              "network; use 1 to allow private addresses, or list them (127.0.0.1,192.168.0.0/16)\n")
    assert outcome.integrity == "ok" and outcome.outside_changes == []


# --- the Import page -------------------------------------------------------------------------


def plain(markdown: str) -> str:
    """A message as the person reads it: markdown escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def page_texts(at: AppTest) -> str:
    """Everything the page shows as text, as a person reads it (markdown unescaped;
    st.text is shown as it is)."""
    parts = [plain(m.value) for m in at.markdown] + [plain(c.value) for c in at.caption]
    parts += [plain(e.value) for e in [*at.warning, *at.info, *at.success]] + [t.value for t in at.text]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def page_ws(tmp_path, monkeypatch) -> Workspace:
    """A workspace inside an arena whose surroundings are checked after the test."""
    arena = harness.Arena(tmp_path / "arena")
    monkeypatch.setenv("HWOCR_WORKSPACE", str(arena.ws))
    monkeypatch.delenv("HWOCR_ALLOW_PRIVATE_URLS", raising=False)
    before = arena.snapshot()
    ws = Workspace(arena.ws)
    yield ws
    assert ws.integrity_check() == "ok"
    assert files_in_dataset(ws) == rows_in_chars(ws)
    assert arena.snapshot() == before
    # Uploads are kept in the workspace's uploads folder and nowhere else in it.
    assert {p.parent for p in ws.root.rglob("*") if p.is_file() and "upload" in p.parent.name} <= {
        ws.root / "uploads"}


def import_page(csv_name: str, data: bytes, zip_data: bytes | None = None) -> AppTest:
    at = AppTest.from_file(IMPORT, default_timeout=120)
    at.session_state[state.REVIEWER] = "tester"
    at.run()
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload(csv_name, data, "text/csv")
    if zip_data is not None:
        at.file_uploader(key=state.IMPORT_ZIP_UPLOAD).upload("images.zip", zip_data, "application/zip")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def start_import(at: AppTest, *, segment: bool = True) -> AppTest:
    if not segment:
        at.checkbox(key=state.IMPORT_SEGMENT).uncheck()
    at.button(key=state.IMPORT_START).click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    return at


def has_start_button(at: AppTest) -> bool:
    return any(b.key == state.IMPORT_START for b in at.button)


def assert_inert(markdown: str) -> None:
    """No link, image, HTML, code or math can be made from this markdown."""
    for ch in "[]<>`$":
        assert not re.search(r"(?<!\\)" + re.escape(ch), markdown), (ch, markdown)


IMAGES_ZIP = harness.zip_of({"images/ok.png": name_png()})


@pytest.mark.parametrize("case", cases_of("csv"), ids=case_id)
def test_import_page_csv(case, page_ws):
    at = import_page(f"{case.name}.csv", case.data, IMAGES_ZIP)
    if case.level == "file":
        assert len(at.error) == 1, page_texts(at)
        assert plain(at.error[0].value).endswith(case.expect)
        assert_inert(at.error[0].value)
        assert not has_start_button(at)
    else:
        assert not at.error, [e.value for e in at.error]
        assert has_start_button(at)
    assert page_ws.query_one("SELECT COUNT(*) FROM names")[0] == 0  # a preview writes no names


@pytest.mark.parametrize("name", ["formula_cells", "unclosed_quote", "utf16_without_bom", "old_mac_newlines"])
def test_import_page_imports_odd_csvs_row_by_row(name, page_ws):
    case = next(c for c in cases_of("csv") if c.name == name)
    start_import(import_page(f"{case.name}.csv", case.data, IMAGES_ZIP), segment=False)
    got = {r["unit_id"]: (r["status"], r["reason"]) for r in page_ws.query("SELECT unit_id, status, reason FROM names")}
    # The page reads the images from the uploaded zip, whose name the reasons mention.
    got = {k: (status, reason and re.sub(r" in the zip \w+_images\.zip$", "", reason))
           for k, (status, reason) in got.items()}
    assert got == case.rows


@pytest.mark.parametrize("case", cases_of("zip"), ids=case_id)
def test_import_page_zip(case, page_ws):
    csv_bytes = b"unit_id,image_url,transcription\nOK1,images/ok.png,MARTIN\n" + (
        f"X,{case.source},JEAN\n".encode())
    at = import_page("names.csv", csv_bytes, case.data)
    shown = page_texts(at)
    if case.name in ("zip_truncated", "not_a_zip"):
        assert [plain(e.value) for e in at.error] == ["images.zip: is not a zip file; upload a .zip of the images"]
        return
    assert not at.error, [e.value for e in at.error]
    if case.level == "file":
        # The zip cannot be used at all: every row says why, and the page warns.
        assert shown.count(case.expect) == 2
        assert "Some of the first rows' images cannot be read" in shown
        return
    # The preview reads the zip itself: the reason without the fetcher's "refused: ".
    assert f"⚠ image: {case.expect.removeprefix('refused: ')}" in shown
    assert len(at.image) == 1  # the good image's thumbnail, next to the refused one


def test_import_page_bad_images_are_listed_with_their_reasons(page_ws):
    cases = cases_of("image")
    csv_bytes = b"unit_id,image_url,transcription\n" + b"".join(
        f"{c.name},images/{c.name}.img,MARTIN\n".encode() for c in cases)
    zip_data = harness.zip_of({f"images/{c.name}.img": c.data for c in cases})
    # Not segmented here: AppTest runs the page alone, where its link to the Review page
    # (shown when names need review) cannot be resolved. The CLI test segments them.
    at = start_import(import_page("names.csv", csv_bytes, zip_data), segment=False)
    failures = at.dataframe[-1].value
    got = dict(zip(failures["unit_id"], failures["reason"]))
    want = {c.name: c.expect for c in cases if c.level == "row"}
    assert {k: got.get(k) for k in want} == want
    assert set(got) == set(want)
    statuses = {r["unit_id"]: r["status"] for r in page_ws.query("SELECT unit_id, status FROM names")}
    assert all(statuses[c.name] != "fetch_failed" for c in cases if c.level == "ok")


def test_import_page_bad_urls_are_refused_without_a_request(page_ws, server):
    server.reset_counts()
    cases = cases_of("url")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["unit_id", "image_url", "transcription"])
    for c in cases:
        writer.writerow([c.name, c.source.replace("{port}", str(server.port)), "MARTIN"])
    at = start_import(import_page("urls.csv", buf.getvalue().encode(), IMAGES_ZIP), segment=False)
    failures = at.dataframe[-1].value
    assert dict(zip(failures["unit_id"], failures["reason"])) == {c.name: c.expect for c in cases}
    assert server.hits == {}
    assert [m.value for m in at.metric][:5] == [str(len(cases)), str(len(cases)), "0", str(len(cases)), "0"]


def test_markdown_in_a_csv_header_is_shown_as_text(page_ws):
    case = next(c for c in cases_of("csv") if c.name == "markdown_in_header")
    at = import_page("names.csv", case.data)
    (error,) = at.error
    assert "\\[pwned\\](http://evil.example/x.png)" in error.value
    assert_inert(error.value)


# --- formulas never reach a CSV hwocr writes ----------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "=cmd|' /C calc'!A0"]


def letters_image(text: str):
    """Printed letters on paper with their boxes (crops the Kaggle export can read)."""
    import cv2
    import numpy as np

    from hwocr.boxes import Box

    img = np.full((40, 12 + 28 * len(text)), 255, np.uint8)
    boxes = []
    for i, ch in enumerate(text):
        cv2.putText(img, ch, (8 + 28 * i, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2, cv2.LINE_AA)
        boxes.append(Box(4 + 28 * i, 4, 32 + 28 * i, 36))
    return img, boxes


def _cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]


def _defused(cell: str) -> bool:
    return not cell.startswith(FORMULA_PREFIXES)


def test_formulas_from_the_csv_are_defused_in_every_csv_hwocr_writes(page_ws, tmp_path):
    from hwocr.dataset import export_dataset, harvest
    from hwocr.pipeline import import_csv
    from hwocr.store.queries import import_failures
    from hwocr.ui.tables import failures_csv

    ws = page_ws
    image, boxes = letters_image("AB")
    for unit_id in FORMULAS[:5]:
        add_name(ws, unit_id, "AB", image=image, boxes=boxes)
    assert harvest(ws).written == 10
    # And failures whose id, source and reason come from the CSV.
    csv_path = tmp_path / "formulas.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unit_id", "image_url", "transcription"])
        writer.writerows([["=F1", "=cmd|' /C calc'!A0", "AB"], ["@F2", "+x.png", "CD"], ["-F3", "-1.png", ""]])
    import_csv(ws, csv_path, images_root=tmp_path)

    # 1. the manifest inside the zip export
    info = export_dataset(ws, "zip", ws.exports_dir / "out.zip")
    import zipfile

    with zipfile.ZipFile(info["path"]) as zf:
        manifest = zf.read("labels.csv")
    rows = list(csv.reader(io.StringIO(manifest.decode())))
    assert len(rows) == 11
    assert sorted(r[2] for r in rows[1:]) == sorted("'" + u for u in FORMULAS[:5] for _ in range(2))
    assert all(_defused(cell) for cell in _cells(manifest))
    # 2. the Import page's "failures as CSV" download
    data = failures_csv(import_failures(ws, "formulas.csv"))
    cells = _cells(data)
    assert {"'=F1", "'@F2", "'-F3", "'=cmd|' /C calc'!A0", "'+x.png", "'-1.png"} <= set(cells)
    assert all(_defused(cell) for cell in cells)
    # 3. the Kaggle A-Z CSV: numbers only
    info = export_dataset(ws, "csv", ws.exports_dir / "out.csv")
    kaggle = Path(info["path"]).read_bytes()
    assert all(re.fullmatch(r"\d+", cell) for cell in _cells(kaggle))


# --- a read-only workspace ---------------------------------------------------------------------


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _can_mount_read_only(tmp_path: Path) -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    proc = subprocess.run(["unshare", "-m", "sh", "-c",
                           f"mount --bind {probe} {probe} && mount -o remount,bind,ro {probe} && "
                           f"! touch {probe}/x 2>/dev/null"], capture_output=True, timeout=30)
    return proc.returncode == 0


READ_ONLY_SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.session_state["session.reviewer"] = "tab-ro"
at.run()
print(json.dumps({"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception]}))
"""


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory) -> Path:
    from hwocr.dataset import harvest
    from hwocr.demo import generate_demo
    from hwocr.pipeline import import_csv, segment_workspace

    root = tmp_path_factory.mktemp("readonly")
    csv_path, _ = generate_demo(root / "demo", count=12, seed=4)
    ws = Workspace(root / "ws")
    import_csv(ws, csv_path)
    segment_workspace(ws, workers=1)
    harvest(ws)
    ws.close()
    return root


def test_read_only_workspace_is_a_clear_message_and_stays_intact(demo_workspace, tmp_path):
    """A real read-only bind mount of the workspace (in a private mount namespace, so
    nothing outlives the test), then every writing command and the Review page."""
    if not _can_mount_read_only(tmp_path):
        pytest.skip("cannot make a read-only bind mount here (needs unshare and mount)")
    ws_dir = tmp_path / "ws"
    shutil.copytree(demo_workspace / "ws", ws_dir)
    before = _tree_digest(ws_dir)
    demo_csv = demo_workspace / "demo" / "names.csv"
    mount = f"mount --bind {ws_dir} {ws_dir} && mount -o remount,bind,ro {ws_dir}"
    message = f"hwocr: the workspace in {ws_dir} is read-only; hwocr needs to write there\n"
    env = harness.cli_env()
    for args in (["import", str(demo_csv)], ["segment", "--redo"], ["harvest"], ["check"],
                 ["export", "--format", "zip", str(tmp_path / "out.zip")], ["status"]):
        cmd = " ".join([sys.executable, "-m", "hwocr", *args, "--quiet", "--workspace", str(ws_dir)])
        proc = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount} && {cmd}"], capture_output=True,
                              text=True, timeout=120, env=env, cwd=REPO)
        assert (proc.returncode, proc.stderr) == (1, message), args
    script = tmp_path / "page.py"
    script.write_text(READ_ONLY_SCRIPT)
    proc = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount} && {sys.executable} {script} {REVIEW}"],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**env, "HWOCR_WORKSPACE": str(ws_dir)})
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown == {"errors": [f"The workspace cannot be opened: the workspace in {ws_dir} is read-only; hwocr "
                                f"needs to write there"], "exceptions": []}
    assert not (tmp_path / "out.zip").exists()
    assert _tree_digest(ws_dir) == before
    assert Workspace(ws_dir).integrity_check() == "ok"


def _chattr(flag: str, path: Path) -> bool:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0 if shutil.which(
        "chattr") else False


def test_review_accept_into_an_immutable_class_folder(ws_with_queue):
    """The database is writable but class folder B is not (chattr +i: even root cannot
    create files in it): the accept fails with one line, nothing of it is kept, and the
    same accept works once the folder is writable again."""
    from hwocr.dataset import reconcile
    from hwocr.errors import WorkspaceError
    from hwocr.review import accept, next_for_review
    from hwocr.workspace import LabeledBox

    ws = ws_with_queue
    folder = ws.dataset_dir / "B"
    if not _chattr("+i", folder):
        pytest.skip("chattr +i is not available on this file system")
    try:
        record = next_for_review(ws, "tab-1")
        boxes = [LabeledBox(b.box, ch) for b, ch in zip(record.boxes, "AB")]
        with pytest.raises(WorkspaceError) as info:
            accept(ws, record.id, record.version, boxes, reviewer="tab-1")
        assert str(info.value).startswith("cannot write ") and str(info.value).endswith(
            "the workspace is read-only or not writable")
        after = ws.get_name(record.id)
        assert (after.status, after.version) == ("needs_review", record.version)
        assert rows_in_chars(ws) == set()
        assert [e.kind for e in ws.events(name_id=record.id)] == []
        # The crop of A written before B failed has no row: reconcile (run by harvest and
        # check) removes it.
        strays = files_in_dataset(ws)
        assert [Path(p).parent.name for p in strays] == ["A"]
        assert reconcile(ws).stray_files_removed == 1 and files_in_dataset(ws) == set()
    finally:
        _chattr("-i", folder)
    accept(ws, record.id, record.version, boxes, reviewer="tab-1")
    assert ws.get_name(record.id).status == "verified" and len(rows_in_chars(ws)) == 2
    assert files_in_dataset(ws) == rows_in_chars(ws) and ws.integrity_check() == "ok"


@pytest.fixture
def ws_with_queue(workspace_dir) -> Workspace:
    ws = Workspace(workspace_dir)
    for i in range(3):
        add_name(ws, f"Q{i}", "AB", status="needs_review", confidence=0.1 * i)
    return ws


def test_tampered_database_paths_never_lead_outside(ws_with_queue, tmp_path):
    """A crop row pointing out of the workspace (a hand-edited or hostile database) is
    neither rewritten, deleted, nor read."""
    from hwocr.dataset import delete_crops, reconcile
    from hwocr.errors import WorkspaceError

    ws = ws_with_queue
    victim = ws.root.parent / "victim.png"
    victim.write_bytes(b"precious")
    name_id = ws.query_one("SELECT id FROM names LIMIT 1")[0]
    rel = os.path.relpath(victim, ws.root)
    with ws.transaction() as conn:
        conn.execute("INSERT INTO chars (name_id, idx, label, path, x0, y0, x1, y1, origin, created_at) "
                     "VALUES (?, 0, 'A', ?, 5, 5, 25, 25, 'auto', 0)", (name_id, rel))
    crop_id = ws.query_one("SELECT id FROM chars")[0]
    with pytest.raises(WorkspaceError, match="refusing path outside the workspace"):
        ws.resolve(rel)
    assert delete_crops(ws, [crop_id]) == 1
    assert victim.read_bytes() == b"precious"
    with ws.transaction() as conn:
        conn.execute("INSERT INTO chars (name_id, idx, label, path, x0, y0, x1, y1, origin, created_at) "
                     "VALUES (?, 0, 'A', ?, 5, 5, 25, 25, 'auto', 0)", (name_id, rel))
    victim.unlink()
    assert reconcile(ws).rows_dropped == 1
    assert not victim.exists()
