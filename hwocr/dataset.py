"""The class folders: crops written, listed, relabelled, deleted, reconciled and exported.

Every crop is a PNG in ``dataset/<folder>/`` with a row in ``chars`` recording its label
(exact case), its source name, its position in the name and its box. The folder is
:func:`hwocr.charsets.folder_name` of the label: ``A``, ``7``, and ``a_lower`` for a
small a, so that no two class folders differ by case only (one folder on macOS and
Windows). Writing the crops of one name replaces that name's earlier crops in one
transaction, so re-running anything never duplicates a crop.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwocr.boxes import Box
from hwocr.charsets import folder_name
from hwocr.config import ALL_CLASSES, DEFAULTS
from hwocr.errors import DatasetError, ImageError, InputError, WorkspaceError
from hwocr.images import encode_png, load_gray
from hwocr.store import chars as char_rows
from hwocr.store import demo as demo_rows
from hwocr.store import names as name_rows
from hwocr.text import safe_csv_cell
from hwocr.workers import default_workers, process_pool
from hwocr.workspace import (
    CharRecord,
    LabeledBox,
    NameRecord,
    Workspace,
    atomic_write_bytes,
    init_worker_process,
    labeled_boxes_from_json,
    no_stored_image,
    now,
    safe_filename,
    write_new_file,
)

Progress = Callable[[int, int], None]

#: Statuses whose boxes are trusted enough to be in the class folders.
HARVEST_STATUSES = ("matched", "repaired", "verified")
ORIGINS = ("auto", "verified", "canvas", "upload")


# --- crops of one name ------------------------------------------------------------------


def crop_gray(gray: np.ndarray, box: Box, margin: int | None = None) -> np.ndarray:
    """The part of ``gray`` inside ``box``, with a small white-free margin of real paper."""
    margin = DEFAULTS.crop_margin if margin is None else margin
    h, w = gray.shape[:2]
    padded = box.pad(margin, w, h)
    if padded.width == 0 or padded.height == 0:
        raise InputError(f"box {box.to_list()} lies outside the {w}x{h} image")
    return np.ascontiguousarray(gray[padded.y0 : padded.y1, padded.x0 : padded.x1])


def _crop_relpath(label: str, stem: str, idx: int | None, suffix: str | None = None) -> str:
    """``dataset/<class folder>/<stem>_<idx>_<suffix>.png``; the random ``suffix`` (made
    here unless given: the crops of one name may share one, their ``idx`` differs)
    keeps a new crop from ever taking an old one's name."""
    suffix = suffix or uuid.uuid4().hex[:8]
    part = f"_{idx:02d}" if idx is not None else ""
    return f"dataset/{folder_name(label)}/{safe_filename(stem)}{part}_{suffix}.png"


def class_label(text: object) -> str | None:
    """``text`` as a class label, its case kept (``a`` is the small a, one of the 62
    classes, not a way of writing ``A``), or None when it names no class."""
    label = str(text or "").strip()
    return label if label in ALL_CLASSES else None


def validate_boxes(boxes: Sequence[LabeledBox], width: int, height: int) -> tuple[LabeledBox, ...]:
    """Boxes sorted left to right, clipped to the image, each with one class label.

    A box of a name is a capital or a digit: transcriptions are upper-cased
    (:func:`hwocr.text.normalize_transcription`), so a reviewer's ``b`` means ``B``.
    Small letters reach the folders from the Recognize and Dataset pages instead."""
    out: list[LabeledBox] = []
    for item in boxes:
        label = class_label(str(item.label or "").upper())
        if label is None:
            raise InputError(f"box {item.box.to_list()} has label {item.label!r}; "
                             "every box needs one letter A-Z or digit 0-9")
        clipped = item.box.clip(width, height)
        if clipped.width < 1 or clipped.height < 1:
            raise InputError(f"box {item.box.to_list()} lies outside the {width}x{height} image")
        out.append(LabeledBox(clipped, label))
    out.sort(key=lambda b: (b.box.x0, b.box.y0))
    return tuple(out)


