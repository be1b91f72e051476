"""Typed contracts at the seams: what a training job is asked to do, what it reports, what
a model version's metrics say, and what the workspace holds.

Each is a frozen dataclass with ``to_json()`` (plain JSON-ready data: the stored and
printed form, unchanged from the dicts these replace) and ``from_json()`` (which accepts
what older releases stored: a missing key takes its default). Pages and the CLI read
fields, never ``.get("…")`` on a dict. A model's ``metrics.json`` holds more than any
code reads (per-set scores of the base build, provenance); :class:`ModelMetrics` keeps
those keys in ``extra`` so a round trip loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hwocr.config import DEFAULTS
from hwocr.errors import InputError


def _plain(value: Any) -> Any:
    """JSON-ready data from dataclasses, tuples and mappings."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _fields_json(obj, *, drop_none: bool = False) -> dict:
    out = {}
    for f in fields(obj):
        if f.name == "extra":
            continue
        value = getattr(obj, f.name)
        if drop_none and value is None:
            continue
        out[f.name] = _plain(value)
    return out


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def _opt_tuple(value) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if value else None


# --- training: the request -----------------------------------------------------------------


@dataclass(frozen=True)
class TrainParams:
    """A training job's request (``jobs.params``)."""

    epochs: int = DEFAULTS.train_epochs
    from_active: bool = False
    activate_if_better: bool = False
    seed: int = 0
    batch_size: int | None = None
    rehearsal: bool = True
    rehearsal_ratio: float | None = None  # None: DEFAULTS.train_rehearsal_ratio
    rehearsal_source: str = "auto"

    def __post_init__(self) -> None:
        if not 1 <= int(self.epochs) <= 500:
            raise InputError(f"epochs must be between 1 and 500, not {self.epochs}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise InputError(f"the batch size must be at least 1, not {self.batch_size}")

    def to_json(self) -> dict:
        return _fields_json(self, drop_none=True)

    @classmethod
    def from_json(cls, data: Mapping | None) -> TrainParams:
        data = dict(data or {})
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown training parameter(s): {', '.join(unknown)}")
        return cls(
            epochs=int(data["epochs"]) if data.get("epochs") is not None else DEFAULTS.train_epochs,
            from_active=bool(data.get("from_active", False)),
            activate_if_better=bool(data.get("activate_if_better", False)),
            seed=int(data.get("seed", 0)),
            batch_size=int(data["batch_size"]) if data.get("batch_size") else None,
            rehearsal=bool(data.get("rehearsal", True)),
            rehearsal_ratio=_opt_float(data.get("rehearsal_ratio")),
            rehearsal_source=str(data.get("rehearsal_source") or "auto"),
        )


# --- training: the report ------------------------------------------------------------------


@dataclass(frozen=True)
class NameScore:
    char_accuracy: float
    exact_names: float

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> NameScore | None:
        return cls(float(data["char_accuracy"]), float(data["exact_names"])) if data else None


@dataclass(frozen=True)
class NamesCheck:
    """Both versions reading the validation split's names whole (``train_job.names_check``)."""

    names: int
    letters: int
    new: NameScore | None
    active: NameScore | None

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> NamesCheck | None:
        if not data:
            return None
        return cls(int(data["names"]), int(data["letters"]), NameScore.from_json(data.get("new")),
                   NameScore.from_json(data.get("active")))


@dataclass(frozen=True)
class TrainReport:
    """What a finished training job reports (``jobs.result``)."""

    version: str
    val_accuracy: float | None
    active_version: str | None
    active_val_accuracy: float | None
    activated: bool = False
    not_activated_because: tuple[str, ...] | None = None
    warnings: tuple[str, ...] | None = None
    names_check: NamesCheck | None = None
    train_count: int = 0
    demo_left_out: int = 0
    rehearsal_count: int = 0
    rehearsal_source: str | None = None
    val_count: int | None = None
    charset: str | None = None
    samples_per_s: float | None = None
    device: str | None = None

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> TrainReport:
        d = dict(data or {})
        return cls(
            version=str(d.get("version") or ""),
            val_accuracy=_opt_float(d.get("val_accuracy")),
            active_version=d.get("active_version"),
            active_val_accuracy=_opt_float(d.get("active_val_accuracy")),
            activated=bool(d.get("activated", False)),
            not_activated_because=_opt_tuple(d.get("not_activated_because")),
            warnings=_opt_tuple(d.get("warnings")),
            names_check=NamesCheck.from_json(d.get("names_check")),
            train_count=int(d.get("train_count") or 0),
            demo_left_out=int(d.get("demo_left_out") or 0),
            rehearsal_count=int(d.get("rehearsal_count") or 0),
            rehearsal_source=d.get("rehearsal_source"),
            val_count=int(d["val_count"]) if d.get("val_count") is not None else None,
            charset=d.get("charset"),
            samples_per_s=_opt_float(d.get("samples_per_s")),
            device=d.get("device"),
        )


# --- a model version's metrics -------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The model a new version was compared with, scored on the same validation split."""

    version: str | None
    accuracy: float | None
    per_class_accuracy: Mapping[str, float] = field(default_factory=dict)
    count: int = 0
    charset: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> Comparison | None:
        if not data:
            return None
        return cls(version=data.get("version"), accuracy=_opt_float(data.get("accuracy")),
                   per_class_accuracy={str(k): float(v) for k, v in (data.get("per_class_accuracy") or {}).items()
                                       if v is not None},
                   count=int(data.get("count") or 0), charset=data.get("charset"), error=data.get("error"))


@dataclass(frozen=True)
class BaseCheckRow:
    """One set read outside the workspace by the new version and the one it was compared with."""

    set: str
    count: int
    classes: str  # "letters" or "digits"
    new: float | None
    active: float | None

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping) -> BaseCheckRow:
        name = str(data.get("set", ""))
        # Rows saved before ``classes`` existed are told apart by their name.
        classes = data.get("classes") or ("digits" if "digit" in name else "letters")
        return cls(name, int(data.get("count") or 0), str(classes), _opt_float(data.get("new")),
                   _opt_float(data.get("active")))


