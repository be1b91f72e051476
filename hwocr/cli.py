"""``python -m hwocr …``: the command line.

``--json`` prints one JSON document on stdout; progress bars and messages go to stderr.
Bad input gives one line naming the input and the reason and a non-zero exit, never a
traceback. An unexpected error (a bug) also gives one line, and its traceback goes to
``<workspace>/logs/errors.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hwocr import __version__
from hwocr.charsets import check_charset
from hwocr.config import CHARSETS, DEFAULTS, REPO_ROOT, default_workspace
from hwocr.contracts import NamesCheck, TrainParams, TrainReport
from hwocr.errors import HwocrError, ImageError, InputError, ModelError
from hwocr.progress import StatusLine, StderrProgress
from hwocr.status import exposure_warning, workspace_status
from hwocr.store.queries import has_names
from hwocr.workspace import Workspace

EXIT_OK = 0
EXIT_PARTIAL = 3      # the command ran but some items failed (reported)
EXIT_INTERRUPTED = 130
EXIT_BUG = 70


# --- output helpers -------------------------------------------------------------------


#: C0 and C1 control characters but tab: a unit_id or a header cell from someone's CSV
#: must not move the cursor, recolour or retitle the terminal it is printed in.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def terminal_safe(text: object) -> str:
    """``text`` with control characters (escape sequences, newlines) shown as '?'."""
    return _CONTROL.sub("?", str(text))


def _eprint(*args) -> None:
    print(*(terminal_safe(a) for a in args), file=sys.stderr, flush=True)


@contextmanager
def progress_bar(desc: str, *, unit: str = "names", enabled: bool = True) -> Iterator:
    """Progress on stderr (done of total, rate, time left), driven by ``callback(done,
    total)``: redrawn in place on a terminal, a plain line every few seconds elsewhere."""
    if not enabled:
        yield None
        return

    reporter = StderrProgress(desc, unit)
    try:
        yield reporter
    finally:
        reporter.close()


def _emit(args, payload: dict, human: Sequence[str]) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        for line in human:
            print(terminal_safe(line))


def _workspace(args):
    return Workspace(args.workspace)


# --- commands ----------------------------------------------------------------------


def cmd_import(args) -> int:
    from hwocr.pipeline import import_csv  # lazy: process pools, not for every command

    top = DEFAULTS.download_concurrency_max
    if args.connections is not None and not 1 <= args.connections <= top:
        raise InputError(f"--connections must be between 1 and {top}, not {args.connections}")
    ws = _workspace(args)
    csv_path = Path(args.csv)
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: no such file")
    _note_demo(ws)
    with progress_bar("fetching images", enabled=not args.quiet) as cb:
        report = import_csv(ws, csv_path, images_root=Path(args.images_root) if args.images_root else None,
                            fetch=not args.no_fetch, progress=cb, link_images=not args.copy_images,
                            connections=args.connections)
    payload = report.to_json()
    fr = report.fetch
    lines = [
        f"{report.csv_name}: {report.rows:,} rows ({report.layout} layout, {report.encoding})",
        f"  {report.added:,} new names, {report.already_present:,} already in the workspace, "
        f"{report.skipped:,} skipped (no usable transcription), {report.duplicates:,} duplicate unit_id(s) kept once",
    ]
    if fr is not None:
        lines.append(f"  images: {fr.fetched:,} fetched, {fr.failed:,} failed, in {fr.elapsed_s:.1f} s")
        for unit_id, reason in fr.failures[:10]:
            lines.append(f"    {unit_id}: {reason}")
        if fr.failed > 10:
            lines.append(f"    … {fr.failed - 10:,} more: `python -m hwocr status --failures`")
    if args.segment:
        seg = _run_segment(ws, args, redo=False)
        payload["segment"] = seg.to_json()
        lines += _segment_lines(seg)
    _emit(args, payload, lines)
    return EXIT_PARTIAL if fr is not None and fr.failed else EXIT_OK


def _note_demo(ws) -> None:
    """A real import into a workspace that holds the demo names says so."""
    from hwocr.dataset import demo_data  # lazy: zipfile, csv, not for every command

    demo = demo_data(ws)
    if demo.present:
        _eprint(f"hwocr: note: this workspace holds the {demo.names} demo names; their crops are left out of exports "
                "and training once real names are here, and `python -m hwocr demo --remove` deletes them")


def _run_segment(ws, args, *, redo: bool):
    from hwocr.pipeline import segment_workspace  # lazy: process pools, not for every command

    with progress_bar("segmenting", enabled=not args.quiet) as cb:
        return segment_workspace(ws, redo=redo, workers=getattr(args, "workers", None), progress=cb,
                                 vet=False if getattr(args, "no_vet", False) else None)


def _segment_lines(report) -> list[str]:
    t = report.to_json()
    share = t["auto_labelled_share"] * 100
    return [
        f"segmented {report.processed:,} name(s) in {report.elapsed_s:.1f} s ({report.per_second:,.0f}/s)",
        f"  workspace: {t['names']:,} names — {t['matched']:,} matched, {t['repaired']:,} repaired, "
        f"{t['needs_review']:,} need review, {t['failed']:,} failed; {share:.1f}% auto-labelled",
        *([f"  model vetting sent {report.vetted} name(s) to review this run"
           + (f" and filed {report.confirmed} unsure repair(s) it does not dispute" if report.confirmed else "")]
          if report.vetted or report.confirmed else []),
    ]


def cmd_segment(args) -> int:
    ws = _workspace(args)
    report = _run_segment(ws, args, redo=args.redo)
    _emit(args, report.to_json(), _segment_lines(report))
    return EXIT_OK


def cmd_harvest(args) -> int:
    from hwocr.dataset import harvest  # lazy: zipfile, csv, not for every command

    ws = _workspace(args)
    with progress_bar("harvesting", unit="names", enabled=not args.quiet) as cb:
        report = harvest(ws, min_confidence=args.min_confidence, progress=cb, workers=args.workers)
    counts = ws.class_counts()
    payload = {**report.to_json(), "classes": counts, "crops": sum(counts.values())}
    lines = [
        f"{report.names:,} names in the class folders: {report.written:,} crops written, "
        f"{report.unchanged:,} names unchanged, {report.removed:,} crops removed",
        f"  {sum(counts.values()):,} crops in {ws.dataset_dir}",
    ]
    rec = report.reconciled
    if rec.stray_files_removed or rec.temp_files_removed or rec.rows_restored or rec.rows_dropped:
        lines.append(
            f"  repaired after an interruption: {rec.stray_files_removed} stray files removed, "
            f"{rec.rows_restored} crops rewritten, {rec.rows_dropped} rows dropped"
        )
    for err in report.errors[:10]:
        lines.append(f"  {err}")
    _emit(args, payload, lines)
    return EXIT_PARTIAL if report.errors else EXIT_OK


def cmd_export(args) -> int:
    from hwocr.dataset import demo_left_out_note, export_dataset  # lazy: zipfile, csv, not for every command

    ws = _workspace(args)
    with progress_bar("exporting", unit="crops", enabled=not args.quiet) as cb:
        info = export_dataset(ws, args.format, Path(args.out), progress=cb)
    lines = [f"wrote {info['crops']} crops to {info['path']} ({args.format}, {info['bytes']:,} bytes)"]
    if info["demo_left_out"]:
        lines.append(f"  {demo_left_out_note(info['demo_left_out'])}")
    _emit(args, info, lines)
    return EXIT_OK


def cmd_status(args) -> int:
    ws = _workspace(args)
    status = workspace_status(ws)
    payload = status.to_json()
    if args.failures:
        payload["failures"] = [
            {"unit_id": r.unit_id, "status": r.status, "reason": r.reason, "source": r.source}
            for r in ws.failures(limit=args.limit)
        ]
    c = status.by_status
    lines = [
        f"workspace {status.workspace}",
        (f"  {status.names} names: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in c.items() if v)
         if status.names else "  no names yet: `python -m hwocr import CSV` or `python -m hwocr demo`"),
        f"  {status.crops} crops: " + " ".join(f"{k}:{v}" for k, v in status.classes.items() if v),
        f"  active model: {status.active_model['name']}",
    ]
    if status.demo["names"]:
        lines.append(f"  {status.demo['names']} of the names are the demo data "
                     "(`python -m hwocr demo --remove` deletes them)")
    for j in status.running_jobs:
        lines.append(f"  job {j['id']} ({j['kind']}): {j['status']} {j['progress'] * 100:.0f}% {j['message'] or ''}")
    for f in payload.get("failures", []):
        lines.append(f"  {f['unit_id']}: {f['status']}: {f['reason']}")
    _emit(args, payload, lines)
    return EXIT_OK


def cmd_check(args) -> int:
    from hwocr.dataset import reconcile  # lazy: zipfile, csv, not for every command

    ws = _workspace(args)
    integrity = ws.integrity_check()
    rec = reconcile(ws)
    payload = {"integrity": integrity, "reconcile": rec.to_json()}
    _emit(args, payload, [f"database: {integrity}", f"class folders: {json.dumps(rec.to_json())}"])
    return EXIT_OK if integrity == "ok" else 1


def cmd_demo(args) -> int:
    # Lazy: OpenCV, process pools, zipfile: not for every command.
    from hwocr.dataset import DEMO_CSV_NAME, DEMO_FOLDER, harvest, remove_demo
    from hwocr.demo import generate_demo
    from hwocr.pipeline import import_csv

    ws = _workspace(args)
    if args.remove:
        removed = remove_demo(ws, actor="cli")
        _emit(args, {"removed": removed.to_json()}, [removed.summary()])
        return EXIT_OK
    if args.if_empty and has_names(ws):
        _emit(args, {"skipped": True, "reason": "the workspace already has names"},
              ["the workspace already has names; demo data not loaded"])
        return EXIT_OK
    csv_path, names = generate_demo(ws.root / DEMO_FOLDER, count=args.count, seed=args.seed)
    with progress_bar("demo images", enabled=not args.quiet) as cb:
        report = import_csv(ws, csv_path, csv_name=DEMO_CSV_NAME, images_root=csv_path.parent, progress=cb)
    seg = _run_segment(ws, args, redo=False)
    harvested = harvest(ws)
    payload = {"generated": len(names), "import": report.to_json(), "segment": seg.to_json(),
               "harvest": harvested.to_json()}
    lines = [f"generated {len(names)} demo names in {csv_path.parent}", *_segment_lines(seg),
             f"  {harvested.written} crops harvested into {ws.dataset_dir}",
             "  `python -m hwocr demo --remove` deletes the demo data again"]
    _emit(args, payload, lines)
    return EXIT_OK


def cmd_train(args) -> int:
    from hwocr.dataset import demo_left_out_note  # lazy: zipfile, csv, not for every command
    from hwocr.jobs import request_cancel, start_job, wait_for  # lazy: subprocess, not for every command

    ws = _workspace(args)
    params = TrainParams(epochs=DEFAULTS.train_epochs if args.epochs is None else args.epochs,
                         from_active=args.from_active, activate_if_better=args.activate_if_better,
                         rehearsal=not args.no_rehearsal)
    job = start_job(ws, "train", params.to_json())
    _eprint(f"training job {job.id} started (log: {ws.jobs_dir / f'job-{job.id:05d}.log'})")

    bar = None if args.quiet else StatusLine()
    try:
        def update(j) -> None:
            if bar is not None:
                bar.show(f"training: {j.progress * 100:.0f}% · {j.message or j.status}", force=j.finished)

        job = wait_for(ws, job.id, timeout_s=24 * 3600, on_update=update)
    except KeyboardInterrupt:
        request_cancel(ws, job.id)
        _eprint("hwocr: cancelling the training job; the active model is unchanged")
        wait_for(ws, job.id, timeout_s=120)
        return EXIT_INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
    if job.status != "succeeded":
        raise HwocrError(f"training job {job.id} {job.status}: {job.error}")
    report = TrainReport.from_json(job.result)
    lines = [
        f"new model version {report.version}: validation accuracy {_pct(report.val_accuracy)} "
        f"(active {report.active_version}: {_pct(report.active_val_accuracy)} on the same split)",
        ("  activated" if report.activated
         else f"  not activated: `python -m hwocr models --activate {report.version}`"),
    ]
    if report.demo_left_out:
        lines.append(f"  {demo_left_out_note(report.demo_left_out)}")
    if report.names_check is not None:
        lines.append(f"  {names_check_line(report.names_check)}")
    if report.not_activated_because:
        lines.append("  (it beat the active model on these crops, but reads worse: "
                     + "; ".join(report.not_activated_because) + ")")
    if report.warnings:
        lines.append("  warning, outside what this workspace holds it reads worse: " + "; ".join(report.warnings))
    _emit(args, {"job_id": job.id, **report.to_json()}, lines)
    return EXIT_OK


def names_check_line(check: NamesCheck) -> str:
    """One line on what both versions read of the validation names."""
    parts = [f"{side} {_pct(score.char_accuracy)} characters, {_pct(score.exact_names)} exact"
             for side, score in (("new", check.new), ("active", check.active)) if score is not None]
    return f"validation names read whole ({check.names}): " + "; ".join(parts)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def cmd_models(args) -> int:
    from hwocr.versions import activate, list_versions  # lazy: zipfile, not for every command

    ws = _workspace(args)
    if args.activate:
        activate(ws, args.activate, actor="cli")
    versions = list_versions(ws)
    payload = [
        {"name": v.name, "active": v.active, "val_accuracy": v.val_accuracy, "path": str(v.path),
         "created_at": v.created_at, "note": v.note}
        for v in versions
    ]
    lines = [
        f"{'*' if v.active else ' '} {v.name:8} val {_pct(v.val_accuracy):>6}  {v.note or ''}" for v in versions
    ]
    _emit(args, {"versions": payload}, lines)
    return EXIT_OK


def _check_charset(args) -> None:
    """An unknown ``--charset`` is one line naming the valid ones (exit 2), before any
    model is loaded."""
    check_charset(args.charset)


def _load_recognizer(args):
    """The model ``--model`` names (or the active one), checked against ``--charset``:
    a model that cannot answer in it (a 36-class model asked for ``lower``) is one line
    naming the model, before any image is read."""
    from hwocr.recognize import Recognizer  # lazy: OpenCV and the model code

    _check_charset(args)
    rec = Recognizer.load(args.model) if args.model else Recognizer.load()
    try:
        rec.charset_mask(args.charset)
    except ModelError as exc:
        where = f"{rec.path}: " if rec.path is not None else ""
        raise ModelError(f"{where}{exc}") from None
    return rec


def _image_failure(path: str, exc: HwocrError) -> dict:
    """``{path, error}`` for an image that cannot be used, and its line on stderr; the
    reason without the image's own name when the error already starts with it."""
    reason = str(exc)
    for prefix in (f"{path}: ", f"{Path(path)}: ", f"{Path(path).name}: "):
        if reason.startswith(prefix) and len(reason) > len(prefix):
            reason = reason[len(prefix):]
            break
    _eprint(f"hwocr: {path}: {reason}")
    return {"path": path, "error": reason}


