"""Security settings and promises, checked: the app listens on localhost unless told
otherwise, keeps Streamlit's XSRF protection, caps uploads, renders no user string as
HTML or live markdown, writes nothing outside the workspace, and refuses private
addresses for downloads unless allowed (with a warning when that meets a public bind).
"""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hwocr import cli
from hwocr.errors import InputError
from hwocr.ui import state, widgets
from hwocr.ui.imports import MAX_UPLOAD_BYTES, exposure_warning, save_upload
from hwocr.workspace import Workspace
from tests.helpers import add_name, blocks_image, files_in_dataset, rows_in_chars
from tests.hostile.harness import Arena

REPO = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
REVIEW = str(REPO / "pages" / "2_Review.py")
IMPORT = str(REPO / "pages" / "1_Import.py")
HINT_ENV = "HWOCR_ALLOW_PRIVATE_URLS"


# --- Streamlit settings -------------------------------------------------------------------


def test_streamlit_config_binds_localhost_with_xsrf_and_an_upload_cap():
    server = CONFIG["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES == 200 * 1024 * 1024
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["browser"]["gatherUsageStats"] is False


def test_the_upload_cap_is_also_checked_in_code(workspace_dir):
    ws = Workspace(workspace_dir)

    class Huge(bytes):
        def __len__(self) -> int:  # as big as the cap allows, plus one, without allocating it
            return MAX_UPLOAD_BYTES + 1

    with pytest.raises(InputError) as info:
        save_upload(ws, "names.csv", Huge(b"x"), kind="csv")
    assert str(info.value) == (f"names.csv: {MAX_UPLOAD_BYTES + 1:,} bytes is more than the upload limit of "
                               f"{MAX_UPLOAD_BYTES:,}")
    assert not (ws.root / "uploads").exists()


def _launch_args(monkeypatch, capsys, *argv) -> tuple[list[str], str]:
    seen = {}

    def fake_exec(path, args, env):
        seen["args"], seen["env"] = args, env
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execvpe", fake_exec)
    with pytest.raises(SystemExit):
        cli.main(["app", *argv])
    return seen["args"], capsys.readouterr().err


def test_app_binds_localhost_by_default_and_never_turns_xsrf_off(monkeypatch, capsys):
    monkeypatch.delenv(HINT_ENV, raising=False)
    args, err = _launch_args(monkeypatch, capsys)
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert not [a for a in args if "Xsrf" in a or "CORS" in a]  # config.toml's settings stay in force
    assert err == "hwocr app on http://127.0.0.1:8501\n"


@pytest.mark.parametrize("host, allow, warned", [
    ("0.0.0.0", "1", True),
    ("192.168.1.20", "10.0.0.0/8", True),
    ("::", "true", True),
    ("0.0.0.0", "", False),
    ("0.0.0.0", "0", False),
    ("127.0.0.1", "1", False),
    ("localhost", "1", False),
    ("::1", "1", False),
])
def test_serving_beyond_localhost_with_private_urls_allowed_warns(monkeypatch, capsys, host, allow, warned):
    monkeypatch.setenv(HINT_ENV, allow)
    _, err = _launch_args(monkeypatch, capsys, "--host", host)
    lines = err.splitlines()
    assert lines[-1] == f"hwocr app on http://{host}:8501"
    if warned:
        what = "private and loopback addresses" if allow in ("1", "true") else allow
        assert lines[:-1] == [
            f"hwocr: warning: the app is served on {host}, beyond this machine, and {HINT_ENV} lets its downloads "
            f"reach {what}: anyone who can open the app can make this machine fetch from there. Unset {HINT_ENV} "
            "unless every user of the app may do that."]
    else:
        assert lines[:-1] == []


def test_import_page_warns_when_served_beyond_localhost_with_private_urls(workspace_dir, monkeypatch):
    from streamlit import config

    monkeypatch.setenv(HINT_ENV, "1")
    assert exposure_warning("127.0.0.1") is None
    assert exposure_warning(None).startswith("the app is served on 0.0.0.0, beyond this machine")
    old = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(IMPORT, default_timeout=60).run()
    finally:
        config.set_option("server.address", old)
    assert not at.exception
    assert [w.value for w in at.warning][:1] == [widgets.inert(exposure_warning("0.0.0.0"))]
    at = AppTest.from_file(IMPORT, default_timeout=60)
    at.run()
    assert not [w for w in at.warning if "beyond this machine" in w.value]


def _listening(port: int) -> list[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found = []
    for table, _width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_the_real_server_listens_on_localhost_only_and_refuses_requests_without_xsrf(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOCR_")}
    env["HWOCR_WORKSPACE"] = str(tmp_path / "ws")
    proc = subprocess.Popen([sys.executable, "-m", "hwocr", "app", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        # 0100007F is 127.0.0.1 in /proc's byte order: no socket on 0.0.0.0 or ::.
        assert _listening(port) == ["0100007F"]
        request = urllib.request.Request(f"{url}/_stcore/upload_file/some-session/some-file", data=b"x",
                                         method="PUT")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 403  # XSRF token missing (with XSRF off it would be 400)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- nothing rendered as HTML or live markdown ---------------------------------------------------


def _python_files() -> list[Path]:
    return [REPO / "app.py", *sorted((REPO / "pages").glob("*.py")), *sorted((REPO / "hwocr").rglob("*.py"))]


def test_no_page_renders_html():
    uses = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html":
                uses.append(f"{path.name}:{node.value.lineno} unsafe_allow_html")
            if isinstance(node, ast.Attribute) and node.attr == "html" and isinstance(node.value, ast.Name) and (
                    node.value.id in ("st", "components")):
                uses.append(f"{path.name}:{node.lineno} {node.value.id}.html")
    assert uses == []


PAYLOAD = "![x](http://evil.example/t.png)<img src=x onerror=alert(1)>`tick`$x^2$:red[RED]#H"


def _rendered(at: AppTest) -> list[str]:
    """Every string the page hands to a markdown renderer."""
    elements = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success, *at.subheader]
    return [str(e.value) for e in elements]


def _assert_payload_inert(values: list[str]) -> int:
    """The payload appears only escaped; returns how many times it appears."""
    seen = 0
    for value in values:
        if "evil" not in value:
            continue
        seen += 1
        assert widgets.md(PAYLOAD) in value or widgets.inert(PAYLOAD) in value, value
        for raw in ("](http://evil", "<img", "`tick`", "$x^2$", ":red[", "#H"):
            assert not re.search(r"(?<!\\)" + re.escape(raw), value.replace(widgets.inert(PAYLOAD), "")
                                 .replace(widgets.md(PAYLOAD), "")), (raw, value)
    return seen


def test_review_and_audit_show_csv_strings_as_text(workspace_dir):
    ws = Workspace(workspace_dir)
    queued = add_name(ws, PAYLOAD, "AB", status="needs_review")
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET reason = ? WHERE id = ?", (PAYLOAD, queued))
    add_name(ws, "M" + PAYLOAD, "AB", status="matched")
    at = AppTest.from_file(REVIEW, default_timeout=60)
    at.session_state[state.REVIEWER] = "tab-1"
    at.run()
    assert not at.exception
    assert _assert_payload_inert(_rendered(at)) == 1  # the header line, with the reason
    # The flash after an accept names the unit_id.
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert not at.exception and ws.get_name(queued).status == "verified"
    assert _assert_payload_inert(_rendered(at)) == 1 and at.success[0].value == (
        widgets.inert(f"{PAYLOAD} accepted: 2 letters in the class folders."))
    at.session_state[state.REVIEW_VIEW] = "Audit"
    at.run()
    assert not at.exception
    # The matched one (the audit shows auto-accepted names), and the accept's message,
    # which stays on the page until the next action.
    assert _assert_payload_inert(_rendered(at)) == 2


def test_a_missing_image_error_shows_the_unit_id_as_text(workspace_dir):
    ws = Workspace(workspace_dir)
    name_id = add_name(ws, PAYLOAD, "AB", status="needs_review")
    ws.image_path_of(ws.get_name(name_id)).unlink()
    at = AppTest.from_file(REVIEW, default_timeout=60)
    at.session_state[state.REVIEWER] = "tab-1"
    at.run()
    assert not at.exception and len(at.error) == 1
    assert _assert_payload_inert([at.error[0].value]) == 1


def test_inert_and_md_escape_what_markdown_would_act_on():
    assert widgets.inert("a [b](c) <d> `e` $f$ #g \\h") == "a \\[b\\](c) \\<d\\> \\`e\\` \\$f\\$ \\#g \\\\h"
    assert widgets.inert("names.csv: line 2: the file is empty (0 bytes)") == (
        "names.csv: line 2: the file is empty (0 bytes)")
    assert widgets.md("a_b*c") == "a\\_b\\*c"


# --- nothing written outside the workspace ------------------------------------------------------------

HOSTILE_IDS = ["../../../../escape", "/etc/passwd", "..", "C:\\Windows\\x", "a/../../b", "~root/.ssh",
               "\x00nul", "x" * 300, "CON", ".hidden", "-rf", "ÉÇ🙂"]


def test_crops_of_hostile_unit_ids_stay_in_their_class_folders(tmp_path):
    from hwocr.dataset import export_dataset, harvest
    from hwocr.review import accept, next_for_review

    arena = Arena(tmp_path / "arena")
    before = arena.snapshot()
    ws = Workspace(arena.ws)
    image, boxes = blocks_image(2)
    for unit_id in HOSTILE_IDS:
        add_name(ws, unit_id, "AB", status="needs_review", image=image, boxes=boxes)
    add_name(ws, "../../auto", "AB", status="matched", image=image, boxes=boxes)
    while (record := next_for_review(ws, "tab-1")) is not None:
        accept(ws, record.id, record.version, record.boxes, reviewer="tab-1")
    harvest(ws)
    crops = rows_in_chars(ws)
    assert len(crops) == 2 * (len(HOSTILE_IDS) + 1) and crops == files_in_dataset(ws)
    for rel in crops:
        label, name = rel.split("/")[1:]
        assert rel == f"dataset/{label}/{name}" and label in "AB" and re.fullmatch(r"[A-Za-z0-9._-]+", name)
        assert not name.startswith(".") and len(name) <= 80
    export_dataset(ws, "zip", ws.exports_dir / "all.zip")
    assert arena.snapshot() == before
    images = [p for p in (arena.ws / "images").rglob("*") if p.is_file()]
    assert len(images) == len(HOSTILE_IDS) + 1


def test_upload_names_cannot_leave_the_uploads_folder(tmp_path):
    arena = Arena(tmp_path / "arena")
    before = arena.snapshot()
    ws = Workspace(arena.ws)
    for name in ["../../evil.csv", "/etc/cron.d/x.csv", "..", "a\\..\\..\\b.csv", "\x00.csv", "." * 300]:
        path = save_upload(ws, name, b"unit_id,image_url,transcription\nA,b,C\n", kind="csv")
        assert path.parent == ws.root / "uploads" and path.is_file()
    assert arena.snapshot() == before


def test_private_addresses_are_refused_by_default(monkeypatch):
    from hwocr.errors import UnsafeSourceError
    from hwocr.fetch import check_url, private_urls_setting

    monkeypatch.delenv(HINT_ENV, raising=False)
    assert private_urls_setting() is False
    for url in ("http://127.0.0.1/a.png", "http://10.0.0.1/a.png", "http://[::1]/a.png", "http://localhost/a.png",
                "http://169.254.169.254/", "http://192.168.0.1/", "http://[fe80::1]/"):
        with pytest.raises(UnsafeSourceError):
            check_url(url)


def test_readme_documents_the_security_settings():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Security and limits", 1)[1].split("\n## ", 1)[0]
    for needle in ("127.0.0.1", "--host 0.0.0.0", HINT_ENV, "169.254.169.254", "XSRF", "200 MB",
                   "40,000,000", "20 MB", "zip"):
        assert needle in section, needle
