"""The typed contracts at the seams round-trip through JSON, accept what older releases
stored, and refuse what no release ever wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwocr.contracts import (
    BaseCheckRow,
    Comparison,
    ModelMetrics,
    NamesCheck,
    NameScore,
    TrainParams,
    TrainReport,
    WorkspaceStatus,
)
from hwocr.errors import InputError
from hwocr.status import workspace_status
from hwocr.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def test_train_params_round_trip_and_checks():
    p = TrainParams(epochs=3, from_active=True, activate_if_better=True, batch_size=16, rehearsal=False)
    assert TrainParams.from_json(json.loads(json.dumps(p.to_json()))) == p
    assert p.to_json() == {"epochs": 3, "from_active": True, "activate_if_better": True, "seed": 0,
                           "batch_size": 16, "rehearsal": False, "rehearsal_source": "auto"}
    assert TrainParams.from_json({}) == TrainParams()  # what an old job with no params means
    with pytest.raises(InputError, match="epochs must be between 1 and 500, not 0"):
        TrainParams.from_json({"epochs": 0})
    with pytest.raises(InputError, match="unknown training parameter"):
        TrainParams.from_json({"epoch": 3})


def test_train_report_round_trip_and_an_old_result():
    r = TrainReport(version="v0002", val_accuracy=0.95, active_version="base", active_val_accuracy=0.93,
                    activated=False, not_activated_because=("letters: 80.0% against 95.0%",),
                    names_check=NamesCheck(10, 70, NameScore(0.9, 0.6), None), train_count=100, val_count=20,
                    charset="letters", device="CPU")
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["not_activated_because"] == ["letters: 80.0% against 95.0%"]
    assert doc["names_check"] == {"names": 10, "letters": 70, "new": {"char_accuracy": 0.9, "exact_names": 0.6},
                                  "active": None}
    assert TrainReport.from_json(doc) == r
    # A job result stored before warnings and the names check existed.
    old = TrainReport.from_json({"version": "v0001", "val_accuracy": 0.9, "active_version": "base",
                                 "active_val_accuracy": None, "activated": True, "train_count": 5})
    assert (old.warnings, old.names_check, old.activated, old.val_count) == (None, None, True, None)


def test_model_metrics_keep_what_no_field_names():
    shipped = json.loads((REPO / "models" / "base" / "metrics.json").read_text())
    m = ModelMetrics.from_json(shipped)
    assert m.val_accuracy == pytest.approx(shipped["val_accuracy"])
    assert ModelMetrics.from_json(json.loads(json.dumps(m.to_json()))) == m
    assert {k: v for k, v in m.to_json().items() if k in shipped and k in m.extra} == \
        {k: shipped[k] for k in m.extra}
    saved = {"val_accuracy": 0.9, "compared_with": {"version": "base", "accuracy": 0.8, "count": 3},
             "base_check": [{"set": "digits among letters and digits", "count": 9, "new": 0.5, "active": 0.6}],
             "data": {"rehearsal": {"count": 7}, "counts": {"A": 3}}, "train_count": 17, "job_id": 4}
    m = ModelMetrics.from_json(saved)
    assert m.compared_with == Comparison(version="base", accuracy=0.8, count=3)
    assert m.base_check == (BaseCheckRow("digits among letters and digits", 9, "digits", 0.5, 0.6),)
    assert (m.rehearsal_count, dict(m.class_counts), m.extra) == (7, {"A": 3}, {"job_id": 4})
    assert ModelMetrics.from_json(None) == ModelMetrics()


def test_workspace_status_is_what_status_json_prints(workspace_dir):
    ws = Workspace(workspace_dir)
    status = workspace_status(ws)
    assert (status.names, status.crops, status.running_jobs) == (0, 0, ())
    assert WorkspaceStatus.from_json(json.loads(json.dumps(status.to_json()))) == status