def _batch_exit(failed: int, total: int) -> int:
    """0 when every image was used, 3 when some failed (each reported), and the
    input-error exit when none could be read."""
    if failed and failed == total:
        return InputError.exit_code
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_classify(args) -> int:
    """Each image is one character. An image that cannot be read gets its own
    ``{path, error}`` entry (and a line on stderr); the rest are classified in one batch."""
    import numpy as np

    from hwocr.glyph import prepare_glyph  # lazy: OpenCV

    rec = _load_recognizer(args)
    entries: list[dict | None] = []
    glyphs, positions = [], []
    for path in args.images:
        try:
            glyph = prepare_glyph(path)
        except HwocrError as exc:
            entries.append(_image_failure(path, exc))
            continue
        positions.append(len(entries))
        entries.append(None)
        glyphs.append(glyph)
    if glyphs:
        preds = rec.classify_glyphs(np.stack(glyphs)[..., None], charset=args.charset)
        for index, pred in zip(positions, preds):
            entries[index] = {"path": args.images[index], "label": pred.label,
                              "confidence": round(pred.confidence, 4),
                              "top": [[label, round(p, 4)] for label, p in pred.top]}
    lines = []
    for entry in entries:
        if "error" in entry:
            continue
        runners = ", ".join(f"{label} {p:.2f}" for label, p in entry["top"][1:3])
        lines.append(f"{entry['path']}: {entry['label']} ({entry['confidence']:.2f}; then {runners})")
    failed = len(entries) - len(glyphs)
    _emit(args, entries, lines)
    return _batch_exit(failed, len(entries))


