"""An import from a local images folder hard-links each image into the workspace where
the file system allows, and copies it where it does not; a link is kept only when it
names the very file whose bytes were read and checked."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hwocr import pipeline
from hwocr.cli import main as cli_main
from hwocr.demo import generate_demo
from hwocr.errors import ImageError
from hwocr.fetch import FolderStore
from hwocr.pipeline import import_csv
from hwocr.workspace import Workspace, link_same_file, store_image_file


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    csv_path, _ = generate_demo(tmp_path_factory.mktemp("links_demo"), count=40, seed=3)
    return csv_path


def _stored_and_sources(ws: Workspace, csv_path: Path) -> list[tuple[Path, Path]]:
    rows = ws.query("SELECT image_path, source FROM names WHERE status = 'fetched'")
    assert rows
    return [(ws.root / r["image_path"], csv_path.parent / r["source"]) for r in rows]


@pytest.mark.parametrize("pool", [False, True], ids=["threads", "worker-processes"])
def test_local_images_are_hard_linked(demo_csv, tmp_path, monkeypatch, pool):
    if pool:
        monkeypatch.setattr(pipeline, "LOCAL_POOL_MIN_NAMES", 10)
    ws = Workspace(tmp_path / "ws")
    report = import_csv(ws, demo_csv)
    assert report.fetch.fetched == 40
    pairs = _stored_and_sources(ws, demo_csv)
    assert len(pairs) == 40
    assert all(os.path.samefile(stored, source) for stored, source in pairs)


@pytest.mark.parametrize("pool", [False, True], ids=["threads", "worker-processes"])
def test_copy_images_makes_copies(demo_csv, tmp_path, monkeypatch, pool):
    if pool:
        monkeypatch.setattr(pipeline, "LOCAL_POOL_MIN_NAMES", 10)
    ws = Workspace(tmp_path / "ws")
    import_csv(ws, demo_csv, link_images=False)
    pairs = _stored_and_sources(ws, demo_csv)
    assert not any(os.path.samefile(stored, source) for stored, source in pairs)
    assert all(stored.read_bytes() == source.read_bytes() for stored, source in pairs)


def test_cli_copy_images_flag(demo_csv, tmp_path):
    ws_dir = tmp_path / "ws"
    assert cli_main(["import", str(demo_csv), "-w", str(ws_dir), "--copy-images", "--quiet"]) == 0
    pairs = _stored_and_sources(Workspace(ws_dir), demo_csv)
    assert not any(os.path.samefile(stored, source) for stored, source in pairs)


def test_where_links_fail_the_image_is_copied(demo_csv, tmp_path, monkeypatch):
    def no_links(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    ws = Workspace(tmp_path / "ws")
    assert import_csv(ws, demo_csv).fetch.fetched == 40
    pairs = _stored_and_sources(ws, demo_csv)
    assert all(stored.read_bytes() == source.read_bytes() for stored, source in pairs)
    assert not any(os.path.samefile(stored, source) for stored, source in pairs)


def _read(folder: Path, name: str):
    return FolderStore(folder).read_file(name, max_bytes=1 << 20)


def test_a_file_replaced_after_it_was_read_is_not_linked(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"checked bytes")
    data, origin = _read(folder, "a.png")
    assert data == b"checked bytes" and origin.path == str(folder / "a.png")
    # Replaced by another file (a new inode) between the check and the link.
    (folder / "b.png").write_bytes(b"other bytes!!")
    os.replace(folder / "b.png", folder / "a.png")
    target = tmp_path / "ws" / "x.png"
    target.parent.mkdir()
    assert link_same_file(origin, str(target)) is False
    assert not target.exists()
    # store_image_file falls back to the bytes that were checked.
    rel = store_image_file(tmp_path / "ws", 7, data, ".png", origin)
    assert (tmp_path / "ws" / rel).read_bytes() == b"checked bytes"
    assert not os.path.samefile(tmp_path / "ws" / rel, folder / "a.png")


def test_a_file_rewritten_in_place_after_it_was_read_is_not_linked(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    path = folder / "a.png"
    path.write_bytes(b"checked bytes")
    _data, origin = _read(folder, "a.png")
    with open(path, "ab") as fh:  # same inode, new size
        fh.write(b" and more")
    assert link_same_file(origin, str(tmp_path / "x.png")) is False
    assert not (tmp_path / "x.png").exists()


def test_a_link_makes_its_folder_and_never_replaces_a_file(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"bytes")
    _data, origin = _read(folder, "a.png")
    deep = tmp_path / "ws" / "images" / "0000" / "00000001.png"
    assert link_same_file(origin, str(deep)) is True
    assert os.path.samefile(deep, folder / "a.png")
    (tmp_path / "other.png").write_bytes(b"left by a killed run")
    assert link_same_file(origin, str(tmp_path / "other.png")) is False
    assert (tmp_path / "other.png").read_bytes() == b"left by a killed run"


def test_where_links_cannot_refuse_symlinks_a_plain_link_is_made(tmp_path, monkeypatch):
    """Windows has no linkat: ``follow_symlinks=False`` raises NotImplementedError there."""
    real_link = os.link

    def windows_link(src, dst, *, follow_symlinks=True):
        if not follow_symlinks:
            raise NotImplementedError("link: follow_symlinks unavailable on this platform")
        real_link(src, dst)

    monkeypatch.setattr(os, "link", windows_link)
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"bytes")
    _data, origin = _read(folder, "a.png")
    assert link_same_file(origin, str(tmp_path / "x.png")) is True
    assert os.path.samefile(tmp_path / "x.png", folder / "a.png")


def _fstat_saying(size: int):
    real_fstat = os.fstat
    return lambda fd: _shrunk(real_fstat(fd), size)


def test_a_file_longer_than_its_size_said_is_read_whole_up_to_the_cap(tmp_path, monkeypatch):
    """The read is sized by the file; a file that grew after it was looked at is read on."""
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"0123456789" * 10)
    monkeypatch.setattr(os, "fstat", _fstat_saying(3))
    data, _origin = FolderStore(folder).read_file("a.png", max_bytes=1000)
    assert data == b"0123456789" * 10
    # Grown past the cap after the stat before opening, too: refused while reading.
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: _shrunk(real_stat(path, *a, **k), 3))
    with pytest.raises(ImageError, match="the file is more than the limit of 50 bytes"):
        FolderStore(folder).read_file("a.png", max_bytes=50)


def _shrunk(got: os.stat_result, size: int) -> os.stat_result:
    return os.stat_result((got.st_mode, got.st_ino, got.st_dev, got.st_nlink, got.st_uid, got.st_gid, size,
                           got.st_atime, got.st_mtime, got.st_ctime))
