"""The Import page's work, without Streamlit: keep uploads inside the workspace, preview
a CSV with thumbnails, and run import -> segment -> harvest with one progress callback.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hwocr.config import DEFAULTS
from hwocr.dataset import DEMO_CSV_NAME, DEMO_FOLDER, harvest
from hwocr.demo import generate_demo
from hwocr.errors import CsvError, HwocrError, InputError
from hwocr.images import load_gray
from hwocr.pipeline import import_csv, segment_workspace
from hwocr.sources import preview_csv
from hwocr.status import exposure_warning as warning_for
from hwocr.store.queries import Failure, has_names, import_failures
from hwocr.ui import render
from hwocr.workspace import Workspace, atomic_write_bytes, safe_filename

#: Largest upload we keep (the server refuses bigger ones first: server.maxUploadSize).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
UPLOADS = "uploads"
THUMB_WIDTH = 388

StageProgress = Callable[[str, int, int], None]

#: What to do when an uploaded CSV names image files and no images came with it.
NO_IMAGES_GIVEN = ("The CSV names image files, not URLs, and no images were given: upload the images as a zip, "
                   "or switch to 'Files on the server' and give the images folder.")

#: Files people pick by mistake, by their first bytes: (magic, what it is).
_NOT_TEXT = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
)


def sniff_kind(data: bytes) -> str | None:
    """What a file that is neither a CSV nor a zip is ("a PNG image"), from its first bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    for magic, what in _NOT_TEXT:
        if data.startswith(magic):
            return what
    return None


def uploads_dir(ws: Workspace) -> Path:
    return ws.root / UPLOADS


