"""Import and segmentation over a whole workspace.

Import reads the CSV, records every row (skipped ones with their reason), then fetches
the images of every name that has none yet, storing each result as it arrives: a crash
or Ctrl-C loses at most the last small batch, and running import again fetches only
what is still missing. Segmentation runs the preprocess → segment → align chain on every
fetched name, in worker processes when there are many.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hwocr import kernel_cache
from hwocr.config import DEFAULTS, GUIDED_MARK
from hwocr.errors import HwocrError, ModelError
from hwocr.images import EXTENSIONS
from hwocr.model import set_interpreter_threads
from hwocr.sources import read_csv
from hwocr.store import imports as import_rows
from hwocr.store import names as name_rows
from hwocr.versions import active_model_dir
from hwocr.vet import VET_CONFIRMED, confirmed_reason, name_glyphs, vet_batch, vet_screened, warm_up_screen
from hwocr.workers import default_workers, process_pool
from hwocr.workspace import (
    LabeledBox,
    Workspace,
    init_worker_process,
    labeled_boxes_to_json,
    now,
    remove_orphan_temp_files,
    store_image_file,
)

Progress = Callable[[int, int], None]

#: Segmentation statuses that a re-run may recompute; human decisions are never redone.
REDOABLE = ("fetched", "matched", "repaired", "needs_review", "failed")


# --- import --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    import_id: int
    csv_name: str
    layout: str
    encoding: str
    delimiter: str
    columns: dict
    rows: int                 # data rows in the CSV
    added: int                # names new to the workspace
    already_present: int      # unit_ids the workspace already had (earlier import)
    skipped: int              # rows kept as skipped (no transcription, UNREADABLE, ...)
    duplicates: int           # unit_ids repeated inside the CSV (kept once)
    fetch: FetchReport | None

    def to_json(self) -> dict:
        return {
            "import_id": self.import_id,
            "csv": self.csv_name,
            "layout": self.layout,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "columns": self.columns,
            "rows": self.rows,
            "added": self.added,
            "already_present": self.already_present,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "fetch": None if self.fetch is None else self.fetch.to_json(),
        }


@dataclass(frozen=True)
class FetchReport:
    attempted: int
    fetched: int
    failed: int
    stopped: bool
    elapsed_s: float
    failures: tuple[tuple[str, str], ...] = field(default=())   # (unit_id, reason), at most 1000

    def to_json(self) -> dict:
        return {
            "attempted": self.attempted,
            "fetched": self.fetched,
            "failed": self.failed,
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 3),
            "failures": [{"unit_id": u, "reason": r} for u, r in self.failures],
        }


def register_csv(ws: Workspace, table, *, csv_name: str, images_root: str | None) -> tuple[int, int, int, int]:
    """Record the CSV's rows as names. Returns (import_id, added, already_present, skipped)."""
    t = now()
    added = present = skipped = 0
    with ws.transaction() as conn:
        import_id = import_rows.insert(conn, csv_name=csv_name, layout=table.layout, encoding=table.encoding,
                                       delimiter=table.delimiter, images_root=images_root, t=t, rows=len(table.rows),
                                       duplicates=len(table.duplicates))
        for row in table.rows:
            if row.skip_reason and row.skip_reason.startswith("duplicate"):
                continue
            status = "skipped" if row.transcription is None else "pending"
            inserted = name_rows.insert_imported(
                conn, unit_id=row.unit_id, import_id=import_id, line=row.line, source=row.source,
                raw_transcription=row.raw_transcription, transcription=row.transcription,
                first_or_last=row.first_or_last, status=status, reason=row.skip_reason, t=t)
            if not inserted:
                present += 1
            elif status == "skipped":
                skipped += 1
                added += 1
            else:
                added += 1
        import_rows.set_counts(conn, import_id, added=added, skipped=skipped)
        ws.log_event(
            conn, "import", csv=csv_name, layout=table.layout, rows=len(table.rows), added=added,
            already_present=present, skipped=skipped, duplicates=list(table.duplicates)[:100],
        )
    return import_id, added, present, skipped