def replace_name_crops(
    ws: Workspace,
    conn: sqlite3.Connection,
    record: NameRecord,
    gray: np.ndarray,
    boxes: Sequence[LabeledBox],
    origin: str,
) -> tuple[list[CharRecord], list[str]]:
    """Inside the caller's transaction: drop ``record``'s crops and write ``boxes`` as new ones.

    Returns the new rows and the old files, which the caller deletes after the commit (a
    crash before the commit leaves the old crops; a crash after leaves stray files that
    :func:`reconcile` removes).
    """
    old = char_rows.remove_of_name(conn, record.id)
    created: list[CharRecord] = []
    t = now()
    for idx, item in enumerate(boxes):
        crop = crop_gray(gray, item.box)
        rel = _crop_relpath(item.label, record.unit_id, idx)
        atomic_write_bytes(ws.root / rel, encode_png(crop))
        char_id = char_rows.insert(conn, name_id=record.id, idx=idx, label=item.label, path=rel,
                                   box=item.box.to_list(), origin=origin, t=t)
        created.append(CharRecord(char_id, record.id, idx, item.label, rel, item.box, origin, t))
    return created, old


def remove_name_crops(conn: sqlite3.Connection, name_id: int) -> list[str]:
    """Inside the caller's transaction: drop a name's crop rows; returns the files to delete."""
    return char_rows.remove_of_name(conn, name_id)


def delete_files(ws: Workspace, relpaths: Iterable[str]) -> None:
    for rel in relpaths:
        try:
            ws.resolve(rel).unlink()
        except FileNotFoundError:
            pass
        except OSError:
            # Left for reconcile(); the row is already gone, so it is only a stray file.
            pass
        except WorkspaceError:
            pass  # a path that leads out of the workspace is never deleted


def _crops_match(existing: Sequence[sqlite3.Row], boxes: Sequence[LabeledBox]) -> bool:
    """Whether a name's crops already show exactly its boxes and letters (origin aside:
    a crop relabelled by a person stays as it is)."""
    if len(existing) != len(boxes):
        return False
    for row, item in zip(existing, boxes):
        if row["label"] != item.label or [row["x0"], row["y0"], row["x1"], row["y1"]] != item.box.to_list():
            return False
    return True


# --- harvest ------------------------------------------------------------------------


@dataclass(frozen=True)
class HarvestReport:
    names: int            # names whose crops belong in the folders
    written: int          # crops written by this run
    unchanged: int        # names whose crops were already in place
    removed: int          # crops removed because their name is no longer harvestable
    errors: tuple[str, ...]
    reconciled: ReconcileReport

    def to_json(self) -> dict:
        return {
            "names": self.names,
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "errors": list(self.errors),
            "reconciled": self.reconciled.to_json(),
        }


def harvestable(record: NameRecord, min_confidence: float) -> bool:
    return _harvestable(record.status, bool(record.boxes), record.confidence, min_confidence)


def _harvestable(status: str, has_boxes: bool, confidence: float, min_confidence: float) -> bool:
    if status in ("matched", "verified"):
        return has_boxes
    if status == "repaired":
        return has_boxes and confidence >= min_confidence
    return False


def harvest(
    ws: Workspace,
    *,
    min_confidence: float | None = None,
    progress: Progress | None = None,
    batch: int = 2048,
    workers: int | None = None,
) -> HarvestReport:
    """Write the crops of matched, confidently repaired and verified names into the folders.

    Idempotent: a name whose crops already match its boxes is left alone, a name whose
    boxes changed gets its crops replaced, and crops of names that are no longer
    harvestable (sent back, rejected) are removed.

    Names are planned a batch at a time from two queries; the crops (decode the name
    image once, cut, encode PNG, write the file atomically) are made by ``workers``
    processes (default: one per core when there is enough to do), and each batch's rows
    are committed in one short transaction. A name changed by someone else between the
    plan and the commit (a reviewer's Accept) keeps what they wrote: its version is
    checked, and the files made for it are deleted. Crash safety is as before: files are
    renamed into place before their rows commit, under the shared crops lock, so
    :func:`reconcile` removes what a killed run leaves and never a file in flight.
    """
    threshold = DEFAULTS.harvest_min_confidence if min_confidence is None else min_confidence
    reconciled = reconcile(ws)
    ids = ws.read(name_rows.ids_to_harvest)
    total = len(ids)
    tally = {"written": 0, "unchanged": 0, "removed": 0, "names": 0}
    errors: list[str] = []
    n_workers = _harvest_workers(workers, total)
    pool = _crop_pool(n_workers) if n_workers > 1 else None
    try:
        with ws.crops_lock():
            # One batch is cut by the workers while the one before it is committed.
            waiting: _PlannedBatch | None = None
            for start in range(0, total, batch):
                planned = _plan_batch(ws, ids[start : start + batch], threshold, pool, tally, errors)
                if waiting is not None:
                    _commit_batch(ws, waiting, tally, errors)
                    if progress:
                        progress(waiting.end, total)
                planned.end = start + len(planned.ids)
                waiting = planned
            if waiting is not None:
                _commit_batch(ws, waiting, tally, errors)
                if progress:
                    progress(waiting.end, total)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return HarvestReport(tally["names"], tally["written"], tally["unchanged"], tally["removed"], tuple(errors),
                         reconciled)


