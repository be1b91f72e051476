"""Model versions: every finished training is a new version; one (or the shipped base)
is active; activation and rollback are explicit, and nothing overwrites an older version.

Versions live in ``<workspace>/models/vNNNN/`` (model file + labels.json + metrics.json +
confusion.png) with a row in ``model_versions``. The shipped model in ``models/base`` is
always there as the fallback and can be re-activated like any version.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hwocr.config import default_workspace, shipped_models_dir
from hwocr.contracts import ModelMetrics
from hwocr.errors import ModelError, WorkspaceError
from hwocr.store import versions as store
from hwocr.workspace import DB_NAME, Workspace

BASE_NAME = "base"


@dataclass(frozen=True)
class ModelVersion:
    name: str                 # "base" or "v0001", "v0002", …
    path: Path
    created_at: float | None
    val_accuracy: float | None
    metrics: dict
    active: bool
    job_id: int | None = None
    note: str | None = None

    @property
    def shipped(self) -> bool:
        return self.name == BASE_NAME

    @property
    def report(self) -> ModelMetrics:
        """The metrics as typed fields (the dict stays as ``metrics``, as saved)."""
        return ModelMetrics.from_json(self.metrics)

    @property
    def cache_key(self) -> str:
        """Changes whenever a different model becomes active (pages key their cache on it)."""
        return f"{self.name}:{self.path}:{self.created_at}"


def shipped_version(active: bool) -> ModelVersion:
    path = shipped_models_dir() / BASE_NAME
    metrics: dict = {}
    try:
        metrics = json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError):
        pass
    acc = metrics.get("val_accuracy")
    return ModelVersion(BASE_NAME, path, None, float(acc) if acc is not None else None, metrics, active,
                        note="shipped with hwocr")


def _from_row(ws: Workspace, row) -> ModelVersion:
    return ModelVersion(
        name=row["name"], path=ws.resolve(row["path"]), created_at=row["created_at"],
        val_accuracy=row["val_accuracy"], metrics=json.loads(row["metrics"]) if row["metrics"] else {},
        active=bool(row["active"]), job_id=row["job_id"], note=row["note"],
    )


def list_versions(ws: Workspace) -> list[ModelVersion]:
    """Newest first, the shipped base last."""
    versions = [_from_row(ws, r) for r in store.rows(ws)]
    return [*versions, shipped_version(active=not any(v.active for v in versions))]


def active_version(ws: Workspace) -> ModelVersion:
    row = store.active_row(ws)
    return _from_row(ws, row) if row else shipped_version(active=True)


def get_version(ws: Workspace, name: str) -> ModelVersion:
    if name == BASE_NAME:
        return shipped_version(active=store.active_row(ws) is None)
    row = store.row(ws, name)
    if row is None:
        raise ModelError(f"no model version named {name!r}")
    return _from_row(ws, row)


def register_version(ws: Workspace, staged_dir: Path, *, job_id: int | None, metrics: dict,
                     note: str | None = None) -> ModelVersion:
    """Move a finished model from its staging folder to the next version name (inactive)."""
    staged_dir = Path(staged_dir)
    if not (staged_dir / "labels.json").is_file():
        raise ModelError(f"{staged_dir} does not hold a finished model (no labels.json)")
    def place(name: str) -> str:
        final = ws.models_dir / name
        if final.exists():
            # A crash after the move but before the commit: that folder has no row, so it is ours to replace.
            shutil.rmtree(final)
        try:
            os.replace(staged_dir, final)
        except OSError as exc:
            raise WorkspaceError(f"cannot store model version {name}: {exc.strerror or exc}") from None
        return ws.relative(final)

    name = store.register(ws, place, job_id=job_id, metrics=metrics, note=note)
    return get_version(ws, name)


def model_files_problem(path: Path) -> str | None:
    """Why the bundle at ``path`` cannot be loaded, found without TensorFlow (None when
    its files look whole): a missing or unreadable labels.json, a missing model file, or
    one that is not a complete zip archive (truncated, or bytes changed: the archive's
    CRCs are checked). Cheap: a few milliseconds for a 1 MB model."""
    path = Path(path)
    labels_path = path / "labels.json"
    model_path = path / "model.keras"
    if not path.is_dir():
        return f"its folder {path} is missing"
    if not labels_path.is_file():
        return f"{labels_path.name} is missing from {path}"
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"{labels_path} is not a readable list of labels"
    if not isinstance(labels, list) or len(labels) < 2:
        return f"{labels_path} is not a list of at least two labels"
    if not model_path.is_file():
        return f"{model_path.name} is missing from {path}"
    try:
        with zipfile.ZipFile(model_path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError):
        return f"{model_path} is damaged (not a complete Keras archive)"
    if bad is not None:
        return f"{model_path} is damaged ({bad} fails its checksum)"
    return None


def activate(ws: Workspace, name: str, *, actor: str | None = None) -> ModelVersion:
    """Make ``name`` the active model (``base`` = the shipped one). Rollback is activating an older one.

    A version whose files are missing or damaged is refused (:class:`ModelError`): the
    active model stays what it was rather than becoming one no page can load.
    """
    target = get_version(ws, name)
    problem = model_files_problem(target.path)
    if problem is not None:
        raise ModelError(f"model version {name} cannot be activated: {problem}")
    store.set_active(ws, None if target.shipped else name, actor=actor, base_name=BASE_NAME)
    return get_version(ws, name)


def previous_active(ws: Workspace) -> str | None:
    """The version that was active before the current one (what "roll back" returns to),
    from the latest activation in the audit trail; None when nothing was ever activated."""
    current = active_version(ws).name
    for detail in store.activations(ws):
        if detail.get("version") == current and detail.get("previous") and detail["previous"] != current:
            return str(detail["previous"])
    return None


def active_model_dir(ws: Workspace | None = None) -> Path:
    """Where the active model lives: the workspace's active version, else the shipped base.

    Without a workspace argument the default workspace is consulted only if it already
    exists, so loading a model never creates a workspace as a side effect.
    """
    if ws is None:
        root = default_workspace()
        if not (root / DB_NAME).is_file():
            return shipped_version(active=True).path
        try:
            ws = Workspace(root, create=False)
        except WorkspaceError:
            return shipped_version(active=True).path
    return active_version(ws).path
