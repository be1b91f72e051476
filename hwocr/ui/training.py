"""What the Train page shows, computed without Streamlit (and without TensorFlow).

The page polls these: what the class folders hold, the latest training job and its
epoch curves, the model versions as a table, and a version's comparison with the model
it was measured against on the same validation split.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hwocr import jobs
from hwocr.charsets import folder_name
from hwocr.config import ALL_CLASSES, CHARSETS, REPO_ROOT
from hwocr.contracts import ModelMetrics, TrainParams, TrainReport
from hwocr.dataset import demo_crops_left_out
from hwocr.jobs import JobRecord
from hwocr.store import jobs as store_jobs
from hwocr.train_job import check_losses
from hwocr.versions import ModelVersion
from hwocr.workspace import Workspace

#: A class with fewer crops than this is learnt poorly and validated on almost nothing.
TINY_CLASS = 5
#: How often the page re-reads a running job, in seconds.
POLL_S = 1.0
#: After a cancel request, how long the job gets to stop on its own before the page
#: offers to kill it.
STOP_NOW_AFTER_S = 10.0
#: Same list as hwocr.train.IMAGE_SUFFIXES (not imported: hwocr.train pulls in OpenCV
#: and the glyph code, which this page does not need).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
#: Same order as hwocr.train's: smallest first, so the first that holds the data wins.
CHARSET_ORDER = ("letters", "digits", "alnum", "lower", "cased", "all")
#: How the page names the classes of each charset after "3 of 26" (alnum and all need no word).
CHARSET_WORDS = {"letters": "letters", "digits": "digits", "lower": "small letters", "cased": "letters, both cases"}


@dataclass(frozen=True)
class FolderSummary:
    """The class folders as the training job will see them (files, not yet decoded)."""

    counts: dict[str, int]          # image files per class, A–Z, 0–9 then a–z, classes with none left out
    other_files: tuple[str, ...]    # a few files that are not images (workspace-relative), for the message
    other_count: int                # how many such files in all
    demo_left_out: int = 0          # the demo's crops, which the job leaves out beside real names

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def charset(self) -> str:
        """The smallest of ``letters``, ``digits``, ``alnum``, ``lower``, ``cased``,
        ``all`` that holds every class with crops: ``cased`` or ``all`` once small
        letters are there (the same rule as :func:`hwocr.train.dataset_charset`, which
        this page does not import: it pulls in OpenCV)."""
        present = set(self.counts)
        return next((name for name in CHARSET_ORDER if present <= set(CHARSETS[name])), "all")

    @property
    def charset_words(self) -> str:
        """What the charset's classes are, for "3 of 26 letters"; "" when the number says it."""
        return CHARSET_WORDS.get(self.charset, "")

    @property
    def charset_classes(self) -> tuple[str, ...]:
        """The classes a names (or digits) dataset can hold: what the page charts."""
        return CHARSETS[self.charset]

    @property
    def tiny_classes(self) -> list[str]:
        return [c for c, n in self.counts.items() if n < TINY_CLASS]

    @property
    def single_image_classes(self) -> list[str]:
        return [c for c, n in self.counts.items() if n == 1]

    def blocking_problem(self) -> str | None:
        """Why a training job would fail at once, or None."""
        if not self.counts:
            return ("The class folders are empty: import names and review them (or add crops from the Recognize "
                    "page) before training.")
        if len(self.counts) < 2:
            only = next(iter(self.counts))
            return (f"Only class {only} has crops ({self.counts[only]}); a classifier needs at least two classes. "
                    "Add crops of other letters first.")
        return None

    def warnings(self) -> list[str]:
        out = []
        single = self.single_image_classes
        tiny = [c for c in self.tiny_classes if c not in single]
        if single:
            out.append(f"{_classes(single)} {'has' if len(single) == 1 else 'have'} a single crop: trained on, but "
                       "never validated.")
        if tiny:
            out.append(f"{_classes(tiny)} {'has' if len(tiny) == 1 else 'have'} fewer than {TINY_CLASS} crops: the "
                       "model will learn little about " + ("it" if len(tiny) == 1 else "them") + ".")
        if self.demo_left_out:
            n = self.demo_left_out
            out.append(f"{n:,} demo crop{'' if n == 1 else 's'} {'is' if n == 1 else 'are'} left out: the workspace "
                       "holds real names too. Remove the demo data from the Home page to delete "
                       f"{'it' if n == 1 else 'them'}.")
        if self.other_count:
            examples = ", ".join(f"`{p}`" for p in self.other_files[:3])
            out.append(f"{self.other_count} file{'' if self.other_count == 1 else 's'} in the class folders "
                       f"{'is' if self.other_count == 1 else 'are'} not an image and will be skipped ({examples}"
                       f"{', …' if self.other_count > 3 else ''}).")
        return out