def cmd_read(args) -> int:
    """Each image is a word, a line or several lines; one reading per image. An image
    that cannot be read gets its own ``{path, error}`` entry and the others are read."""
    from hwocr.read import Lexicon  # lazy: OpenCV

    _check_charset(args)
    lexicon = Lexicon.from_file(args.lexicon) if args.lexicon else None
    rec = _load_recognizer(args)
    lm = _names_lm(args)
    out, lines, failed = [], [], 0
    for path in args.images:
        try:
            reading = rec.read(path, charset=args.charset, lexicon=lexicon, clean=args.clean, lm=lm)
        except HwocrError as exc:
            failed += 1
            out.append(_image_failure(path, exc))
            continue
        if reading.reason is not None:  # no handwriting: nothing read, and why
            failed += 1
            out.append(_image_failure(path, ImageError(reading.reason)))
            continue
        out.append({"path": path, **reading.to_json()})
        lines.extend(_reading_lines(path, reading))
    _emit(args, out, lines)
    return _batch_exit(failed, len(args.images))


def _names_lm(args):
    """The names model for ``read``: off with ``--no-lm``; else the shipped one plus the
    transcriptions of the workspace, when there is one (none is created for this)."""
    if getattr(args, "no_lm", False):
        return False
    from hwocr import namelm  # lazy: gzip, not for every command

    try:
        ws = Workspace(args.workspace, create=False)
    except HwocrError:
        return True
    try:
        return namelm.for_workspace(ws)
    finally:
        ws.close()