def import_csv(
    ws: Workspace,
    csv_source: Path | bytes,
    *,
    csv_name: str | None = None,
    images_root: Path | None = None,
    fetch: bool = True,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    link_images: bool = DEFAULTS.link_local_images,
    connections: int | None = None,
) -> ImportReport:
    name = csv_name or (Path(csv_source).name if isinstance(csv_source, (str, Path)) else "uploaded.csv")
    if isinstance(csv_source, (str, Path)):
        ws.refuse_own_database(csv_source)
    table = read_csv(csv_source, name=name)
    root = Path(images_root).expanduser().resolve() if images_root is not None else None
    if root is None and isinstance(csv_source, (str, Path)) and any(
        not r.source.lower().startswith(("http://", "https://")) for r in table.rows[:50]
    ):
        # Relative image paths are read next to the CSV unless told otherwise.
        root = Path(csv_source).expanduser().resolve().parent
    import_id, added, present, skipped = register_csv(ws, table, csv_name=name, images_root=str(root) if root else None)
    report = fetch_missing(ws, images_root=root, progress=progress, stop=stop,
                           link_images=link_images, connections=connections) if fetch else None
    return ImportReport(
        import_id=import_id, csv_name=name, layout=table.layout, encoding=table.encoding, delimiter=table.delimiter,
        columns=dict(table.columns), rows=len(table.rows), added=added, already_present=present,
        skipped=skipped, duplicates=len(table.duplicates), fetch=report,
    )


#: An import reads local files in worker processes from this many names on (starting
#: them costs a few tenths of a second; below it one process with threads is as fast).
LOCAL_POOL_MIN_NAMES = 2000


def _is_url(source: str | None) -> bool:
    """Whether fetch downloads ``source`` (the same test fetch dispatches on)."""
    from hwocr.fetch import source_scheme  # lazy: fetch brings urllib3

    return bool(source) and source_scheme(source) in ("http", "https")


def _init_fetch_worker() -> None:
    init_worker_process()


def _fetch_local_chunk(job: tuple[str, str, list[tuple[int, str, str]], bool]
                       ) -> list[tuple[int, bool, str | None, str | None, int]]:
    """Worker: read, check and store (or hard-link, with ``link``) the images of a chunk of
    names from a local folder or zip; returns (name id, ok, stored path, error, attempts)
    per name. No database: the parent records the results in batches."""
    from hwocr.fetch import FetchRequest, open_images_root, read_local  # lazy: fetch brings urllib3

    ws_root, images_root, items, link = job
    store = _WORKER_STORES.get(images_root)
    if store is None:
        store = _WORKER_STORES[images_root] = open_images_root(Path(images_root))
    out = []
    for name_id, unit_id, source in items:
        result = read_local(FetchRequest(unit_id, source), store)
        if result.ok and result.data is not None:
            rel = store_image_file(ws_root, name_id, result.data, EXTENSIONS.get(result.kind or "", ".img"),
                                   result.origin if link else None)
            out.append((name_id, True, rel, None, result.attempts))
        else:
            out.append((name_id, False, None, result.error, result.attempts))
    return out


#: This worker's open images folders and zips, by path (a zip's index is read once).
_WORKER_STORES: dict[str, object] = {}


