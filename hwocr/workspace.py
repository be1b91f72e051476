"""The workspace: durable truth on disk.

A folder holding a SQLite database (WAL mode) and the files it points at::

    <workspace>/
      hwocr.sqlite3      names, boxes, statuses, failures, crops, jobs, model versions, events
      images/            fetched name images, one file per name
      dataset/A/ … Z/    the class folders of character crops (and 0/ … 9/ for digits,
                         a_lower/ … z_lower/ for small letters: see class_dir)
      models/            trained model versions
      jobs/              logs of background jobs
      exports/           what `export` wrote

Every file is written to a temporary name in its final folder and renamed into place,
so a crash never leaves half a file; a crop's file is renamed into place inside the
transaction that inserts its row, and :meth:`Workspace.reconcile` removes files whose
transaction never committed. Several processes (CLI, pages in several tabs, a training
job) may use one workspace at once: SQLite serialises the writers, and review claims
plus a per-name version number keep two reviewers off the same name.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hwocr.charsets import folder_name
from hwocr.config import ALL_CLASSES, DEFAULTS, default_workspace
from hwocr.errors import ConflictError, InputError, WorkspaceError
from hwocr.store import chars as char_rows
from hwocr.store import db, reviewers
from hwocr.store import events as event_rows
from hwocr.store import names as name_rows
from hwocr.store.records import CharRecord as CharRecord  # the typed rows, re-exported
from hwocr.store.records import Event, NameRecord
from hwocr.store.records import LabeledBox as LabeledBox
from hwocr.store.records import labeled_boxes_from_json as labeled_boxes_from_json
from hwocr.store.records import labeled_boxes_to_json as labeled_boxes_to_json
from hwocr.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, user_version

if TYPE_CHECKING:
    from hwocr.fetch import LocalFile

DB_NAME = "hwocr.sqlite3"
T = TypeVar("T")

#: The lifecycle of a name. Only the statuses in HARVESTABLE put crops in the folders.
STATUSES = (
    "pending",        # imported, image not fetched yet
    "skipped",        # no usable transcription (reason says why); kept, never fetched
    "fetch_failed",   # the image could not be fetched or decoded (reason says why)
    "fetched",        # image stored, not segmented yet
    "matched",        # as many pieces as letters
    "repaired",       # pieces merged/split to fit the letters (confidence says how sure)
    "needs_review",   # a person must look
    "failed",         # segmentation found nothing usable
    "verified",       # a person accepted the boxes
    "rejected",       # a person rejected the name
)
SEGMENTED = ("matched", "repaired", "needs_review", "failed")
REVIEWABLE = ("needs_review",)
#: What a person can open on the Review page (from the queue, a search or the history).
CLAIMABLE = ("needs_review", "matched", "repaired", "failed", "verified", "rejected")


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: str, limit: int = 60) -> str:
    """A file-name-safe form of an id: no separators, no dots at the start, bounded length."""
    cleaned = _SAFE_NAME.sub("_", text).strip("._") or "item"
    return cleaned[:limit]


def now() -> float:
    return time.time()


# --- errors from the OS and SQLite, as one-line messages ---------------------------------


def _explain_os_error(exc: OSError, what: str) -> WorkspaceError:
    if exc.errno == errno.ENOSPC:
        return WorkspaceError(f"cannot write {what}: the disk is full")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return WorkspaceError(f"cannot write {what}: the workspace is read-only or not writable")
    return WorkspaceError(f"cannot write {what}: {exc.strerror or exc}")


def _read_only(root: Path) -> bool:
    """Whether the workspace folder cannot be written (a read-only mount, no permission)."""
    try:
        return not os.access(root, os.W_OK) or bool(os.statvfs(root).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _explain_sqlite_error(exc: sqlite3.Error, root: Path) -> WorkspaceError:
    text = str(exc)
    low = text.lower()
    if ("unable to open" in low or "disk i/o error" in low) and _read_only(root):
        # SQLite cannot even open a WAL database it may not write: say why, not "unable to open".
        return WorkspaceError(f"the workspace in {root} is read-only; hwocr needs to write there")
    if "full" in low:
        return WorkspaceError(f"the workspace database in {root} cannot grow: the disk is full")
    if "readonly" in low or "read-only" in low:
        return WorkspaceError(f"the workspace in {root} is read-only; hwocr needs to write there")
    if "locked" in low or "busy" in low:
        return WorkspaceError(f"the workspace database in {root} is busy; try again in a moment")
    if "disk i/o error" in low:
        return WorkspaceError(
            f"cannot write the workspace database in {root}: disk I/O error (is the disk full or failing?)"
        )
    if "malformed" in low or "not a database" in low:
        return WorkspaceError(f"the workspace database in {root} is damaged ({text})")
    if "unable to open" in low:
        return WorkspaceError(f"cannot open the workspace database in {root} ({text})")
    return WorkspaceError(f"workspace database error in {root}: {text}")


# --- atomic files -------------------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise _explain_os_error(exc, str(path.name)) from None


#: What :func:`atomic_write_bytes` names its temporary files: ``.<name>.<pid>.<8 hex>.tmp``.
_TEMP_FILE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")


_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_new_file(path: str, data: bytes) -> None:
    """Create ``path``, which must not exist, with ``data``: three system calls, a third
    of :func:`atomic_write_bytes`'s cost (no temporary name, no rename). Safe where the
    database records the file only after this returns: a file cut short by a kill is
    one the database does not know, found by the next run (FileExistsError here, or a
    reconcile). Makes a missing folder; raises FileExistsError when ``path`` exists,
    WorkspaceError on any other failure (leaving no partial file behind)."""
    try:
        fd = os.open(path, _NEW_FILE_FLAGS, 0o644)
    except FileNotFoundError:  # the folder is new, or someone deleted it: make it, once
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, _NEW_FILE_FLAGS, 0o644)
    except FileExistsError:
        raise
    except OSError as exc:
        raise _explain_os_error(exc, os.path.basename(path)) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass  # reconcile or the next fetch deals with it
        raise _explain_os_error(exc, os.path.basename(path)) from None
    os.close(fd)


def store_image_file(root: Path, name_id: int, data: bytes, extension: str,
                     origin: LocalFile | None = None) -> str:
    """Write the image of name ``name_id`` into the workspace at ``root``; returns its
    workspace-relative path (a worker process needs no database for this).

    A name's image is recorded only after this returns, so a first write may create the
    file directly (:func:`write_new_file`). A file already there (left by a run killed
    while writing it, or an image fetched again) is replaced atomically: readers see the
    old image or the whole new one.

    ``origin``, the local file ``data`` was read from: the image is hard-linked to it
    instead (:func:`link_same_file`) where that works, else written as above."""
    relative = f"images/{name_id // 1000:04d}/{name_id:08d}{extension}"
    path = os.path.join(root, relative)
    if origin is not None and link_same_file(origin, path):
        return relative
    try:
        write_new_file(path, data)
    except FileExistsError:
        atomic_write_bytes(Path(path), data)
    return relative


def link_same_file(origin: LocalFile, path: str) -> bool:
    """Make ``path`` (which must not exist) a hard link to ``origin``'s file; whether it
    did. A link is one directory entry where a copy is a new file (on this project's
    2-core test machine 15 µs against 80 µs or more, and no second copy on disk), and
    it appears whole at once, so a kill leaves no partial image.

    False, leaving nothing behind, wherever a copy has to do: another file system or
    one without hard links, a file of another user (Linux's protected_hardlinks), a
    link limit, ``path`` already there, or a file that changed or was replaced since
    its bytes were read and checked (the link must name the very bytes checked).
    hwocr never writes into a stored image (a new image is a new file put in its
    place), so the user's file is never modified through the link."""
    try:
        try:
            _hard_link(origin.path, path)
        except FileNotFoundError:
            if not os.path.exists(origin.path):
                return False
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _hard_link(origin.path, path)
    except OSError:
        return False
    try:
        if origin.same_as(os.stat(path, follow_symlinks=False)):
            return True
    except OSError:
        pass
    try:
        os.unlink(path)
    except OSError:
        pass
    return False


def _hard_link(source: str, path: str) -> None:
    """``os.link`` of ``source`` itself, never of what it might point to where the system
    can say so (linkat); elsewhere (Windows) a plain link: the identity check after it
    catches a file swapped meanwhile either way."""
    try:
        os.link(source, path, follow_symlinks=False)
    except NotImplementedError:
        os.link(source, path)


def no_stored_image(unit_id: str, status: str) -> InputError:
    """The error of a name that has no stored image to cut or show."""
    return InputError(f"name {unit_id} has no stored image (status {status})")


def init_worker_process() -> None:
    """What every worker process of hwocr does first: die with its parent, and leave
    Ctrl-C to the parent (which stops cleanly, keeps what is done and says how to resume)
    instead of printing a traceback from each worker."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def die_with_parent() -> None:
    """In a worker process: be killed when the process that started it dies (Linux).

    A worker of a harvest or a segmentation that outlived a ``kill -9`` of its parent
    would go on writing files the parent can no longer commit, after the next run's
    reconcile has looked; with this it stops at once instead."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends at its next task instead
        return
    if os.getppid() == 1:  # the parent died before the call took effect
        os._exit(1)


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists: a zombie counts, and so does another
    user's process or a pid that cannot be asked about (callers then leave its things
    alone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_orphan_temp_files(folder: Path) -> int:
    """Delete the temporary files of :func:`atomic_write_bytes` under ``folder`` whose
    writer is gone: a process killed between creating one and renaming it leaves it
    behind, and nothing else would ever remove it. Files of live processes (a writer at
    work right now) are left alone. Returns how many were removed."""
    removed = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            m = _TEMP_FILE.match(name)
            if m is None or process_exists(int(m.group(1))):
                continue
            try:
                os.unlink(os.path.join(dirpath, name))
                removed += 1
            except OSError:
                pass
    return removed


# --- the workspace -------------------------------------------------------------------


class Workspace:
    """One workspace folder. Cheap to construct; connections are per thread."""

    def __init__(self, root: Path | str | None = None, *, create: bool = True) -> None:
        self.root = Path(root).expanduser().resolve() if root is not None else default_workspace()
        self._local = threading.local()
        if create:
            self._create()
        elif not (self.root / DB_NAME).is_file():
            raise WorkspaceError(f"{self.root} is not an hwocr workspace (no {DB_NAME})")
        self._ensure_schema()

    # paths
    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    def refuse_own_database(self, path: Path | str, what: str = "a CSV") -> None:
        """Raise InputError when ``path`` is this workspace's database (or its journal).

        Not a nicety: SQLite's locks are POSIX locks, which a process drops on *every*
        open descriptor of the file the moment it closes *any* one of them. A page that
        merely read the database as if it were a CSV would leave every connection of the
        server unlocked ("disk I/O error" at once, corruption at worst)."""
        try:
            target = os.path.realpath(path)
        except (OSError, ValueError):
            return
        own = {os.path.realpath(self.db_path.with_name(DB_NAME + suffix)) for suffix in ("", "-wal", "-shm")}
        if target in own:
            raise InputError(f"{path}: is the workspace's own database, not {what}")

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def dataset_dir(self) -> Path:
        return self.root / "dataset"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def class_dir(self, label: str) -> Path:
        """The folder of class ``label`` (exact case): ``dataset/A``, ``dataset/7``, and
        ``dataset/a_lower`` for a small a, since ``a/`` and ``A/`` would be one folder on
        a case-insensitive disk (macOS, Windows)."""
        if label not in ALL_CLASSES:
            raise InputError(f"{label!r} is not a class (A-Z, a-z or 0-9)")
        return self.dataset_dir / folder_name(label)

    def resolve(self, relative: str) -> Path:
        """A workspace-relative path from the database, refusing anything that escapes."""
        path = (self.root / relative).resolve()
        if self.root != path and self.root not in path.parents:
            raise WorkspaceError(f"refusing path outside the workspace: {relative}")
        return path

    def resolve_many(self, relatives: Sequence[str]) -> list[Path]:
        """:meth:`resolve` of many paths, each folder resolved once: a path whose last
        part is no symbolic link lies where its resolved folder says (the same answer
        and the same refusal as :meth:`resolve`, with one ``lstat`` a path instead of
        one a path component: a fifth of segment's parent CPU at 20,000 names)."""
        folders: dict[str, Path] = {}
        out = []
        for relative in relatives:
            head, _, tail = relative.rpartition("/")
            if not tail or tail in (".", "..") or "\\" in tail or relative.startswith("/"):
                out.append(self.resolve(relative))
                continue
            folder = folders.get(head)
            if folder is None:
                folder = folders[head] = self.resolve(head) if head else self.root
            path = folder / tail
            out.append(self.resolve(relative) if path.is_symlink() else path)
        return out

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def _create(self) -> None:
        try:
            for folder in (self.root, self.images_dir, self.dataset_dir, self.models_dir, self.jobs_dir,
                           self.exports_dir):
                folder.mkdir(parents=True, exist_ok=True)
            for label in ALL_CLASSES:  # a workspace from before lower case gains a_lower/ …: nothing moves
                self.class_dir(label).mkdir(exist_ok=True)
        except OSError as exc:
            raise _explain_os_error(exc, f"the workspace folders in {self.root}") from None

    # connections
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = db.connect(self.db_path, timeout_s=30.0)
        except sqlite3.Error as exc:
            raise _explain_sqlite_error(exc, self.root) from None
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        conn = self.conn
        try:
            db.begin(conn, immediate=immediate)
        except sqlite3.Error as exc:
            raise _explain_sqlite_error(exc, self.root) from None
        try:
            yield conn
        except BaseException:
            try:
                db.rollback(conn)
            except sqlite3.Error:
                pass
            raise
        else:
            try:
                db.commit(conn)
            except sqlite3.Error as exc:
                try:
                    db.rollback(conn)
                except sqlite3.Error:
                    pass
                raise _explain_sqlite_error(exc, self.root) from None

    def read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """``fn(conn, *args, **kwargs)`` — a read of :mod:`hwocr.store` — on this thread's
        connection, outside any transaction, with SQLite's errors told as WorkspaceError."""
        try:
            return fn(self.conn, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _explain_sqlite_error(exc, self.root) from None

    def query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
        """Rows of ``sql`` (a statement of a :mod:`hwocr.store` module, or a test's)."""
        return self.read(db.fetch_all, sql, params)

    def query_one(self, sql: str, params: Sequence | dict = ()) -> sqlite3.Row | None:
        return self.read(db.fetch_one, sql, params)

    def _ensure_schema(self) -> None:
        try:
            conn = self.conn
            version = user_version(conn)
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"the workspace in {self.root} was made by a newer hwocr (schema {version}); upgrade hwocr"
                )
            migrate(conn, MIGRATIONS)
        except sqlite3.Error as exc:
            raise _explain_sqlite_error(exc, self.root) from None

    @contextmanager
    def crops_lock(self, *, exclusive: bool = False) -> Iterator[None]:
        """Writers of crop files share this lock; :func:`hwocr.dataset.reconcile` takes it alone.

        A crop file is on disk a moment before its row commits; holding the lock keeps
        reconcile from mistaking it for the leftovers of a crash. The OS drops the lock
        of a killed process.
        """
        import fcntl

        try:
            fd = os.open(self.root / ".crops.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _explain_os_error(exc, "the workspace lock") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    # events
    def log_event(
        self, conn: sqlite3.Connection, kind: str, *, name_id: int | None = None, actor: str | None = None, **detail
    ) -> None:
        event_rows.insert(conn, ts=now(), kind=kind, name_id=name_id, actor=actor,
                          detail=json.dumps(detail, default=str) if detail else None)

    def events(self, *, name_id: int | None = None, limit: int = 100) -> list[Event]:
        rows = self.read(event_rows.recent, name_id=name_id, limit=limit)
        return [
            Event(r["id"], r["ts"], r["kind"], r["name_id"], r["actor"], json.loads(r["detail"]) if r["detail"] else {})
            for r in rows
        ]

    # names
    def get_name(self, name_id: int) -> NameRecord:
        row = self.read(name_rows.by_id, name_id)
        if row is None:
            raise InputError(f"no name with id {name_id}")
        return NameRecord.from_row(row)

    def get_name_by_unit(self, unit_id: str) -> NameRecord | None:
        row = self.read(name_rows.by_unit, unit_id)
        return None if row is None else NameRecord.from_row(row)

    def names_with_status(self, statuses: Sequence[str], *, limit: int | None = None,
                          offset: int = 0) -> list[NameRecord]:
        rows = self.read(name_rows.with_status, statuses, limit=limit, offset=offset)
        return [NameRecord.from_row(r) for r in rows]

    def status_counts(self) -> dict[str, int]:
        return {**{s: 0 for s in STATUSES}, **self.read(name_rows.status_counts)}

    def class_counts(self) -> dict[str, int]:
        return {**{label: 0 for label in ALL_CLASSES}, **self.read(char_rows.class_counts)}

    def failures(self, *, limit: int | None = None) -> list[NameRecord]:
        return self.names_with_status(("fetch_failed", "skipped", "failed"), limit=limit)

    def image_path_of(self, record: NameRecord) -> Path:
        if not record.image_path:
            raise no_stored_image(record.unit_id, record.status)
        return self.resolve(record.image_path)

    def store_image(self, name_id: int, data: bytes, extension: str, origin: LocalFile | None = None) -> str:
        """Store a fetched image file atomically (see :func:`store_image_file`); returns its
        workspace-relative path."""
        return store_image_file(self.root, name_id, data, extension, origin)

    # review: claims keep two reviewers off one name; versions keep stale tabs from overwriting
    def claim_next(self, reviewer: str, *, statuses: Sequence[str] = REVIEWABLE,
                   ttl_s: float | None = None) -> NameRecord | None:
        """The name ``reviewer`` holds (their latest live claim, whatever its status: a
        name they reopened from the history stays theirs), else the most useful
        unclaimed one of ``statuses`` (sent back first, then least confident).

        Claims lapse ``ttl_s`` after the reviewer was last seen (the Review page renews
        them with :meth:`touch_reviewer` while it is open), so a closed tab frees its name.
        """
        ttl = DEFAULTS.review_claim_ttl_s if ttl_s is None else ttl_s
        with self.transaction() as conn:
            t = now()
            # What is still marked as theirs is theirs, however long they were away.
            row = name_rows.claimed_by(conn, reviewer, CLAIMABLE)
            if row is None:
                row = name_rows.next_unclaimed(conn, statuses, t - ttl)
                if row is None:
                    return None
            name_rows.set_claim(conn, row["id"], reviewer, t)
            row = name_rows.by_id(conn, row["id"])
        return NameRecord.from_row(row)

    def claim_name(self, name_id: int, reviewer: str, *, ttl_s: float | None = None) -> NameRecord:
        """Open one name for ``reviewer`` (from a search or the history), ahead of the queue.

        Raises ConflictError when another reviewer who is still here holds it."""
        ttl = DEFAULTS.review_claim_ttl_s if ttl_s is None else ttl_s
        with self.transaction() as conn:
            t = now()
            row = name_rows.by_id(conn, name_id)
            if row is None:
                raise InputError(f"no name with id {name_id}")
            if row["status"] not in CLAIMABLE:
                raise InputError(f"{row['unit_id']} cannot be reviewed while it is {row['status'].replace('_', ' ')}")
            holder = row["claimed_by"]
            if holder not in (None, reviewer) and self._claim_live(conn, row, t - ttl):
                raise ConflictError(f"{row['unit_id']} is open for {holder} right now")
            # Newest claim first: the page shows the name just opened, and the one the
            # reviewer had before stays theirs for after.
            name_rows.set_claim(conn, name_id, reviewer, t)
            row = name_rows.by_id(conn, name_id)
        return NameRecord.from_row(row)

    def release_claim(self, name_id: int, reviewer: str) -> None:
        with self.transaction() as conn:
            name_rows.release_claim(conn, name_id, reviewer)

    def release_claims(self, reviewer: str) -> None:
        """Everything ``reviewer`` holds goes back to the queue (they changed their name)."""
        with self.transaction() as conn:
            name_rows.release_claims(conn, reviewer)

    @staticmethod
    def _claim_live(conn: sqlite3.Connection, row: sqlite3.Row, since: float) -> bool:
        """Whether ``row``'s claim still holds: made, or its reviewer seen, since ``since``."""
        return name_rows.claim_live(conn, row["id"], since)

    def touch_reviewer(self, reviewer: str) -> None:
        """The reviewer is here: remember when, which keeps their claims alive (a claim's
        own time stays when it was made, so the newest claim is still shown first)."""
        with self.transaction() as conn:
            reviewers.touch(conn, reviewer, now())

    def reviewer_last_seen(self, reviewer: str) -> float | None:
        return self.read(reviewers.last_seen, reviewer)

    def reviewer_done(self, reviewer: str, *, since: float = 0.0) -> int:
        """Names this reviewer accepted or rejected since ``since``, less what they undid."""
        return max(0, self.read(event_rows.reviewer_done, reviewer, since))

    def check_version(self, conn: sqlite3.Connection, name_id: int, version: int, reviewer: str | None) -> sqlite3.Row:
        """Inside a transaction: the name's row, if it is still the version the person saw
        and no other reviewer who is still here holds it; else ConflictError."""
        row = name_rows.by_id(conn, name_id)
        if row is None:
            raise InputError(f"no name with id {name_id}")
        if row["version"] != version:
            raise ConflictError(
                f"{row['unit_id']} was changed elsewhere since you opened it (now {row['status']}); "
                "it was not overwritten"
            )
        if (
            reviewer is not None
            and row["claimed_by"] not in (None, reviewer)
            and self._claim_live(conn, row, now() - DEFAULTS.review_claim_ttl_s)
        ):
            raise ConflictError(f"{row['unit_id']} is open for {row['claimed_by']} right now")
        return row

    def review_count(self) -> dict[str, int]:
        counts = self.status_counts()
        return {"remaining": counts["needs_review"], "verified": counts["verified"], "rejected": counts["rejected"]}

    # integrity
    def integrity_check(self) -> str:
        return self.read(db.integrity_check)


def open_workspace(root: Path | str | None = None) -> Workspace:
    return Workspace(root)