def _reading_lines(path: str, reading) -> list[str]:
    """``path: TEXT`` (and what the classifier read when a lexicon entry replaced it),
    then each character with its confidence and runner-up."""
    text = reading.text.replace("\n", " / ") or "(nothing read)"
    head = f"{path}: {text}"
    if reading.text != reading.raw_text:
        head += f"  (read {reading.raw_text.replace(chr(10), ' / ')}; snapped to the lexicon)"
    if reading.cleaned:
        head += f"  [cleaned: {reading.clean_reason}]"
    chars = "  ".join(
        f"{c.label} {c.confidence:.2f}"
        + (f" ({c.top[1][0]} {c.top[1][1]:.2f})" if len(c.top) > 1 and c.confidence < 0.9 else "")
        for c in reading.chars
    )
    return [head, f"  {chars}"] if chars else [head]


def cmd_app(args) -> int:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    env = dict(os.environ)
    if args.workspace:
        env["HWOCR_WORKSPACE"] = str(Path(args.workspace).resolve())
    warning = exposure_warning(args.host)
    if warning:
        _eprint(f"hwocr: warning: {warning}")
    _eprint(f"hwocr app on http://{args.host}:{args.port}")
    os.execvpe(cmd[0], cmd, env)
    return EXIT_OK  # not reached