def _fetch_local_in_pool(ws: Workspace, root: Path, group: list, workers: int, record, stop,
                         link: bool, chunk: int = 256) -> bool:
    """Read a group of local images in ``workers`` processes (the checks decode every
    image: CPU work that threads would serialise), recording results as chunks finish.
    Returns whether ``stop`` cut it short."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from hwocr.fetch import open_images_root  # lazy: fetch brings urllib3

    store = open_images_root(root)  # an unusable root fails here, once, as fetch_all would
    if store is not None:
        store.close()
    by_id = {r["id"]: r for r in group}
    parts = [[(r["id"], r["unit_id"], r["source"]) for r in group[i : i + chunk]]
             for i in range(0, len(group), chunk)]
    todo = iter(parts)
    with process_pool(workers, _init_fetch_worker) as pool:
        running = set()
        try:
            while True:
                while len(running) < workers * 2 and not (stop is not None and stop.is_set()):
                    part = next(todo, None)
                    if part is None:
                        break
                    running.add(pool.submit(_fetch_local_chunk, (str(ws.root), str(root), part, link)))
                if not running:
                    break
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    for name_id, ok, rel, error, attempts in fut.result():
                        record(by_id[name_id], ok, rel, error, attempts)
        finally:
            for fut in running:
                fut.cancel()
    return stop is not None and stop.is_set()


def fetch_missing(
    ws: Workspace,
    *,
    images_root: Path | None = None,
    retry_failed: bool = True,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    batch_seconds: float = 0.5,
    workers: int | None = None,
    link_images: bool = DEFAULTS.link_local_images,
    connections: int | None = None,
) -> FetchReport:
    """Fetch the image of every name that has none yet (and retry earlier failures).

    URLs are downloaded by threads, ``connections`` at a time (default
    ``DEFAULTS.download_concurrency``); a large group of local files (a folder or a zip) is
    read, checked and stored by ``workers`` processes (default: one per core). With
    ``link_images`` an image read from a local folder is hard-linked into the workspace
    where the file system allows (:func:`hwocr.workspace.link_same_file`), else copied."""
    from hwocr.fetch import FetchRequest, fetch_all  # lazy: fetch brings urllib3

    # An earlier run killed while writing an image left its temporary file behind.
    remove_orphan_temp_files(ws.images_dir)
    statuses = ("pending", "fetch_failed") if retry_failed else ("pending",)
    rows = ws.read(name_rows.to_fetch, statuses)
    total = len(rows)
    start = time.monotonic()
    if total == 0:
        return FetchReport(0, 0, 0, False, 0.0)
    by_key = {r["unit_id"]: r for r in rows}
    # Names from one import share its images root; a root given now wins over the recorded one.
    groups: dict[str | None, list] = {}
    for r in rows:
        root = str(images_root) if images_root is not None else r["images_root"]
        groups.setdefault(root, []).append(r)

    fetched = failed = done = 0
    failures: list[tuple[str, str]] = []
    pending_updates: list[tuple] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal pending_updates, last_flush
        if not pending_updates:
            return
        with ws.transaction() as conn:
            name_rows.set_fetch_results(conn, pending_updates)
        pending_updates = []
        last_flush = time.monotonic()

    def record(row, ok: bool, rel: str | None, error: str | None, attempts: int) -> None:
        nonlocal fetched, failed, done
        t = now()
        if ok:
            pending_updates.append(("fetched", None, rel, attempts, t, row["id"]))
            fetched += 1
        else:
            reason = error or "unknown error"
            pending_updates.append(("fetch_failed", reason, None, attempts, t, row["id"]))
            failed += 1
            if len(failures) < 1000:
                failures.append((row["unit_id"], reason))
        done += 1
        if progress:
            progress(done, total)
        if time.monotonic() - last_flush >= batch_seconds or len(pending_updates) >= 4096:
            flush()

    stopped = False
    n_workers = default_workers() if workers is None else max(1, workers)
    try:
        for root, group in groups.items():
            if stop is not None and stop.is_set():
                stopped = True
                break
            if root and n_workers > 1 and len(group) >= LOCAL_POOL_MIN_NAMES and not any(
                    _is_url(r["source"]) for r in group):
                stopped = _fetch_local_in_pool(ws, Path(root), group, n_workers, record, stop,
                                               link_images) or stopped
                continue
            requests = [FetchRequest(r["unit_id"], r["source"]) for r in group]
            for result in fetch_all(requests, images_root=Path(root) if root else None, stop=stop,
                                    concurrency=connections):
                row = by_key[result.key]
                rel = None
                if result.ok and result.data is not None:
                    try:
                        rel = ws.store_image(row["id"], result.data, EXTENSIONS.get(result.kind or "", ".img"),
                                             result.origin if link_images else None)
                    except HwocrError:
                        flush()
                        raise
                record(row, result.ok and result.data is not None, rel, result.error, result.attempts)
            if stop is not None and stop.is_set():
                stopped = True
    finally:
        flush()
    elapsed = time.monotonic() - start
    with ws.transaction() as conn:
        ws.log_event(conn, "fetch", attempted=done, fetched=fetched, failed=failed, stopped=stopped,
                     elapsed_s=round(elapsed, 3))
    return FetchReport(done, fetched, failed, stopped or done < total, elapsed, tuple(failures))


# --- segmentation ---------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentReport:
    processed: int            # names segmented by this run
    matched: int
    repaired: int
    needs_review: int
    failed: int
    auto_labelled: int        # matched + repaired with confidence >= the harvest threshold
    elapsed_s: float
    totals: dict              # the same counts over the whole workspace
    vetted: int = 0           # sent to review by the model's vetting (hwocr.vet)
    confirmed: int = 0        # unsure repairs the model's vetting did not dispute: harvested

    @property
    def per_second(self) -> float:
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict:
        t = self.totals
        return {
            "names": t["names"],
            "matched": t["matched"],
            "repaired": t["repaired"],
            "needs_review": t["needs_review"],
            "failed": t["failed"],
            "auto_labelled": t["auto_labelled"],
            "auto_labelled_share": t["auto_labelled_share"],
            "vetted": t["vetted"],
            "this_run": {
                "processed": self.processed,
                "matched": self.matched,
                "repaired": self.repaired,
                "needs_review": self.needs_review,
                "failed": self.failed,
                "auto_labelled": self.auto_labelled,
                "vetted": self.vetted,
                "vet_confirmed_repairs": self.confirmed,
                "elapsed_s": round(self.elapsed_s, 3),
                "names_per_s": round(self.per_second, 1),
            },
        }


@dataclass(frozen=True)
class NameResult:
    """What segmentation decided for one name: made in a worker process, sent back to
    the parent and stored there as one row update (:func:`hwocr.store.names.set_segment_results`)."""

    id: int
    status: str                       # matched, repaired, needs_review or failed
    confidence: float
    reason: str | None
    boxes: str | None                 # the labelled boxes as stored (JSON text), None when failed
    width: int | None                 # the image's size; None keeps the stored one
    height: int | None
    vet: str | None = None            # model vetting's verdict (hwocr.vet) when it sent the name to review

    @classmethod
    def failed(cls, name_id: int, reason: str) -> NameResult:
        return cls(name_id, "failed", 0.0, reason, None, None, None)

    @property
    def auto_labelled(self) -> bool:
        """Whether harvest takes it without a person: matched, or repaired surely enough."""
        return self.status == "matched" or (
            self.status == "repaired" and self.confidence >= DEFAULTS.harvest_min_confidence)

    @property
    def guided(self) -> bool:
        return GUIDED_MARK in (self.reason or "")

    @property
    def vet_confirmed(self) -> bool:
        """An unsure repair that model vetting let through to harvest."""
        return VET_CONFIRMED in (self.reason or "")

    def row(self) -> dict:
        # Every field is a number or a string: no copying, unlike dataclasses.asdict
        # (its deep copies were a tenth of segment's parent CPU at 20,000 names).
        return {"id": self.id, "status": self.status, "confidence": self.confidence, "reason": self.reason,
                "boxes": self.boxes, "width": self.width, "height": self.height, "vet": self.vet}


@dataclass(frozen=True)
class _Analysed:
    """A name's result, with its analysis and alignment when vetting reads it (an
    auto-accepted name, or a repair below the harvest bar), else None and None."""

    result: NameResult
    analysis: object = None
    alignment: object = None


def analyze_file(job: tuple[int, str, str]) -> NameResult:
    """Worker: segment one stored name image. Never raises; failures come back as status."""
    return _analyze(job).result


def _analyze(job: tuple[int, str, str]) -> _Analysed:
    name_id, path, transcription = job
    from hwocr.align import analyze_name  # lazy: OpenCV

    try:
        # The align stage loads this process's model only for a name that needs it.
        analysis = analyze_name(Path(path), transcription, judge=_worker_recognizer)
        al = analysis.alignment
    except HwocrError as exc:
        return _Analysed(NameResult.failed(name_id, str(exc)))
    except Exception as exc:  # noqa: BLE001 - one bad image must not stop 130,000 others
        return _Analysed(NameResult.failed(name_id, f"segmentation error: {type(exc).__name__}: {exc}"))
    h, w = analysis.cleaned.gray.shape[:2]
    boxes = [LabeledBox(b, ch) for b, ch in zip(al.boxes, al.letters)] if al.boxes else []
    result = NameResult(name_id, al.status, float(al.confidence), al.reason, labeled_boxes_to_json(boxes),
                        int(w), int(h))
    if al.boxes and (result.auto_labelled or result.status == "repaired"):
        return _Analysed(result, analysis, al)
    return _Analysed(result)


def vet_results(rec, analysed: Sequence[_Analysed]) -> list[NameResult]:
    """Model vetting (:mod:`hwocr.vet`) of a chunk's auto-accepted names, all their crops
    classified in one batch: the chunk's results, those of the names vetting changed
    replaced. With ``vet_screen`` (the default) the model first reads cheap copies of the
    crops and only the doubtful ones are made and read exactly (:func:`hwocr.vet.vet_screened`:
    the same decisions, a crop disputed only where the exact reading disputes it).

    A repair below the harvest bar (``harvest_min_confidence``: the geometry was unsure
    where it split or merged pieces) is vetted too, and harvested when the model
    disputes none of its crops: its confidence is lifted to the bar, the reason saying
    so (``vet_confirms_repairs``; on the tune half of the dev names, the 5 such names
    it let through were all cut right, by eye). Until now such a name waited on the
    Audit page, neither harvested nor in the review queue.

    A name whose crop the model strongly disputes becomes ``needs_review``, the reason
    and the model's readings stored with it. With ``vet_realign`` it first gets one
    second chance: the transcription forced onto the image with the model as the judge
    (as guided repair does); when that places every letter surely and the model
    disputes none of the new crops, the name stays auto-accepted as ``repaired`` with
    those boxes."""
    results = [a.result for a in analysed]
    # An unsure repair is read only when vetting may file it: switched off, it is left
    # as it was, neither filed nor sent to review.
    todo = [i for i, a in enumerate(analysed)
            if a.analysis is not None and (a.result.auto_labelled or DEFAULTS.vet_confirms_repairs)]
    if rec is None or not todo:
        return results
    if DEFAULTS.vet_screen:
        verdicts = vet_screened(rec, [(analysed[i].analysis.cleaned.gray, analysed[i].alignment.boxes,
                                       analysed[i].alignment.letters) for i in todo])
    else:
        verdicts = vet_batch(rec, [(name_glyphs(analysed[i].analysis.cleaned.gray, analysed[i].alignment.boxes,
                                                analysed[i].alignment.letters),
                                    analysed[i].alignment.boxes, analysed[i].alignment.letters) for i in todo])
    for i, verdict in zip(todo, verdicts):
        result = analysed[i].result
        if verdict is not None and not verdict.disputed and not result.auto_labelled:
            results[i] = replace(result, confidence=DEFAULTS.harvest_min_confidence,
                                 reason=confirmed_reason(result.reason, result.confidence))
    disputed = [(i, v) for i, v in zip(todo, verdicts) if v is not None and v.disputed]
    for i, verdict in disputed:
        a = analysed[i]
        g = _realign(rec, a.analysis, a.alignment) if DEFAULTS.vet_realign else None
        if g is not None:
            [second] = vet_batch(rec, [(name_glyphs(a.analysis.cleaned.gray, g.boxes, g.letters), g.boxes,
                                        g.letters)])
            if second is not None and not second.disputed:
                boxes = [LabeledBox(b, ch) for b, ch in zip(g.boxes, g.letters)]
                results[i] = replace(a.result, status="repaired", confidence=float(g.confidence),
                                     boxes=labeled_boxes_to_json(boxes),
                                     reason=f"{g.reason}; {verdict.reason}, so it was aligned again")
                continue
        reason = f"{verdict.reason}; {a.result.reason}" if a.result.reason else verdict.reason
        results[i] = replace(a.result, status="needs_review", reason=reason, vet=verdict.to_json())
    return results


def _realign(rec, analysis, al):
    """The transcription forced onto a disputed name by the character model, as a
    ``repaired`` alignment sure enough to harvest, or None (:func:`hwocr.align.realign`)."""
    from hwocr.align import realign  # lazy: OpenCV

    return realign(rec, analysis.cleaned, al)


#: The model of this process, loaded on first need: (model folder, Recognizer or None).
_WORKER_MODEL: dict[str, object] = {}


def _worker_recognizer():
    """This process's recognizer for guided repair, loaded once (a second or two, and
    TensorFlow's memory) the first time a name needs it; None when no model loads, in
    which case names simply keep their geometric answer."""
    if "rec" not in _WORKER_MODEL:
        from hwocr.recognize import Recognizer  # lazy: OpenCV and the model code

        directory = _WORKER_MODEL.get("dir")
        try:
            # The 8-bit copy: the same statuses, boxes and vetting decisions on the dev
            # names as the float model, segmentation a third faster (2026-12-05).
            _WORKER_MODEL["rec"] = Recognizer.load(directory or None, quantised=True)
        except (ModelError, HwocrError, ImportError, OSError):
            _WORKER_MODEL["rec"] = None
    return _WORKER_MODEL["rec"]


def _use_model(directory: str | None) -> None:
    """Which model guides this process's repairs (the workspace's active one)."""
    if _WORKER_MODEL.get("dir") != directory:
        _WORKER_MODEL.clear()
        _WORKER_MODEL["dir"] = directory


def _analyze_chunk(jobs: Sequence[tuple[int, str, str]], vet: bool = False) -> list[NameResult]:
    analysed = [_analyze(job) for job in jobs]
    if vet:
        return vet_results(_worker_recognizer(), analysed)
    return [a.result for a in analysed]


def _init_segment_worker(model_dir: str | None = None) -> None:
    """One OpenCV thread per worker: names are tiny images, on which OpenCV's own
    threads only add overhead (and the workers already keep every core busy). The
    model that guides repairs is named here and loaded by the first name that needs it."""
    import cv2

    init_worker_process()
    cv2.setNumThreads(1)
    set_interpreter_threads(1)  # one core per worker: the model's threads would only contend
    _use_model(model_dir)


def segment_workspace(
    ws: Workspace,
    *,
    redo: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    chunk: int = 64,
    vet: bool | None = None,
) -> SegmentReport:
    """Segment and align every fetched name (with ``redo``: every name not decided by a person).

    ``vet`` (default ``DEFAULTS.vet_harvest``): the active model reads the crops of every
    name alignment would auto-accept, and a name with a crop it strongly disputes goes to
    the review queue instead (:mod:`hwocr.vet`)."""
    vet = DEFAULTS.vet_harvest if vet is None else bool(vet)
    statuses = REDOABLE if redo else ("fetched",)
    rows = ws.read(name_rows.to_segment, statuses)
    paths = ws.resolve_many([r["image_path"] for r in rows])
    jobs = [(r["id"], str(path), r["transcription"] or "") for r, path in zip(rows, paths)]
    total = len(jobs)
    counts = {"matched": 0, "repaired": 0, "needs_review": 0, "failed": 0}
    auto = guided = vetted = confirmed = 0
    start = time.monotonic()
    done = 0

    def store(results: list[NameResult]) -> None:
        nonlocal done, auto, guided, vetted, confirmed
        t = now()
        with ws.transaction() as conn:
            name_rows.set_segment_results(conn, [r.row() for r in results], t)
        for r in results:
            counts[r.status] += 1
            guided += r.guided
            vetted += r.vet is not None
            confirmed += r.vet_confirmed
            auto += r.auto_labelled
        done += len(results)
        if progress:
            progress(done, total)

    chunks = [jobs[i : i + chunk] for i in range(0, total, chunk)]
    n_workers = workers if workers is not None else default_workers()
    model_dir = _guiding_model_dir(ws) if (DEFAULTS.guided_repair or vet) and total else None
    if n_workers <= 1 or total < 4 * chunk:
        _use_model(model_dir)
        for c in chunks:
            if stop is not None and stop.is_set():
                break
            store(_analyze_chunk(c, vet))
    else:
        # Compile the segmentation kernels here, once, before the workers start (about
        # 30 s the first time after an install or an update), rather than in every
        # worker at once; once that is done (hwocr.kernel_cache), the workers load them
        # from the on-disk cache themselves and the parent skips the step.
        if not kernel_cache.is_ready("segment"):
            from hwocr.align import warm_up  # lazy: OpenCV

            warm_up()
            kernel_cache.mark_ready("segment")
        if vet and DEFAULTS.vet_screen and model_dir is not None and not kernel_cache.is_ready("screen"):
            warm_up_screen()
            kernel_cache.mark_ready("screen")
        with process_pool(n_workers, _init_segment_worker, (model_dir,)) as pool:
            # A few chunks ahead of the workers, not all 2,000 of a large CSV: a stop, a
            # Ctrl-C or a page's Cancel then ends within a chunk or two instead of waiting
            # for every submitted one (what is stored stays; the rest is "fetched" still).
            ahead = n_workers * 3
            pending: list = []
            todo = iter(chunks)
            try:
                while True:
                    while len(pending) < ahead and not (stop is not None and stop.is_set()):
                        c = next(todo, None)
                        if c is None:
                            break
                        pending.append(pool.submit(_analyze_chunk, c, vet))
                    if not pending or (stop is not None and stop.is_set()):
                        break
                    store(pending.pop(0).result())
            finally:
                for f in pending:
                    f.cancel()
    elapsed = time.monotonic() - start
    with ws.transaction() as conn:
        ws.log_event(conn, "segment", processed=done, redo=redo, elapsed_s=round(elapsed, 3), guided=guided,
                     vet=vet, vetted=vetted, vet_confirmed=confirmed, **counts)
    return SegmentReport(done, counts["matched"], counts["repaired"], counts["needs_review"], counts["failed"],
                         auto, elapsed, segmentation_totals(ws), vetted, confirmed)


def _guiding_model_dir(ws: Workspace) -> str | None:
    """The workspace's active model folder (None: no model to guide with)."""
    try:
        return str(active_model_dir(ws))
    except HwocrError:
        return None


def segmentation_totals(ws: Workspace) -> dict:
    threshold = DEFAULTS.harvest_min_confidence
    row = ws.read(name_rows.segmentation_totals, threshold)
    totals = {k: int(row[k] or 0) for k in
              ("matched", "repaired", "needs_review", "failed", "verified", "rejected", "auto_labelled", "vetted")}
    names = totals["matched"] + totals["repaired"] + totals["needs_review"] + totals["failed"]
    totals["names"] = names
    totals["auto_labelled_share"] = round(totals["auto_labelled"] / names, 4) if names else 0.0
    return totals
