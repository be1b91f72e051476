"""Small letters in their own class folders (a_lower/ …): named so that no two folders
differ by case only, read back as the exact label by training, harvest, teaching and
every export."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwocr.charsets import folder_name, label_of_folder
from hwocr.config import ALL_CLASSES
from hwocr.dataset import add_crop, export_dataset, harvest, list_crops, reconcile, relabel_crops
from hwocr.errors import InputError
from hwocr.images import encode_png
from hwocr.train import dataset_charset, load_class_folders
from hwocr.ui import state
from hwocr.ui.training import FolderSummary, scan_class_folders
from hwocr.workspace import Workspace
from tests.helpers import add_name, files_in_dataset, no_exception, open_page, rows_in_chars

DATASET_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "3_Dataset.py")


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def _glyph() -> np.ndarray:
    img = np.full((30, 20), 255, np.uint8)
    img[5:25, 8:12] = 0
    return img


# --- naming ------------------------------------------------------------------------


def test_every_label_round_trips_through_its_folder():
    assert len(ALL_CLASSES) == 62
    for label in ALL_CLASSES:
        assert label_of_folder(folder_name(label)) == label
    assert folder_name("a") == "a_lower" and folder_name("A") == "A" and folder_name("7") == "7"


def test_no_two_folders_differ_by_case_only():
    names = [folder_name(label) for label in ALL_CLASSES]
    assert len({n.casefold() for n in names}) == len(ALL_CLASSES)


@pytest.mark.parametrize("name", ["a", "z", "A_lower", "ab_lower", "misc", ".tmp", "é_lower", "10"])
def test_folders_that_name_no_class(name):
    assert label_of_folder(name) is None


# --- workspace and training read the folders ---------------------------------------


def test_workspace_makes_and_uses_lower_folders(ws):
    assert (ws.dataset_dir / "a_lower").is_dir() and (ws.dataset_dir / "A").is_dir()
    assert ws.class_dir("q") == ws.dataset_dir / "q_lower"
    with pytest.raises(InputError, match="not a class"):
        ws.class_dir("q_lower")  # a folder name is not a label


def test_load_class_folders_reads_exact_labels(tmp_path):
    root = tmp_path / "dataset"
    for folder, n in (("A", 2), ("a_lower", 3), ("7", 1), ("a", 4)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            (root / folder / f"{i}.png").write_bytes(encode_png(_glyph()))
    _x, y, info = load_class_folders(root)
    assert info.counts == {"A": 2, "7": 1, "a": 3}  # model order: capitals, digits, small
    assert sorted(set(y.tolist())) == ["7", "A", "a"]
    assert info.ignored_folders == ("a",)  # a bare "a/" is no class: on macOS it would be A/
    assert all("/a/" not in p for p in info.paths)


def test_old_workspace_without_lower_folders_still_trains(tmp_path):
    root = tmp_path / "dataset"
    for folder in ("A", "B"):
        (root / folder).mkdir(parents=True)
        (root / folder / "0.png").write_bytes(encode_png(_glyph()))
    _x, y, info = load_class_folders(root)
    assert info.counts == {"A": 1, "B": 1} and info.ignored_folders == ()
    assert dataset_charset(y) == "letters"


# --- writes: harvest, teach, relabel ---------------------------------------------------


def test_harvest_writes_small_letters_to_lower_folders(ws):
    add_name(ws, "U1", "Ab")
    report = harvest(ws)
    assert report.written == 2
    paths = sorted(rows_in_chars(ws))
    assert [p.split("/")[1] for p in paths] == ["A", "b_lower"]
    assert files_in_dataset(ws) == set(paths)
    assert [c.label for c in list_crops(ws, "b")] == ["b"]
    assert list_crops(ws, "B") == []
    assert ws.class_counts()["b"] == 1 and ws.class_counts()["B"] == 0
    # Reconcile knows the folder: the crop is neither stray nor missing.
    assert reconcile(ws).stray_files_removed == 0 and files_in_dataset(ws) == set(paths)
    assert harvest(ws).written == 0


def test_teach_small_letter_lands_in_lower_folder(ws):
    rec = add_crop(ws, _glyph(), "b", origin="canvas")
    assert rec.label == "b" and rec.path.startswith("dataset/b_lower/")
    assert (ws.root / rec.path).is_file()


def test_relabel_to_and_from_small_letter(ws):
    rec = add_crop(ws, _glyph(), "B", origin="canvas")
    assert relabel_crops(ws, [rec.id], "b") == 1
    moved = list_crops(ws, "b")[0]
    assert moved.path.startswith("dataset/b_lower/") and (ws.root / moved.path).is_file()
    assert relabel_crops(ws, [rec.id], "B") == 1
    assert list_crops(ws, "B")[0].path.startswith("dataset/B/")
    assert files_in_dataset(ws) == rows_in_chars(ws)


def test_dataset_page_moves_a_crop_to_a_small_letter(ws):
    rec = add_crop(ws, _glyph(), "E", origin="canvas")
    at = no_exception(open_page(DATASET_PAGE).run())
    assert "e (small)" in at.selectbox(key=state.DATASET_RELABEL_TO).options  # all 62 classes, named apart
    at.checkbox(key=state.dataset_select_key(rec.id)).check().run()
    at.selectbox(key=state.DATASET_RELABEL_TO).set_value("e").run()
    at.button(key=state.DATASET_RELABEL).click().run()
    no_exception(at)
    moved = list_crops(ws, "e")
    assert [c.id for c in moved] == [rec.id] and moved[0].path.startswith("dataset/e_lower/")
    assert list_crops(ws, "E") == [] and files_in_dataset(ws) == rows_in_chars(ws)


# --- exports ---------------------------------------------------------------------------


def test_exports_carry_the_exact_label(ws, tmp_path):
    add_crop(ws, _glyph(), "b", origin="canvas")
    add_crop(ws, _glyph(), "B", origin="canvas")
    export_dataset(ws, "npz", tmp_path / "d.npz")
    npz = np.load(tmp_path / "d.npz")
    assert sorted(npz["labels"].tolist()) == ["B", "b"]
    by_label = dict(zip(npz["labels"].tolist(), npz["label_index"].tolist()))
    assert npz["classes"][by_label["b"]] == "b" and npz["classes"][by_label["B"]] == "B"

    info = export_dataset(ws, "csv", tmp_path / "d.csv")
    assert info["classes"] == {"B": 1, "b": 1}
    indices = sorted(int(line.split(",", 1)[0]) for line in (tmp_path / "d.csv").read_text().splitlines())
    assert [ALL_CLASSES[i] for i in indices] == ["B", "b"]

    export_dataset(ws, "zip", tmp_path / "d.zip")
    with zipfile.ZipFile(tmp_path / "d.zip") as zf:
        folders = sorted({n.split("/")[0] for n in zf.namelist() if "/" in n})
        manifest = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
    assert folders == ["B", "b_lower"]
    assert {(m["path"].split("/")[0], m["label"]) for m in manifest} == {("B", "B"), ("b_lower", "b")}


# --- charsets --------------------------------------------------------------------------


@pytest.mark.parametrize("labels, expected", [
    (["A", "Z"], "letters"),
    (["0", "9"], "digits"),
    (["A", "0"], "alnum"),
    (["a", "z"], "lower"),
    (["A", "a"], "cased"),
    (["a", "0"], "all"),
    (["A", "a", "0"], "all"),
    (["A", "misc"], "alnum"),  # a workspace's own class: never a names-only score
])
def test_dataset_charset(labels, expected):
    assert dataset_charset(labels) == expected
    known = [c for c in labels if c in ALL_CLASSES]
    if len(known) == len(labels):  # the Train page's summary follows the same rule
        assert FolderSummary({c: 1 for c in labels}, (), 0).charset == expected


def test_train_page_counts_small_letter_folders(ws):
    add_crop(ws, _glyph(), "b", origin="canvas")
    add_crop(ws, _glyph(), "B", origin="canvas")
    summary = scan_class_folders(ws)
    assert summary.counts == {"B": 1, "b": 1}
    assert summary.charset == "cased" and summary.charset_words == "letters, both cases"
    assert len(summary.charset_classes) == 52
