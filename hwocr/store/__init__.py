"""The persistence layer: every SQL statement of hwocr, one module per group of tables.

Callers speak in records and values; the statements, their parameters and the tables'
shapes live here, so a schema change (an ordered migration in
:data:`hwocr.store.schema.MIGRATIONS`) is made next to every statement it touches.
Functions take a :class:`sqlite3.Connection` (a write: inside the caller's transaction)
and plain values (or, for the modules that run their own short transactions, a
:class:`hwocr.store.db.Database`: the workspace); when to begin and commit, locking and
error messages are :class:`hwocr.workspace.Workspace`'s. The store imports nothing of the
workspace, dataset, review or pipeline modules, nor Streamlit. ``tests/test_store_sql.py``
fails on SQL anywhere else in the package.

* :mod:`hwocr.store.db` — opening a connection, begin/commit/rollback, plain reads;
* :mod:`hwocr.store.records` — the typed rows (:class:`~hwocr.store.records.NameRecord`, …);
* :mod:`hwocr.store.schema` — the tables and their migrations (``PRAGMA user_version``);
* :mod:`hwocr.store.names` — ``names``: import, fetch and segmentation results, claims,
  review decisions;
* :mod:`hwocr.store.chars` — ``chars``: the crops in the class folders;
* :mod:`hwocr.store.imports` — ``imports``: one row per CSV read;
* :mod:`hwocr.store.demo` — which names, crops and imports are the demo's;
* :mod:`hwocr.store.events` — ``events``, the audit trail;
* :mod:`hwocr.store.reviewers` — ``reviewers`` and when each was last seen;
* :mod:`hwocr.store.jobs` — ``jobs`` and ``job_epochs``;
* :mod:`hwocr.store.versions` — ``model_versions`` and their activations in ``events``;
* :mod:`hwocr.store.queries` — read-only, paged queries of the pages.
"""