def _classes(labels: Sequence[str]) -> str:
    return ("Class " if len(labels) == 1 else "Classes ") + ", ".join(labels)


def scan_class_folders(ws: Workspace, *, examples: int = 10) -> FolderSummary:
    """Count the image files in ``dataset/A … 9`` and ``dataset/a_lower … z_lower``
    (what the job reads; a directory listing, no decoding: about 0.5 s for 460,000
    crops), less the demo's crops when the job will leave them out."""
    left_out = demo_crops_left_out(ws)
    counts: dict[str, int] = {}
    other: list[str] = []
    other_count = demo_count = 0
    for label in ALL_CLASSES:
        name = folder_name(label)  # a_lower for "a": see hwocr.charsets.folder_name
        n = 0
        try:
            with os.scandir(ws.dataset_dir / name) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue  # atomic writes' temp files, editors' droppings
                    if left_out and f"dataset/{name}/{entry.name}" in left_out:
                        demo_count += 1
                        continue
                    if entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                        n += 1
                    else:
                        other_count += 1
                        if len(other) < examples:
                            other.append(f"dataset/{name}/{entry.name}")
        except FileNotFoundError:
            continue
        except OSError:
            continue
        if n:
            counts[label] = n
    return FolderSummary(counts, tuple(other), other_count, demo_left_out=demo_count)


# --- jobs ----------------------------------------------------------------------------


def start_training(ws: Workspace, *, epochs: int, from_active: bool, activate_if_better: bool,
                   batch_size: int | None = None) -> JobRecord:
    """Start the background training job (JobError while one runs)."""
    params = TrainParams(epochs=int(epochs), from_active=bool(from_active), activate_if_better=bool(activate_if_better),
                         batch_size=int(batch_size) if batch_size else None)
    return jobs.start_job(ws, "train", params.to_json())


def latest_train_job(ws: Workspace) -> JobRecord | None:
    """The running training job, else the most recent one (dead processes marked failed first)."""
    recent = jobs.list_jobs(ws, kind="train", limit=20)
    running = [j for j in recent if not j.finished]
    if running:
        return running[0]
    return recent[0] if recent else None


def recent_train_jobs(ws: Workspace, limit: int = 10) -> list[JobRecord]:
    return jobs.list_jobs(ws, kind="train", limit=limit)


def epochs_total(job: JobRecord) -> int:
    return TrainParams.from_json(job.params).epochs


def cancel_requested_at(ws: Workspace, job_id: int) -> float | None:
    """When cancelling this job was first asked for (from the audit trail), or None."""
    return store_jobs.cancel_requested_at(ws, job_id)


def offer_stop_now(ws: Workspace, job: JobRecord, *, now: float | None = None) -> bool:
    """True once a cancel was asked for long enough ago that the job should have stopped."""
    if job.finished or not job.cancel_requested:
        return False
    asked = cancel_requested_at(ws, job.id)
    t = time.time() if now is None else now
    return asked is None or t - asked >= STOP_NOW_AFTER_S