# --- parser --------------------------------------------------------------------------


#: ``--charset``: no argparse ``choices``, so an unknown name is one line (exit 2) from
#: :func:`hwocr.charsets.check_charset` rather than a usage block.
_CHARSET_NOTES = {"letters": "A-Z, the default", "digits": "0-9", "alnum": "A-Z 0-9", "lower": "a-z",
                  "cased": "A-Z a-z", "all": "A-Z a-z 0-9"}
_CHARSET_HELP = ("what an answer may be: "
                 + ", ".join(f"{name} ({_CHARSET_NOTES.get(name, ''.join(CHARSETS[name]))})" for name in CHARSETS)
                 + "; lower, cased and all need a model with small letters (the shipped one has them)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", "-w",
                        help=f"workspace folder (default: $HWOCR_WORKSPACE or {default_workspace()})")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    p = argparse.ArgumentParser(prog="python -m hwocr",
                                description="Handwritten names to an A-Z character dataset and a recognizer.")
    p.add_argument("--version", action="version", version=f"hwocr {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("import", parents=[common], help="import a CSV of name images and fetch the images")
    s.add_argument("csv", help="CSV in the original (unit_id,image_url,transcription,first_or_last) "
                               "or Kaggle (FILENAME,IDENTITY) layout")
    s.add_argument("--images-root",
                   help="folder or .zip that relative image paths are read from (default: the CSV's folder)")
    s.add_argument("--no-fetch", action="store_true", help="only record the rows; fetch later")
    s.add_argument("--copy-images", action="store_true",
                   help="copy images from a local folder into the workspace; by default each is hard-linked "
                        "where the file system allows (no second copy on disk)")
    s.add_argument("--connections", type=int, default=None, metavar="N",
                   help=f"downloads in flight at once for image URLs (default {DEFAULTS.download_concurrency}; "
                        "more is faster when the server answers slowly and allows it)")
    s.add_argument("--segment", action="store_true", help="segment the names right after fetching")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("segment", parents=[common], help="segment and align every fetched name")
    s.add_argument("--redo", action="store_true",
                   help="also redo names segmented before (never those a person decided)")
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    s.add_argument("--no-vet", action="store_true",
                   help="keep every name alignment accepts; by default the active model reads each crop and "
                        "a name with a crop it strongly disputes goes to review")
    s.set_defaults(func=cmd_segment)

    s = sub.add_parser("harvest", parents=[common], help="write accepted crops into the class folders")
    s.add_argument("--min-confidence", type=float, default=None,
                   help=f"repaired names need at least this confidence (default {DEFAULTS.harvest_min_confidence})")
    s.add_argument("--workers", type=int, default=None,
                   help="processes that cut and write crops (default: one per core for 3,000 names or more)")
    s.set_defaults(func=cmd_harvest)

    s = sub.add_parser("export", parents=[common], help="export the class folders")
    s.add_argument("--format", required=True, choices=["zip", "csv", "npz"])
    s.add_argument("out", help="output file")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("status", parents=[common], help="what is in the workspace")
    s.add_argument("--failures", action="store_true", help="list failed and skipped names with their reasons")
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("check", parents=[common], help="check the database and repair the class folders after a crash")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("demo", parents=[common], help="generate, import, segment and harvest synthetic demo names")
    s.add_argument("--count", type=int, default=40)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--if-empty", action="store_true", help="do nothing when the workspace already has names")
    s.add_argument("--remove", action="store_true",
                   help="delete the demo names, their crops and images, and the demo's import (real data stays)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("train", parents=[common], help="train a new model version from the class folders")
    s.add_argument("--epochs", type=int, default=DEFAULTS.train_epochs)
    s.add_argument("--from-active", action="store_true",
                   help="fine-tune the active model instead of starting from scratch")
    s.add_argument("--activate-if-better", action="store_true",
                   help="make the new version active when it beats the active one on the same validation split")
    s.add_argument("--no-rehearsal", action="store_true",
                   help="fine-tune on the class folders alone, without rehearsal glyphs of the model's classes")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("models", parents=[common],
                       help="list model versions; activate one (rollback = activate an older one)")
    s.add_argument("--activate", metavar="NAME",
                   help="version to make active (e.g. v0002, or base for the shipped model)")
    s.set_defaults(func=cmd_models)

    s = sub.add_parser("classify", parents=[common], help="classify images, each ONE character")
    s.add_argument("images", nargs="+", metavar="IMAGE")
    s.add_argument("--charset", default="letters", metavar="NAME", help=_CHARSET_HELP)
    s.add_argument("--model", help="a model folder (default: the workspace's active model)")
    s.set_defaults(func=cmd_classify)

    s = sub.add_parser("read", parents=[common], help="read images of words or lines (one or several lines each)")
    s.add_argument("images", nargs="+", metavar="IMAGE")
    s.add_argument("--charset", default="letters", metavar="NAME", help=_CHARSET_HELP)
    s.add_argument("--lexicon", metavar="FILE", help="one entry per line: a line is snapped to the closest entry "
                   "when that explains the image nearly as well (both readings are kept)")
    cleaning = s.add_mutually_exclusive_group()
    cleaning.add_argument("--clean", dest="clean", action="store_true", default=None,
                          help="the images are names cut from forms: remove the printed label (NOM/PRENOM), form "
                          "lines and neighbouring rows first, as import does (default: decide from each image)")
    cleaning.add_argument("--no-clean", dest="clean", action="store_false",
                          help="read the ink as it is, even where an image looks like a name cut from a form")
    s.add_argument("--no-lm", action="store_true", help="do not weigh in the names language model (by default, "
                   "under --charset letters, a model of names and the workspace's transcriptions settles letters "
                   "the classifier hesitates on)")
    s.add_argument("--model", help="a model folder (default: the workspace's active model)")
    s.set_defaults(func=cmd_read)

    s = sub.add_parser("app", parents=[common], help="start the web app")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    s.add_argument("--port", type=int, default=8501)
    s.set_defaults(func=cmd_app)
    return p


def _log_bug(args) -> Path | None:
    try:
        root = Path(getattr(args, "workspace", None) or default_workspace())
        log = root / "logs" / "errors.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} hwocr {__version__} {sys.argv[1:]}\n")
            fh.write(traceback.format_exc())
        return log
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except HwocrError as exc:
        _eprint(f"hwocr: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _eprint("hwocr: interrupted; what was done is saved — run the same command again to resume")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug: one line here, the traceback in the log
        log = _log_bug(args)
        where = f" (details in {log})" if log else ""
        _eprint(f"hwocr: internal error: {type(exc).__name__}: {exc}{where}")
        return EXIT_BUG
