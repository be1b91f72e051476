"""The Import page says what went wrong and what to do, in words an upload user can act
on: no images given, a file that is not a CSV (or not a zip), a folder given for the CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from hwocr.images import encode_png
from hwocr.ui import state
from hwocr.ui.imports import NO_IMAGES_GIVEN
from hwocr.workspace import Workspace
from tests.helpers import blocks_image, no_exception, open_page

REPO = Path(__file__).resolve().parent.parent
IMPORT = str(REPO / "pages" / "1_Import.py")
PNG = encode_png(blocks_image(2)[0])


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["unit_id", "image_url", "transcription", "first_or_last"],
                                                   *rows])
    return buf.getvalue().encode()


RELATIVE = _csv([["N0", "images/N0.png", "AB", "first"], ["N1", "images/N1.png", "CD", "last"]])


def _everything(at) -> str:
    """Every text the page shows, errors, warnings and preview cells included."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.text]
    for kind in (at.error, at.warning, at.info, at.success):
        parts += [e.value for e in kind]
    return "\n".join(str(p) for p in parts)


def _names_folder(tmp_path: Path, *csv_names: str) -> Path:
    folder = tmp_path / "names"
    (folder / "images").mkdir(parents=True)
    for i in range(2):
        (folder / "images" / f"N{i}.png").write_bytes(PNG)
    for name in csv_names:
        (folder / name).write_bytes(RELATIVE)
    return folder


def test_an_uploaded_csv_of_file_paths_without_images_says_what_to_do(ws):
    at = no_exception(open_page(IMPORT).run())
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", RELATIVE, "text/csv").run()
    no_exception(at)
    assert [e.value for e in at.error] == [NO_IMAGES_GIVEN]
    assert ("upload the images as a zip, or switch to 'Files on the server' and give the images folder"
            in NO_IMAGES_GIVEN)
    # Nothing is imported to fail row by row, and no path of this server is shown.
    assert state.IMPORT_START not in [b.key for b in at.button]
    shown = _everything(at)
    assert str(ws.root) not in shown and "uploads" not in shown
    assert not ws.query("SELECT 1 FROM names")


def test_an_uploaded_csv_with_some_urls_warns_and_still_imports(ws):
    mixed = _csv([["N0", "images/N0.png", "AB", "first"], ["N1", "https://example.org/n1.png", "CD", "last"]])
    at = no_exception(open_page(IMPORT).run())
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", mixed, "text/csv").run()
    no_exception(at)
    assert not at.error
    assert any(NO_IMAGES_GIVEN in w.value for w in at.warning)
    assert state.IMPORT_START in [b.key for b in at.button]
    assert str(ws.root) not in _everything(at)


def test_an_upload_with_its_zip_shows_no_server_path(ws, tmp_path):
    folder = _names_folder(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in (folder / "images").iterdir():
            zf.write(p, f"images/{p.name}")
    at = no_exception(open_page(IMPORT).run())
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", RELATIVE, "text/csv")
    at.file_uploader(key=state.IMPORT_ZIP_UPLOAD).upload("images.zip", buf.getvalue(), "application/zip")
    at.run()
    no_exception(at)
    assert not at.error and len(at.image) == 2
    shown = _everything(at)
    assert "read from the uploaded zip" in shown and str(ws.root) not in shown


@pytest.mark.parametrize("filename, content, message", [
    ("photo.png", PNG, "photo.png: is a PNG image, not a CSV"),
    ("scan.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "scan.jpg: is a JPEG image, not a CSV"),
    ("names.pdf", b"%PDF-1.7\n", "names.pdf: is a PDF document, not a CSV"),
])
def test_a_file_that_is_not_a_csv_is_a_visible_error_line(ws, filename, content, message):
    at = no_exception(open_page(IMPORT).run())
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload(filename, content, "application/octet-stream").run()
    no_exception(at)
    assert len(at.error) == 1 and at.error[0].value.startswith(message)
    assert "\n" not in at.error[0].value
    assert state.IMPORT_START not in [b.key for b in at.button]


@pytest.mark.parametrize("filename, content, message", [
    ("N0.png", PNG, "N0.png: is a PNG image, not a zip"),
    ("names.csv", RELATIVE, "names.csv: is not a zip file; the CSV goes in the Names CSV field"),
])
def test_a_file_that_is_not_a_zip_is_a_visible_error_line(ws, filename, content, message):
    at = no_exception(open_page(IMPORT).run())
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", RELATIVE, "text/csv")
    at.file_uploader(key=state.IMPORT_ZIP_UPLOAD).upload(filename, content, "application/octet-stream")
    at.run()
    no_exception(at)
    assert len(at.error) == 1 and at.error[0].value.startswith(message)


def test_a_server_folder_holding_one_csv_uses_it(ws, tmp_path):
    folder = _names_folder(tmp_path, "names.csv")
    at = no_exception(open_page(IMPORT, **{state.IMPORT_MODE: "server"}).run())
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(folder)).run()
    no_exception(at)
    assert not at.error
    assert any("is a folder: using the CSV in it, names.csv." in i.value for i in at.info)
    assert len(at.image) == 2  # the images beside it are found as for the file itself
    at.checkbox(key=state.IMPORT_SEGMENT).uncheck()
    at.button(key=state.IMPORT_START).click().run(timeout=120)
    no_exception(at)
    assert {r["status"] for r in ws.query("SELECT status FROM names")} == {"fetched"}


def test_a_server_folder_with_several_csvs_asks_for_one(ws, tmp_path):
    folder = _names_folder(tmp_path, "names.csv", "written_name_subset.csv")
    at = no_exception(open_page(IMPORT, **{state.IMPORT_MODE: "server"}).run())
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(folder)).run()
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "is a folder with 2 CSV files (names.csv, written_name_subset.csv)" in message
    assert "no such file" not in message


def test_a_server_folder_without_a_csv_says_it_is_a_folder(ws, tmp_path):
    folder = _names_folder(tmp_path)
    at = no_exception(open_page(IMPORT, **{state.IMPORT_MODE: "server"}).run())
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(folder / "images")).run()
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "is a folder with no .csv file in it; give the path of the names CSV" in message
    assert "no such file" not in message


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_workspace_database_is_refused_before_anything_opens_it(tmp_path, suffix):
    # Reading the database as a CSV would close a descriptor of it, which drops every
    # SQLite lock this process holds on it: refused by path, never opened.
    from hwocr.errors import InputError
    from hwocr.pipeline import import_csv
    from hwocr.ui.imports import server_csv
    from hwocr.workspace import DB_NAME, Workspace

    ws = Workspace(tmp_path / "ws")
    ws.query_one("SELECT 1")
    target = ws.root / f"{DB_NAME}{suffix}"
    if not target.exists():
        target.write_bytes(b"")
    with pytest.raises(InputError, match="is the workspace's own database, not a CSV"):
        server_csv(str(target), ws)
    with pytest.raises(InputError, match="is the workspace's own database"):
        import_csv(ws, target)
    link = tmp_path / "innocent.csv"
    link.symlink_to(target)
    with pytest.raises(InputError, match="own database"):
        server_csv(str(link), ws)
    assert ws.query_one("SELECT COUNT(*) FROM names")[0] == 0