def time_left_s(job: JobRecord, epochs: Sequence[dict], *, now: float | None = None) -> float | None:
    """Seconds until the job should finish: the last epoch's estimate minus the time
    since, or (before any epoch ended) the elapsed time scaled by the progress."""
    t = time.time() if now is None else now
    if job.finished:
        return 0.0
    if epochs:
        last = epochs[-1]
        if last.get("eta_s") is not None:
            return max(0.0, float(last["eta_s"]) - (t - float(last["ts"])))
    if job.started_at and job.progress >= 0.12:
        elapsed = t - job.started_at
        return elapsed * (1 - job.progress) / job.progress
    return None


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def curves(epochs: Sequence[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format frames (epoch, split, value) of the loss and the accuracy, train and validation."""
    loss, acc = [], []
    for e in epochs:
        for key, split, out in (("loss", "train", loss), ("val_loss", "validation", loss),
                                ("accuracy", "train", acc), ("val_accuracy", "validation", acc)):
            if e.get(key) is not None:
                out.append({"epoch": int(e["epoch"]), "split": split, "value": float(e[key])})
    columns = ["epoch", "split", "value"]
    return pd.DataFrame(loss, columns=columns), pd.DataFrame(acc, columns=columns)


def job_outcome(job: JobRecord, active: str | None = None) -> tuple[str, str]:
    """(kind, text) for st.success / st.info / st.warning / st.error: how a finished job
    ended. ``active``: the name of the active version now (a version made by this job may
    have been activated since)."""
    if job.status == "succeeded":
        r = TrainReport.from_json(job.result)
        within = f"; answers scored among {r.charset} only" if r.charset in ("letters", "digits") else ""
        text = (f"Job {job.id} trained **{r.version}**: validation accuracy {pct(r.val_accuracy)} "
                f"against {pct(r.active_val_accuracy)} for {r.active_version} on the same split "
                f"({result_counts(r).text()}{within}{_demo_left_out(r.demo_left_out)}).")
        names = r.names_check
        if names is not None and names.new is not None and names.active is not None:
            text += (f" Your validation names read whole ({names.names}): {pct(names.new.char_accuracy)} of "
                     f"characters against {pct(names.active.char_accuracy)}.")
        if r.warnings:
            text += (" Outside what this workspace holds it reads worse: " + "; ".join(r.warnings)
                     + " (a warning only: your crops hold none of these classes).")
        if r.activated:
            return "success", text + f" It beat {r.active_version} and was activated."
        if r.not_activated_because:
            return "warning", (text + f" It beat {r.active_version} on your crops but was not activated: "
                               "it reads worse (" + "; ".join(r.not_activated_because) + ").")
        if active is not None and active == r.version:
            return "success", text + " It is the active model."
        return "success", text + " It is not active: activate it under Model versions below if you want it."
    if job.status == "cancelled":
        return "warning", f"Job {job.id} was cancelled: {job.error or 'cancelled'}."
    return "error", f"Job {job.id} failed: {job.error or 'no reason recorded'}"


def _demo_left_out(n: int) -> str:
    return f"; {n:,} demo crop{'' if n == 1 else 's'} left out" if n else ""


@dataclass(frozen=True)
class TrainingCounts:
    """What a training saw, one way for a job's result and a version's metrics (which
    once disagreed: one counted the rehearsal glyphs as crops, the other did not)."""

    crops: int | None  # from the class folders; None when not known (the shipped model's data)
    rehearsal: int     # the model's own classes mixed in so that fine-tuning does not forget them
    samples: int | None
    val: int | None

    def text(self) -> str:
        """``5,390 crops from the folders + 5,390 rehearsal glyphs = 10,780 training samples; 955 validation``."""
        if self.crops is None:
            trained = f"{self.samples:,} training samples" if self.samples is not None else "training samples unknown"
        elif self.rehearsal:
            trained = (f"{self.crops:,} crops from the folders + {self.rehearsal:,} rehearsal glyphs = "
                       f"{self.samples:,} training samples")
        else:
            trained = f"{self.crops:,} training samples, all crops from the folders"
        return trained + (f"; {self.val:,} validation" if self.val is not None else "")


def result_counts(result: TrainReport) -> TrainingCounts:
    """From a train job's report: its ``train_count`` is the folder crops alone."""
    crops, rehearsal = result.train_count, result.rehearsal_count
    return TrainingCounts(crops, rehearsal, crops + rehearsal, result.val_count)


def version_counts(metrics: ModelMetrics, *, shipped: bool = False) -> TrainingCounts:
    """From a version's metrics: its ``train_count`` is every sample the network saw,
    rehearsal glyphs included (recorded under data.rehearsal)."""
    samples, val = metrics.train_count, metrics.val_count
    if shipped or samples is None:
        return TrainingCounts(None, 0, samples, val)
    return TrainingCounts(samples - metrics.rehearsal_count, metrics.rehearsal_count, samples, val)


def pct(value) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def jobs_table(jobs_: Sequence[JobRecord]) -> pd.DataFrame:
    rows = []
    for j in jobs_:
        p = TrainParams.from_json(j.params)
        end = j.finished_at or time.time()
        r = TrainReport.from_json(j.result)
        rows.append({
            "job": j.id,
            "status": j.status,
            "started": _when(j.started_at or j.created_at),
            "took": duration_text(end - j.started_at) if j.started_at else "",
            "epochs": p.epochs,
            "fine-tune": "yes" if p.from_active else "no",
            "outcome": (f"{r.version} ({pct(r.val_accuracy)})" if j.status == "succeeded"
                        else (j.error or j.message or "")),
        })
    return pd.DataFrame(rows, columns=["job", "status", "started", "took", "epochs", "fine-tune", "outcome"])


# --- versions ------------------------------------------------------------------------


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def version_label(v: ModelVersion) -> str:
    tag = " (shipped)" if v.shipped else ""
    return f"{v.name}{tag} · {pct(v.val_accuracy)}" + (" · active" if v.active else "")


def versions_table(versions: Sequence[ModelVersion]) -> pd.DataFrame:
    """One row per version, in the order given (newest first, the shipped base last)."""
    rows = []
    for v in versions:
        m = v.report
        compared = m.compared_with
        rows.append({
            "active": "●" if v.active else "",
            "version": v.name,
            "created": _when(v.created_at) if v.created_at else str(m.extra.get("date", "")),
            "val accuracy": v.val_accuracy,
            "compared with": (f"{compared.version} {pct(compared.accuracy)}"
                              if compared is not None and compared.version else ""),
            "trained from": m.trained_from or ("—" if v.shipped else "scratch"),
            "epochs": m.epochs,
            "note": v.note or "",
        })
    columns = ["active", "version", "created", "val accuracy", "compared with", "trained from", "epochs", "note"]
    return pd.DataFrame(rows, columns=columns)


def charset_note(metrics: ModelMetrics) -> str | None:
    """Why a version's scores ignore some of its classes, or None when nothing was left out."""
    charset = metrics.charset
    if charset == "letters":
        return ("The class folders hold only letters, so both models were scored among A–Z only: answering 1 for "
                "an I or 0 for an O is not held against either.")
    if charset == "digits":
        return "The class folders hold only digits, so both models were scored among 0–9 only."
    if charset == "lower":
        return "The class folders hold only small letters, so both models were scored among a–z only."
    if charset == "cased":
        return ("The class folders hold only letters, capital and small, so both models were scored among "
                "A–Z and a–z only: answering 1 for an l or 0 for an o is not held against either.")
    return None


def comparison(v: ModelVersion) -> pd.DataFrame:
    """Per-class validation accuracy of ``v`` and of the model it was compared with on
    the same split: columns class, model, accuracy (long format, for a grouped bar chart)."""
    m = v.report
    mine = m.per_class_accuracy
    theirs = m.compared_with.per_class_accuracy if m.compared_with is not None else {}
    other = m.compared_with.version if m.compared_with is not None else None
    rows = []
    for label in [c for c in ALL_CLASSES if c in mine or c in theirs] + sorted(set(mine) - set(ALL_CLASSES)):
        if mine.get(label) is not None:
            rows.append({"class": label, "model": v.name, "accuracy": float(mine[label])})
        if other and theirs.get(label) is not None:
            rows.append({"class": label, "model": f"{other} (compared)", "accuracy": float(theirs[label])})
    return pd.DataFrame(rows, columns=["class", "model", "accuracy"])


def comparison_table(v: ModelVersion) -> pd.DataFrame:
    """Wide form of :func:`comparison`: class, crops, this version, the compared one and
    the difference; only classes that were validated, and only the columns there is data for."""
    m = v.report
    mine = m.per_class_accuracy
    theirs = m.compared_with.per_class_accuracy if m.compared_with is not None else {}
    other = m.compared_with.version if m.compared_with is not None else None
    counts = m.class_counts
    rows = []
    for label in ALL_CLASSES:
        a, b = mine.get(label), theirs.get(label) if other else None
        if a is None and b is None:
            continue
        row = {"class": label, "crops": counts.get(label), v.name: a}
        if other:
            row[other] = b
            row["difference"] = (a - b) if a is not None and b is not None else None
        rows.append(row)
    columns = ["class", *(["crops"] if counts else []), v.name, *([other, "difference"] if other else [])]
    return pd.DataFrame(rows, columns=columns)


def base_check_table(v: ModelVersion) -> pd.DataFrame | None:
    """What ``v`` and the model it was compared with read outside the workspace (the
    job's ``base_check``: the base model's held-out writers and digits), or None when
    the job had no shared data to check with."""
    m = v.report
    if not m.base_check:
        return None
    other = (m.compared_with.version if m.compared_with is not None else None) or "active"
    out = []
    for r in m.base_check:
        out.append({"set": r.set, "glyphs": r.count, v.name: r.new, other: r.active,
                    "difference": (r.new - r.active) if r.new is not None and r.active is not None else None})
    return pd.DataFrame(out, columns=["set", "glyphs", v.name, other, "difference"])


def base_check_losses(v: ModelVersion) -> list[str]:
    """The checks outside the workspace where ``v`` reads clearly worse than the model it
    was compared with, in words."""
    return check_losses(v.report.base_check)


def gpu_devices(*, timeout_s: float = 180.0) -> str:
    """What TensorFlow sees, asked in a separate Python process (the page itself never
    imports TensorFlow): "GPU: …" or "no GPU: training runs on the CPU"."""
    import subprocess
    import sys

    code = ("import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); import tensorflow as tf; "
            "print('|'.join(d.name for d in tf.config.list_physical_devices('GPU')))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=str(REPO_ROOT), capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"TensorFlow could not be asked ({type(exc).__name__})"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"TensorFlow could not be loaded ({last[:160]})"
    names = [n for n in proc.stdout.strip().split("|") if n]
    return f"GPU: {', '.join(names)}" if names else "no GPU: training runs on the CPU"