#: Below this many names a harvest runs in one process: starting workers costs about a second.
HARVEST_POOL_MIN_NAMES = 3000


def _harvest_workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)

    return 1 if total < HARVEST_POOL_MIN_NAMES else default_workers()


def _crop_pool(n: int):
    return process_pool(n, _init_crop_worker)


def _init_crop_worker() -> None:
    import cv2

    init_worker_process()
    cv2.setNumThreads(1)  # tiny images: OpenCV's own threads only add overhead


#: One name to cut: (name id, workspace root, image path, unit_id, boxes JSON).
CropJob = tuple[int, str, str, str, str]
#: What a worker made of it: (name id, [(idx, label, rel path, [x0, y0, x1, y1]), ...], error or None).
CropResult = tuple[int, list[tuple[int, str, str, list[int]]], str | None]


def write_name_crops(jobs: Sequence[CropJob]) -> list[CropResult]:
    """Worker (or in-process): cut each name's boxes from its image and write the crop
    files. A name whose image cannot be read comes back with its error and no files; a
    disk error raises (the batch is not committed; reconcile cleans up).

    Each crop goes to a new, unique name (a random suffix), created exclusively: no file
    is ever replaced, so the temporary name and rename that make an overwrite atomic are
    not needed. A crop file is only ever read through its row, which commits after the
    file is complete; a half-written file of a killed run has no row, and reconcile
    removes it like any stray."""
    out: list[CropResult] = []
    compression = DEFAULTS.crop_png_compression
    for name_id, root, image_path, unit_id, boxes_json in jobs:
        made: list[tuple[int, str, str, list[int]]] = []
        suffix = uuid.uuid4().hex[:8]
        try:
            gray = load_gray(Path(image_path))
            for idx, item in enumerate(labeled_boxes_from_json(boxes_json)):
                rel = _crop_relpath(item.label, unit_id, idx, suffix)
                _write_new_file(os.path.join(root, rel), encode_png(crop_gray(gray, item.box), compression))
                made.append((idx, item.label, rel, item.box.to_list()))
        except (ImageError, InputError) as exc:
            for _idx, _label, rel, _box in made:
                _unlink(Path(root) / rel)
            out.append((name_id, [], f"{unit_id}: {exc}"))
            continue
        out.append((name_id, made, None))
    return out


def _write_new_file(path: str, data: bytes) -> None:
    """Create the crop ``path``, which must not exist (reconcile removed any stray one)."""
    try:
        write_new_file(path, data)
    except FileExistsError as exc:
        raise WorkspaceError(f"cannot write {os.path.basename(path)}: {exc.strerror or exc}") from None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass  # reconcile removes a stray file later


@dataclass
class _PlannedBatch:
    """One batch of a harvest: what it found, and the workers' results on their way.
    ``names``: the batch's rows of :func:`hwocr.store.names.for_harvest` by id."""

    ids: list[int]
    names: dict[int, sqlite3.Row]
    to_remove: list[sqlite3.Row]
    results: Callable[[], list[CropResult]]
    end: int = 0