def save_upload(ws: Workspace, filename: str, data: bytes, *, kind: str) -> Path:
    """Keep an uploaded file in ``<workspace>/uploads/`` under a name derived from its
    content (the same file uploaded twice is stored once) and never outside it.

    ``kind`` is "csv" or "zip"; a zip must really be one.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{filename}: {len(data):,} bytes is more than the upload limit of {MAX_UPLOAD_BYTES:,}")
    if not data:
        raise InputError(f"{filename}: the file is empty")
    if kind == "zip":
        import io

        if not zipfile.is_zipfile(io.BytesIO(data)):
            if what := sniff_kind(data):
                raise InputError(f"{filename}: is {what}, not a zip; put the images in a .zip and upload that")
            if Path(filename).suffix.lower() in (".csv", ".tsv", ".txt"):
                raise InputError(f"{filename}: is not a zip file; the CSV goes in the Names CSV field, and the "
                                 "images, as a .zip, here")
            raise InputError(f"{filename}: is not a zip file; upload a .zip of the images")
    elif kind == "csv":
        if data[:4] == b"PK\x03\x04":
            # The words of hwocr.sources: an Excel workbook is a zip too.
            raise CsvError(f"{filename}: is a zip archive or an Excel workbook, not a CSV; save it as CSV (UTF-8)")
        if what := sniff_kind(data):
            raise CsvError(f"{filename}: is {what}, not a CSV; upload the names CSV here, and the images as a "
                           ".zip beside it")
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem = safe_filename(Path(filename).name, limit=80)
    target = uploads_dir(ws) / f"{digest}_{stem}"
    if target.resolve().parent != uploads_dir(ws).resolve():  # belt and braces: safe_filename has no '/'
        raise InputError(f"{filename}: refusing an upload name that leaves the uploads folder")
    if not target.exists():
        atomic_write_bytes(target, data)
    return target


def exposure_warning(server_address: str | None) -> str | None:
    """What to warn about when this server listens beyond localhost (``server.address``;
    unset means every interface) while downloads may reach private addresses."""
    return warning_for(server_address or "0.0.0.0")


@dataclass(frozen=True)
class PreviewRow:
    line: int
    unit_id: str
    source: str
    transcription: str | None
    first_or_last: str | None
    note: str              # skip reason, image problem, or "" when all is well
    thumbnail: bytes | None  # PNG of the image (at most THUMB_WIDTH wide), when it is local


@dataclass(frozen=True)
class Preview:
    description: str
    layout: str
    columns: dict
    encoding: str
    delimiter: str
    rows: tuple[PreviewRow, ...]
    relative_sources: bool   # some rows name files, not URLs
    images_root: str | None  # where those files are read from

    @property
    def images_missing(self) -> bool:
        """The rows name image files but no images folder or zip was given (an upload without its zip)."""
        return self.relative_sources and self.images_root is None

    @property
    def files_only(self) -> bool:
        """Every previewed row names a file: without the images, nothing could be fetched."""
        return all(not _is_url(r.source) for r in self.rows)


def _is_url(source: str) -> bool:
    return source.strip().lower().startswith(("http://", "https://"))


def preview(csv_path: Path, images_root: Path | None, *, n: int = 10, name: str | None = None,
            beside_csv: bool = True) -> Preview:
    """The first ``n`` rows as they will be imported, with thumbnails of local images.
    ``name`` is what messages call the file (an upload's own name, not the stored one).
    ``beside_csv``: with no ``images_root``, image files are looked for in the CSV's
    folder (a CSV on the server; an uploaded one has nothing beside it)."""
    from hwocr.fetch import open_images_root  # lazy: fetch brings urllib3

    table = preview_csv(csv_path, n=n, name=name or csv_path.name)
    relative = any(not _is_url(r.source) for r in table.rows)
    root = images_root if images_root is not None else (csv_path.parent if relative and beside_csv else None)
    store = None
    store_error = ""
    if relative and root is not None:
        try:
            store = open_images_root(root)
        except HwocrError as exc:
            store_error = str(exc)
    rows = []
    try:
        for r in table.rows:
            note, thumb = r.skip_reason or "", None
            if not _is_url(r.source):
                if store is None:
                    note = note or (f"image: {store_error}" if store_error
                                    else "image file: no images folder or zip given")
                else:
                    try:
                        data = store.read(r.source, max_bytes=DEFAULTS.max_image_bytes)
                        gray = load_gray(data)
                        thumb = render.png(render.fit_width(gray, THUMB_WIDTH))
                    except HwocrError as exc:
                        note = note or f"image: {exc}"
            rows.append(PreviewRow(r.line, r.unit_id, r.source, r.transcription, r.first_or_last, note, thumb))
    finally:
        if store is not None:
            store.close()
    return Preview(table.describe(), table.layout, dict(table.columns), table.encoding, table.delimiter_name,
                   tuple(rows), relative, None if root is None else str(root))


#: What a CSV given by its folder may be called.
CSV_SUFFIXES = (".csv",)


def server_csv(text: str, ws: Workspace | None = None) -> tuple[Path, str | None]:
    """The CSV that a path typed on the server names, and a note when it named a folder.

    A folder that holds exactly one .csv stands for that file; any other folder is an
    error that says what to give instead. The workspace's own database is refused
    before anything opens it (see :meth:`Workspace.refuse_own_database`)."""
    path = Path(text.strip()).expanduser()
    if ws is not None:
        ws.refuse_own_database(path)
    if path.is_dir():
        try:
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in CSV_SUFFIXES and p.is_file())
        except OSError as exc:
            raise InputError(f"{path}: is a folder that cannot be read ({exc.strerror or exc}); "
                             "give the path of the names CSV") from None
        if len(found) == 1:
            return found[0].resolve(), f"{path} is a folder: using the CSV in it, {found[0].name}."
        if found:
            listed = ", ".join(p.name for p in found[:5]) + (", …" if len(found) > 5 else "")
            raise InputError(f"{path}: is a folder with {len(found)} CSV files ({listed}); "
                             "give the path of the one to import")
        raise InputError(f"{path}: is a folder with no .csv file in it; give the path of the names CSV "
                         "(the images folder goes in the second field)")
    if not path.is_file():
        raise InputError(f"{path}: no such file on the server")
    return path.resolve(), None


@dataclass(frozen=True)
class ImportOutcome:
    csv_name: str
    rows: int
    added: int
    already_present: int
    skipped: int
    duplicates: int
    fetched: int
    fetch_failed: int
    segment: dict | None        # SegmentReport.to_json()["this_run"] plus workspace totals
    harvested: int | None       # crops written
    failures: tuple[Failure, ...] = field(default=())


def run_import(
    ws: Workspace,
    csv_path: Path,
    *,
    csv_name: str,
    images_root: Path | None,
    segment: bool,
    progress: StageProgress | None = None,
    connections: int | None = None,
) -> ImportOutcome:
    """Import the CSV and fetch its images (URLs ``connections`` at a time); then
    (``segment``) segment and harvest.

    ``progress(stage, done, total)`` with stage "fetch", "segment" or "harvest".
    """
    def stage(name: str):
        return None if progress is None else (lambda done, total: progress(name, done, total))

    report = import_csv(ws, csv_path, csv_name=csv_name, images_root=images_root, progress=stage("fetch"),
                        connections=connections)
    seg_json = harvested = None
    if segment:
        seg = segment_workspace(ws, progress=stage("segment"))
        seg_json = seg.to_json()
        harvested = harvest(ws, progress=stage("harvest")).written
    fetch = report.fetch
    failures = import_failures(ws, csv_name)
    return ImportOutcome(
        csv_name=report.csv_name, rows=report.rows, added=report.added, already_present=report.already_present,
        skipped=report.skipped, duplicates=report.duplicates,
        fetched=fetch.fetched if fetch else 0, fetch_failed=fetch.failed if fetch else 0,
        segment=seg_json, harvested=harvested, failures=tuple(failures),
    )


@dataclass(frozen=True)
class DemoOutcome:
    generated: int
    segment: dict
    harvested: int


def load_demo(ws: Workspace, *, count: int = 40, seed: int = 7, progress: StageProgress | None = None) -> DemoOutcome:
    """The demo flow of ``python -m hwocr demo``: generate -> import -> segment -> harvest.

    Refuses a workspace that already has names, so the demo never mixes with real data.
    """
    if has_names(ws):
        raise InputError("the workspace already has names; the demo data loads only into an empty workspace")

    def stage(name: str):
        return None if progress is None else (lambda done, total: progress(name, done, total))

    if progress:
        progress("generate", 0, count)
    csv_path, names = generate_demo(ws.root / DEMO_FOLDER, count=count, seed=seed)
    if progress:
        progress("generate", count, count)
    # Recorded under the demo's own name, which is how exports, training and "remove the demo" know it.
    import_csv(ws, csv_path, csv_name=DEMO_CSV_NAME, images_root=csv_path.parent, progress=stage("fetch"))
    seg = segment_workspace(ws, progress=stage("segment"))
    harvested = harvest(ws, progress=stage("harvest"))
    return DemoOutcome(len(names), seg.to_json(), harvested.written)