@dataclass(frozen=True)
class ModelMetrics:
    """A model version's ``metrics.json``: the fields code reads, the rest in ``extra``."""

    val_accuracy: float | None = None
    per_class_accuracy: Mapping[str, float] = field(default_factory=dict)
    charset: str | None = None
    epochs: int | None = None
    train_count: int | None = None
    val_count: int | None = None
    trained_from: str | None = None
    compared_with: Comparison | None = None
    base_check: tuple[BaseCheckRow, ...] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rehearsal_count(self) -> int:
        return int(((self.data or {}).get("rehearsal") or {}).get("count") or 0)

    @property
    def class_counts(self) -> Mapping[str, int]:
        return (self.data or {}).get("counts") or {}

    def to_json(self) -> dict:
        """Every field (None where unknown) and the extra keys: ``from_json`` of it is equal."""
        return {**self.extra, **_fields_json(self)}

    @classmethod
    def from_json(cls, data: Mapping | None) -> ModelMetrics:
        d = dict(data or {})
        known = {f.name for f in fields(cls)} - {"extra"}
        checked = d.get("base_check")
        return cls(
            val_accuracy=_opt_float(d.get("val_accuracy")),
            per_class_accuracy={str(k): float(v) for k, v in (d.get("per_class_accuracy") or {}).items()
                                if v is not None},
            charset=d.get("charset"),
            epochs=int(d["epochs"]) if d.get("epochs") is not None else None,
            train_count=int(d["train_count"]) if d.get("train_count") is not None else None,
            val_count=int(d["val_count"]) if d.get("val_count") is not None else None,
            trained_from=d.get("trained_from"),
            compared_with=Comparison.from_json(d.get("compared_with")),
            base_check=tuple(BaseCheckRow.from_json(r) for r in checked) if checked else None,
            data=dict(d.get("data") or {}),
            extra={k: v for k, v in d.items() if k not in known},
        )


# --- the workspace -------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceStatus:
    """The workspace at a glance (``python -m hwocr status --json`` prints ``to_json()``)."""

    workspace: str
    names: int
    by_status: Mapping[str, int]
    segmentation: Mapping[str, Any]
    crops: int
    classes: Mapping[str, int]
    active_model: Mapping[str, Any]
    running_jobs: tuple[Mapping[str, Any], ...]
    demo: Mapping[str, Any]

    def to_json(self) -> dict:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping) -> WorkspaceStatus:
        return cls(workspace=str(data["workspace"]), names=int(data["names"]), by_status=dict(data["by_status"]),
                   segmentation=dict(data.get("segmentation") or {}), crops=int(data["crops"]),
                   classes=dict(data["classes"]), active_model=dict(data["active_model"]),
                   running_jobs=tuple(dict(j) for j in data.get("running_jobs") or ()),
                   demo=dict(data.get("demo") or {}))