def _plan_batch(ws: Workspace, ids: Sequence[int], threshold: float, pool, tally: dict,
                errors: list[str]) -> _PlannedBatch:
    """Read one batch of names and their crops (two queries); hand the names whose crops
    must be (re)written to the workers; the rest is counted or queued for removal.

    A name's boxes go to the workers as stored (JSON: the workers read them, each name
    once); they are read here only for a name that has crops, to compare."""
    ids = list(ids)
    names = {r["id"]: r for r in ws.read(name_rows.for_harvest, ids)}
    existing: dict[int, list[sqlite3.Row]] = {}
    for r in ws.read(char_rows.of_names, ids):
        existing.setdefault(r["name_id"], []).append(r)
    to_remove: list[sqlite3.Row] = []
    wanted: list[sqlite3.Row] = []
    for name_id in ids:
        row = names.get(name_id)
        if row is None:
            continue
        crops = existing.get(name_id, [])
        boxes_json = row["boxes"]
        if not _harvestable(row["status"], bool(boxes_json and json.loads(boxes_json)), row["confidence"],
                            threshold):
            if crops:
                to_remove.append(row)
            continue
        tally["names"] += 1
        if crops and _crops_match(crops, labeled_boxes_from_json(boxes_json)):
            tally["unchanged"] += 1
            continue
        if not row["image_path"]:
            errors.append(f"{row['unit_id']}: {no_stored_image(row['unit_id'], row['status'])}")
            continue
        wanted.append(row)
    jobs: list[CropJob] = []
    root = str(ws.root)
    for row, image in zip(wanted, _image_paths(ws, [row["image_path"] for row in wanted])):
        if isinstance(image, Exception):
            errors.append(f"{row['unit_id']}: {image}")
            continue
        jobs.append((row["id"], root, str(image), row["unit_id"], row["boxes"]))
    return _PlannedBatch(ids, names, to_remove, _start_crop_jobs(jobs, pool))


def _image_paths(ws: Workspace, relatives: Sequence[str]) -> list[Path | Exception]:
    """The stored images' paths (:meth:`Workspace.resolve_many`), or the error of each
    one that cannot be used (a path leading out of the workspace)."""
    try:
        return list(ws.resolve_many(relatives))
    except (InputError, WorkspaceError):
        out: list[Path | Exception] = []
        for rel in relatives:
            try:
                out.append(ws.resolve(rel))
            except (InputError, WorkspaceError) as exc:
                out.append(exc)
        return out


def _commit_batch(ws: Workspace, planned: _PlannedBatch, tally: dict, errors: list[str]) -> None:
    """The batch's rows in one short transaction, once its files are written. A name
    changed since it was planned (another writer's version) is left as that writer made
    it, and the files cut for it are deleted."""
    results = planned.results()
    if not results and not planned.to_remove:
        return
    stale: list[str] = []
    orphans: list[str] = []
    written = removed = 0
    with ws.transaction() as conn:
        t = now()
        versions = name_rows.versions(conn, planned.ids)
        for row in planned.to_remove:
            if versions.get(row["id"]) != row["version"]:
                continue  # changed meanwhile: the next harvest looks again
            old = remove_name_crops(conn, row["id"])
            stale += old
            removed += len(old)
        rows: list[tuple] = []
        for name_id, made, error in results:
            row = planned.names[name_id]
            if error is not None:
                errors.append(error)
                continue
            if versions.get(name_id) != row["version"]:
                orphans += [rel for _idx, _label, rel, _box in made]
                continue
            stale += remove_name_crops(conn, name_id)
            origin = "verified" if row["status"] == "verified" else "auto"
            rows += [(name_id, idx, label, rel, *box, origin, t) for idx, label, rel, box in made]
            written += len(made)
        char_rows.insert_many(conn, rows)
        if written or removed:
            ws.log_event(conn, "harvest", written=written, removed=removed)
    tally["written"] += written
    tally["removed"] += removed
    delete_files(ws, stale + orphans)


def _start_crop_jobs(jobs: list[CropJob], pool, per_task: int = 64) -> Callable[[], list[CropResult]]:
    """Start cutting ``jobs`` (in the pool, or at once in this process); returns how to
    wait for the results."""
    if not jobs:
        return list
    if pool is None:
        done = write_name_crops(jobs)
        return lambda: done
    futures = [pool.submit(write_name_crops, jobs[i : i + per_task]) for i in range(0, len(jobs), per_task)]
    return lambda: [result for fut in futures for result in fut.result()]


# --- reconcile: every crop file has its row and every row its file ---------------------------


@dataclass(frozen=True)
class ReconcileReport:
    stray_files_removed: int
    temp_files_removed: int
    rows_restored: int
    rows_dropped: int

    def to_json(self) -> dict:
        return {
            "stray_files_removed": self.stray_files_removed,
            "temp_files_removed": self.temp_files_removed,
            "rows_restored": self.rows_restored,
            "rows_dropped": self.rows_dropped,
        }


