"""The persistence layer: the SQL statements of hwocr, one module per group of tables.

Callers (the job runner, model versions, …) speak in records and values; the statements,
their parameters and the tables' shapes live here, so a schema change (an ordered
migration in :data:`hwocr.workspace.MIGRATIONS`) is made next to every statement it
touches. The connection itself, transactions, locking and migrations are
:class:`hwocr.workspace.Workspace`'s.

* :mod:`hwocr.store.jobs` — ``jobs`` and ``job_epochs``;
* :mod:`hwocr.store.versions` — ``model_versions`` and their activations in ``events``.
"""
