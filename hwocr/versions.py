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
from dataclasses import dataclass
from pathlib import Path

from hwocr.config import shipped_models_dir
from hwocr.errors import ModelError, WorkspaceError
from hwocr.workspace import DB_NAME, Workspace, now

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
    rows = ws.query("SELECT * FROM model_versions ORDER BY id DESC")
    versions = [_from_row(ws, r) for r in rows]
    return versions + [shipped_version(active=not any(v.active for v in versions))]


def active_version(ws: Workspace) -> ModelVersion:
    row = ws.query_one("SELECT * FROM model_versions WHERE active = 1")
    return _from_row(ws, row) if row else shipped_version(active=True)


def get_version(ws: Workspace, name: str) -> ModelVersion:
    if name == BASE_NAME:
        return shipped_version(active=ws.query_one("SELECT 1 FROM model_versions WHERE active = 1") is None)
    row = ws.query_one("SELECT * FROM model_versions WHERE name = ?", (name,))
    if row is None:
        raise ModelError(f"no model version named {name!r}")
    return _from_row(ws, row)


def register_version(ws: Workspace, staged_dir: Path, *, job_id: int | None, metrics: dict,
                     note: str | None = None) -> ModelVersion:
    """Move a finished model from its staging folder to the next version name (inactive)."""
    staged_dir = Path(staged_dir)
    if not (staged_dir / "labels.json").is_file():
        raise ModelError(f"{staged_dir} does not hold a finished model (no labels.json)")
    with ws.transaction() as conn:
        last = conn.execute("SELECT MAX(id) AS m FROM model_versions").fetchone()["m"] or 0
        name = f"v{last + 1:04d}"
        final = ws.models_dir / name
        if final.exists():
            # A crash after the move but before the commit: that folder has no row, so it is ours to replace.
            shutil.rmtree(final)
        try:
            os.replace(staged_dir, final)
        except OSError as exc:
            raise WorkspaceError(f"cannot store model version {name}: {exc.strerror or exc}") from None
        acc = metrics.get("val_accuracy")
        conn.execute(
            "INSERT INTO model_versions (name, path, job_id, created_at, val_accuracy, metrics, active, note) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (name, ws.relative(final), job_id, now(), acc, json.dumps(metrics, default=float), note),
        )
        ws.log_event(conn, "model_registered", version=name, job_id=job_id, val_accuracy=acc)
    return get_version(ws, name)


def activate(ws: Workspace, name: str, *, actor: str | None = None) -> ModelVersion:
    """Make ``name`` the active model (``base`` = the shipped one). Rollback is activating an older one."""
    target = get_version(ws, name)
    if not target.shipped and not (target.path / "labels.json").is_file():
        raise ModelError(f"model version {name} is missing its files in {target.path}")
    with ws.transaction() as conn:
        previous = conn.execute("SELECT name FROM model_versions WHERE active = 1").fetchone()
        conn.execute("UPDATE model_versions SET active = 0 WHERE active = 1")
        if not target.shipped:
            conn.execute("UPDATE model_versions SET active = 1 WHERE name = ?", (name,))
        ws.log_event(conn, "model_activated", actor=actor, version=name,
                     previous=previous["name"] if previous else BASE_NAME)
    return get_version(ws, name)


def active_model_dir(ws: Workspace | None = None) -> Path:
    """Where the active model lives: the workspace's active version, else the shipped base.

    Without a workspace argument the default workspace is consulted only if it already
    exists, so loading a model never creates a workspace as a side effect.
    """
    if ws is None:
        from hwocr.config import default_workspace

        root = default_workspace()
        if not (root / DB_NAME).is_file():
            return shipped_version(active=True).path
        try:
            ws = Workspace(root, create=False)
        except WorkspaceError:
            return shipped_version(active=True).path
    return active_version(ws).path