def reconcile(ws: Workspace) -> ReconcileReport:
    """Repair what a crash can leave: stray or temporary files, rows whose file is gone.

    A row whose file vanished is rewritten from its name's image when that still exists,
    and dropped otherwise.
    """
    with ws.crops_lock(exclusive=True):
        return _reconcile_locked(ws)


def _reconcile_locked(ws: Workspace) -> ReconcileReport:
    known = ws.read(char_rows.all_paths)
    stray = temp = 0
    on_disk: set[str] = set()
    for label in ALL_CLASSES:
        folder = ws.class_dir(label)
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"dataset/{folder.name}/{entry.name}"
                if entry.name.endswith(".tmp"):
                    _unlink(entry.path)
                    temp += 1
                elif rel not in known and entry.is_file(follow_symlinks=False):
                    _unlink(entry.path)
                    stray += 1
                else:
                    on_disk.add(rel)
    restored = dropped = 0
    missing = known - on_disk
    if missing:
        with ws.transaction() as conn:
            for rel in sorted(missing):
                row = char_rows.by_path(conn, rel)
                if row is None:
                    continue
                if _restore_crop(ws, conn, CharRecord.from_row(row)):
                    restored += 1
                else:
                    char_rows.delete(conn, [row["id"]])
                    ws.log_event(conn, "crop_dropped", name_id=row["name_id"], path=rel, reason="file missing")
                    dropped += 1
    return ReconcileReport(stray, temp, restored, dropped)


def _restore_crop(ws: Workspace, conn: sqlite3.Connection, char: CharRecord) -> bool:
    if char.name_id is None or char.box is None:
        return False
    row = name_rows.by_id(conn, char.name_id)
    if row is None or not row["image_path"]:
        return False
    try:
        gray = load_gray(ws.resolve(row["image_path"]))
        # resolve(): a path from the database is never trusted to stay in the workspace.
        atomic_write_bytes(ws.resolve(char.path), encode_png(crop_gray(gray, char.box)))
    except (ImageError, InputError, WorkspaceError):
        return False
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- browsing and editing the folders ----------------------------------------------------


def list_crops(ws: Workspace, label: str, *, offset: int = 0, limit: int = 60) -> list[CharRecord]:
    ws.class_dir(label)  # validates the label
    return [CharRecord.from_row(r) for r in ws.read(char_rows.page, label, limit=limit, offset=offset)]


def get_crops(ws: Workspace, ids: Sequence[int]) -> list[CharRecord]:
    if not ids:
        return []
    return [CharRecord.from_row(r) for r in ws.read(char_rows.by_ids, ids)]


def delete_crops(ws: Workspace, ids: Sequence[int], *, actor: str | None = None) -> int:
    """Delete crops (rows and files). Returns how many were deleted.

    A crop cut from a name says its name was segmented wrongly, so that name goes back
    to the front of the review queue and its other crops leave the folders with it;
    otherwise the next harvest would bring the deleted crop back.
    """
    if not ids:
        return 0
    with ws.crops_lock(), ws.transaction() as conn:
        rows = char_rows.by_ids(conn, ids)
        char_rows.delete(conn, ids)
        stale = [r["path"] for r in rows]
        for r in rows:
            ws.log_event(conn, "crop_deleted", name_id=r["name_id"], actor=actor, path=r["path"], label=r["label"])
        for name_id in sorted({r["name_id"] for r in rows if r["name_id"] is not None}):
            letters = "".join(r["label"] for r in rows if r["name_id"] == name_id)
            stale += remove_name_crops(conn, name_id)
            name_rows.send_to_review(conn, name_id, reason=f"crop {letters} deleted in the dataset by "
                                     f"{actor or 'someone'}", t=now())
    delete_files(ws, stale)
    return len(rows)


def relabel_crops(ws: Workspace, ids: Sequence[int], new_label: str, *, actor: str | None = None) -> int:
    """Move crops to another class folder (any of the 62 classes, case kept). Returns how many moved."""
    new_label = class_label(new_label) or str(new_label or "").strip()
    target = ws.class_dir(new_label)  # raises InputError for a label that names no class
    if not ids:
        return 0
    moved: list[tuple[Path, Path]] = []
    with ws.crops_lock(), ws.transaction() as conn:
        rows = char_rows.by_ids(conn, ids)
        for r in rows:
            if r["label"] == new_label:
                continue
            new_rel = f"dataset/{target.name}/{Path(r['path']).name}"
            src, dst = ws.resolve(r["path"]), ws.root / new_rel
            # Copy first: the old file disappears only once the new row is committed.
            try:
                atomic_write_bytes(dst, src.read_bytes())
            except FileNotFoundError:
                raise DatasetError(
                    f"crop file {r['path']} is missing; run `hwocr harvest` to repair the folders") from None
            char_rows.relabel(conn, r["id"], new_label, new_rel)
            if r["name_id"] is not None and r["idx"] is not None:
                _relabel_name_box(conn, r["name_id"], r["idx"], new_label)
            ws.log_event(conn, "crop_relabelled", name_id=r["name_id"], actor=actor, old=r["label"], new=new_label)
            moved.append((src, dst))
    for src, _ in moved:
        _unlink(str(src))
    return len(moved)


def _relabel_name_box(conn: sqlite3.Connection, name_id: int, idx: int, label: str) -> None:
    """Keep the name's boxes in step with a relabelled crop, so harvest keeps the new letter."""
    stored = name_rows.boxes_json(conn, name_id)
    if not stored:
        return
    boxes = json.loads(stored)
    if 0 <= idx < len(boxes):
        boxes[idx] = [*boxes[idx][:4], label]
        name_rows.set_boxes(conn, name_id, json.dumps(boxes, separators=(",", ":")), now())


def add_crop(
    ws: Workspace, image, label: str, *, origin: str = "canvas", actor: str | None = None, note: str | None = None
) -> CharRecord:
    """Add one character image (e.g. a corrected letter from the canvas) to the class
    folder of ``label``, its case kept: ``b`` goes to ``dataset/b_lower/``."""
    label = class_label(label) or str(label or "").strip()
    ws.class_dir(label)  # raises InputError for a label that names no class
    if origin not in ORIGINS:
        raise InputError(f"origin must be one of {', '.join(ORIGINS)}")
    gray = load_gray(image)
    rel = _crop_relpath(label, origin, None)
    t = now()
    with ws.crops_lock(), ws.transaction() as conn:
        atomic_write_bytes(ws.root / rel, encode_png(gray))
        char_id = char_rows.insert(conn, name_id=None, idx=None, label=label, path=rel, box=None, origin=origin, t=t)
        ws.log_event(conn, "crop_added", actor=actor, label=label, origin=origin, path=rel, note=note)
    return CharRecord(char_id, None, None, label, rel, None, origin, t)


# --- export --------------------------------------------------------------------------


EXPORT_FORMATS = ("zip", "csv", "npz")


def _export_rows(ws: Workspace) -> tuple[list[sqlite3.Row], int]:
    """The crops to export, and how many demo crops were left out (see :func:`demo_crops_left_out`)."""
    rows = ws.read(char_rows.for_export)
    left_out = demo_crops_left_out(ws)
    kept = [r for r in rows if r["path"] not in left_out] if left_out else rows
    if not kept and rows:
        raise DatasetError(
            f"the class folders hold only the {len(rows)} crops of the demo data, which are left out because the "
            "workspace holds real names too: harvest real names first, or `python -m hwocr demo --remove`")
    if not kept:
        raise DatasetError("the class folders are empty: import, segment and harvest first")
    return kept, len(rows) - len(kept)


def export_dataset(ws: Workspace, fmt: str, out: Path, *, progress: Progress | None = None) -> dict:
    """Write the class folders to ``out`` as a zip, a Kaggle-style CSV or an npz.

    The demo's crops are left out when the workspace holds real names too
    (``demo_left_out`` in the result says how many)."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    rows, demo_left_out = _export_rows(ws)
    out = Path(out)
    if out.exists() and out.is_dir():
        raise InputError(f"{out} is a folder; give a file name")
    if fmt == "zip":
        size = _export_zip(ws, rows, out, progress)
    else:
        data = {"csv": _export_csv, "npz": _export_npz}[fmt](ws, rows, progress)
        atomic_write_bytes(out, data, fsync=True)
        size = len(data)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    return {"format": fmt, "path": str(out), "crops": len(rows), "classes": counts, "bytes": size,
            "demo_left_out": demo_left_out}


def _manifest_line(r: sqlite3.Row) -> list[str]:
    box = "" if r["x0"] is None else json.dumps([r["x0"], r["y0"], r["x1"], r["y1"]])
    return [
        safe_csv_cell(r["path"].split("/", 1)[1]),
        r["label"],
        safe_csv_cell(r["unit_id"]),
        "" if r["idx"] is None else str(r["idx"]),
        box,
        r["origin"],
    ]


#: What a crop's stored path looks like: a class folder (``A``, ``7`` or ``a_lower``) and
#: a file name hwocr made (no "..", no separators), so it is read without resolving it on
#: disk again.
_CROP_PATH = re.compile(r"dataset/(?:[A-Z0-9]|[a-z]_lower)/[A-Za-z0-9._-]+\.png")


def _crop_file(ws: Workspace, rel: str) -> str:
    if _CROP_PATH.fullmatch(rel) and ".." not in rel:
        return os.path.join(ws.root, rel)
    return str(ws.resolve(rel))  # anything else is checked the slow, thorough way


def _export_zip(ws: Workspace, rows: Sequence[sqlite3.Row], out: Path, progress: Progress | None) -> int:
    """The zip, streamed into a temporary file beside ``out`` and renamed into place:
    memory stays flat whatever the number of crops (a 130,000-name export is 800,000
    files). Returns its size in bytes."""
    for label in ALL_CLASSES:  # a class folder replaced by a link would lead the fast path astray
        if ws.class_dir(label).is_symlink():
            raise DatasetError(f"the class folder {folder_name(label)} is a link; hwocr does not follow it")
    manifest = io.StringIO()
    mw = csv.writer(manifest, lineterminator="\n")
    mw.writerow(["path", "label", "unit_id", "index", "box", "origin"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
                for i, r in enumerate(rows):
                    try:
                        with open(_crop_file(ws, r["path"]), "rb") as crop:
                            data = crop.read()
                    except FileNotFoundError:
                        raise DatasetError(
                            f"crop file {r['path']} is missing; run `hwocr harvest` to repair the folders") from None
                    zf.writestr(r["path"].split("/", 1)[1], data)
                    mw.writerow(_manifest_line(r))
                    if progress and (i % 500 == 0 or i + 1 == len(rows)):
                        progress(i + 1, len(rows))
                zf.writestr("labels.csv", manifest.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        _unlink(tmp)
        raise WorkspaceError(f"cannot write {out.name}: {exc.strerror or exc}") from None
    except BaseException:
        _unlink(tmp)
        raise
    return out.stat().st_size


def _crops_28(ws: Workspace, rows: Sequence[sqlite3.Row], progress: Progress | None) -> np.ndarray:
    from hwocr.glyph import to_export_28  # lazy: OpenCV, only for export

    out = np.zeros((len(rows), DEFAULTS.export_size, DEFAULTS.export_size), np.uint8)
    for i, r in enumerate(rows):
        try:
            out[i] = to_export_28(ws.resolve(r["path"]))
        except ImageError as exc:
            raise DatasetError(f"crop {r['path']} cannot be exported: {exc}") from None
        if progress and (i % 500 == 0 or i + 1 == len(rows)):
            progress(i + 1, len(rows))
    return out


def _export_csv(ws: Workspace, rows: Sequence[sqlite3.Row], progress: Progress | None) -> bytes:
    """Kaggle A-Z layout: no header, label index (A=0 … Z=25, then 0-9 as 26-35, a-z as
    36-61: the model's class order, so A-Z keeps Kaggle's own indices), 784 pixels."""
    pixels = _crops_28(ws, rows, progress).reshape(len(rows), -1)
    labels = np.array([ALL_CLASSES.index(r["label"]) for r in rows], dtype=np.int64)
    table = np.concatenate([labels[:, None], pixels.astype(np.int64)], axis=1)
    buf = io.StringIO()
    np.savetxt(buf, table, fmt="%d", delimiter=",")
    return buf.getvalue().encode("ascii")


def _export_npz(ws: Workspace, rows: Sequence[sqlite3.Row], progress: Progress | None) -> bytes:
    images = _crops_28(ws, rows, progress)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        images=images,
        labels=np.array([r["label"] for r in rows]),
        label_index=np.array([ALL_CLASSES.index(r["label"]) for r in rows], dtype=np.int16),
        classes=np.array(ALL_CLASSES),
        paths=np.array([r["path"] for r in rows]),
        unit_ids=np.array([r["unit_id"] or "" for r in rows]),
        boxes=np.array([[r["x0"] or 0, r["y0"] or 0, r["x1"] or 0, r["y1"] or 0] for r in rows], dtype=np.int32),
        origins=np.array([r["origin"] for r in rows]),
    )
    return buf.getvalue()


# --- the demo data, kept apart from real names ---------------------------------------------

#: What the demo's import is recorded under (``imports.csv_name``): ``hwocr demo`` and the
#: Home page's button pass it to :func:`hwocr.pipeline.import_csv`.
DEMO_CSV_NAME = "hwocr-demo/names.csv"
#: The demo's unit_ids: DEMO_0001, DEMO_0002, …
DEMO_UNIT_PREFIX = "DEMO_"
#: The folder of the workspace that the demo's generated CSV and images are written to.
DEMO_FOLDER = "demo"


def _demo(ws: Workspace) -> demo_rows.DemoImport:
    """How the demo's names are told from real ones (:mod:`hwocr.store.demo`)."""
    return demo_rows.DemoImport(DEMO_CSV_NAME, str(ws.root / DEMO_FOLDER), DEMO_UNIT_PREFIX)


@dataclass(frozen=True)
class DemoData:
    names: int        # demo names in the workspace
    crops: int        # their crops in the class folders
    real_names: int   # every other name

    @property
    def present(self) -> bool:
        return self.names > 0

    @property
    def left_out(self) -> bool:
        """Whether exports and training leave the demo's crops out: they do once the
        workspace holds real names too (a workspace of the demo alone still exports and
        trains, so the demo stays a usable first look)."""
        return self.names > 0 and self.real_names > 0

    def to_json(self) -> dict:
        return {"names": self.names, "crops": self.crops, "real_names": self.real_names,
                "left_out": self.left_out}


def demo_data(ws: Workspace) -> DemoData:
    """How much demo data the workspace holds, beside how many real names."""
    demo, total, crops = ws.read(demo_rows.counts, _demo(ws))
    return DemoData(demo, crops, total - demo)


def demo_crops_left_out(ws: Workspace) -> frozenset[str]:
    """Workspace-relative paths of the crops that exports and training leave out: the
    demo's, when the workspace holds real names too; none otherwise."""
    return frozenset(ws.read(demo_rows.crop_paths_when_mixed, _demo(ws)))


def demo_left_out_note(count: int) -> str:
    """What to say about ``count`` demo crops left out of an export or a training run."""
    return (f"{count} demo crop{'' if count == 1 else 's'} left out (the workspace holds real names too; "
            "`python -m hwocr demo --remove` deletes the demo data)")


@dataclass(frozen=True)
class DemoRemoval:
    names: int
    crops: int
    images: int
    imports: int
    folder: bool      # the generated demo folder (CSV and images) was deleted

    @property
    def anything(self) -> bool:
        return bool(self.names or self.crops or self.images or self.imports or self.folder)

    def summary(self) -> str:
        if not self.anything:
            return "no demo data to remove"
        return (f"removed the demo data: {self.names} name{'' if self.names == 1 else 's'}, "
                f"{self.crops} crop{'' if self.crops == 1 else 's'}, "
                f"{self.images} image{'' if self.images == 1 else 's'}"
                + (" and the generated demo folder" if self.folder else ""))

    def to_json(self) -> dict:
        return {"names": self.names, "crops": self.crops, "images": self.images, "imports": self.imports,
                "folder": self.folder}


def remove_demo(ws: Workspace, *, actor: str | None = None) -> DemoRemoval:
    """Delete the demo's names, their crops (rows and files), their stored images, the
    demo's import and the generated demo folder. Idempotent: a second run removes nothing."""
    import shutil

    demo = _demo(ws)
    with ws.crops_lock(), ws.transaction() as conn:
        rows = demo_rows.names(conn, demo)
        stale: list[str] = []
        for r in rows:
            stale += remove_name_crops(conn, r["id"])
        images = [r["image_path"] for r in rows if r["image_path"]]
        name_rows.delete(conn, [r["id"] for r in rows])
        imports = demo_rows.delete_empty_imports(conn, demo)
        if rows or imports:
            ws.log_event(conn, "demo_removed", actor=actor, names=len(rows), crops=len(stale), images=len(images))
    delete_files(ws, stale)
    delete_files(ws, images)
    folder = ws.root / DEMO_FOLDER
    removed_folder = folder.is_dir() and not folder.is_symlink()
    if removed_folder:
        shutil.rmtree(folder, ignore_errors=True)
    return DemoRemoval(len(rows), len(stale), len(images), imports, removed_folder)
