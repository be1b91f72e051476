"""The training job: class folders in, a new model version out.

Runs inside the job process (:mod:`hwocr.jobs`). Reads the workspace's class folders,
holds out a validation split by source name (crops of one handwritten name never sit
on both sides), evaluates the active model on that same split so the two can be
compared side by side, trains (fine-tuning the active model by default), and stores
the result as a new, inactive version. The active model changes only when the
request asked for it and the new version is better at what the workspace reads: its
validation crops, and its validation names read whole (:func:`names_check`). The check
outside the workspace (:func:`base_check`) vetoes only for classes the workspace holds
(letters for a workspace of names); a loss elsewhere, e.g. digits for a workspace without
digits, is reported as a warning (:func:`split_losses`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hwocr.config import DEFAULTS
from hwocr.contracts import BaseCheckRow, NamesCheck, NameScore, TrainParams, TrainReport
from hwocr.dataset import demo_crops_left_out
from hwocr.errors import HwocrError, ModelError
from hwocr.jobs import JobCancelled, JobContext
from hwocr.model import ModelBundle, load_bundle, save_bundle, tf_modules
from hwocr.rehearsal import load_shared_data, rehearsal_glyphs
from hwocr.store.queries import crop_name_ids
from hwocr.text import capitals_of, edit_distance
from hwocr.versions import activate, active_version, register_version
from hwocr.workspace import Workspace

#: Share of the job's progress bar spent reading the folders before training starts.
_READ_SHARE = 0.08


def source_groups(ws: Workspace, paths: Sequence[str]) -> list[str]:
    """For each crop file, the handwritten name it was cut from (or the file itself
    when it did not come from a name: canvas and upload crops)."""
    by_path = crop_name_ids(ws)
    groups = []
    for p in paths:
        try:
            rel = ws.relative(Path(p))
        except ValueError:
            rel = str(p)
        name_id = by_path.get(rel)
        groups.append(f"name:{name_id}" if name_id is not None else f"file:{rel}")
    return groups


def evaluate_bundle(bundle, x: np.ndarray, y: Sequence[str], charset: str | None = None) -> dict:
    """Accuracy and per-class accuracy of a model bundle on prepared glyphs, its answers
    restricted to ``charset`` (default: :func:`hwocr.train.dataset_charset` of ``y``):
    the shipped 36-class model scored on letter crops competes among letters only, as
    the new model trained on those crops does and as the letters charset reads names."""
    from hwocr.train import charset_predictions, dataset_charset  # lazy: OpenCV

    y = np.asarray([str(v) for v in y])
    charset = dataset_charset(y) if charset is None else charset
    if len(x) == 0:
        return {"accuracy": None, "per_class_accuracy": {}, "count": 0, "charset": charset}
    probs = bundle.predict_proba(x)
    predicted = np.asarray(bundle.labels)[charset_predictions(probs, bundle.labels, charset)]
    per_class = {}
    for label in sorted(set(y.tolist())):
        mask = y == label
        per_class[label] = float((predicted[mask] == label).mean())
    return {"accuracy": float((predicted == y).mean()), "per_class_accuracy": per_class, "count": len(y),
            "charset": charset}


def base_check(new_bundle, active_bundle, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    """What the new version and the active one read outside the workspace, on
    :func:`hwocr.basemodel.check_sets`: validation writers' letters, held-out digits,
    and the same digits with letters competing (as "both" reads on the Recognize page).
    A model that knows none of a set's classes scores None there."""
    rows = []
    for name, key, charset in (("letters (UNIPEN, unseen writers)", "letters", "letters"),
                               ("digits (MNIST, held out)", "digits", "digits"),
                               ("digits among letters and digits", "digits", "alnum")):
        x, y = sets[key]
        row = {"set": name, "count": len(y), "classes": key}
        for side, bundle in (("new", new_bundle), ("active", active_bundle)):
            try:
                row[side] = evaluate_bundle(bundle, x, y, charset)["accuracy"] if bundle is not None else None
            except ModelError:
                row[side] = None
        rows.append(row)
    return rows


def check_losses(checked: Sequence[dict | BaseCheckRow] | None, drop: float | None = None) -> list[str]:
    """The rows of :func:`base_check` where the new version reads at least ``drop``
    (default ``DEFAULTS.train_base_check_warn_drop``) worse than the active model, in
    words: such a version beats the active one on the workspace's crops but is not
    activated by itself."""
    drop = DEFAULTS.train_base_check_warn_drop if drop is None else drop
    out = []
    for r in checked or []:
        row = r if isinstance(r, BaseCheckRow) else BaseCheckRow.from_json(r)
        if row.new is not None and row.active is not None and row.active - row.new >= drop:
            out.append(f"{row.set}: {row.new:.1%} against {row.active:.1%}")
    return out


#: Which workspace charsets (:func:`hwocr.train.dataset_charset`) hold the classes of a
#: :func:`base_check` row: a loss there is the workspace's own loss.
_CHARSETS_HOLDING = {"letters": {"letters", "alnum", "cased", "all"}, "digits": {"digits", "alnum", "all"}}


def split_losses(checked: Sequence[dict | BaseCheckRow] | None, charset: str,
                 drop: float | None = None) -> tuple[list[str], list[str]]:
    """The losses of :func:`check_losses`, split into (vetoes, warnings): a loss on
    classes the workspace holds (``charset``) keeps a better version from being activated
    by itself; a loss on classes it does not hold (digits, for a workspace of names) is
    only reported."""
    vetoes, warnings = [], []
    for r in checked or []:
        row = r if isinstance(r, BaseCheckRow) else BaseCheckRow.from_json(r)
        (vetoes if charset in _CHARSETS_HOLDING.get(row.classes, set()) else warnings).extend(check_losses([row], drop))
    return vetoes, warnings


def names_check(ws: Workspace, name_ids: Sequence[int], new_rec, active_rec, *,
                limit: int | None = None) -> NamesCheck | None:
    """Both versions read the validation split's names whole (as ``read --clean`` does,
    letters charset) and are scored on the transcriptions' letters: characters (1 - CER)
    and exact names. None when no name can be read (no names, or none with an image)."""
    limit = DEFAULTS.train_names_check_limit if limit is None else limit
    truths, paths = [], []
    for name_id in sorted(set(name_ids))[:max(limit, 0)]:
        try:
            record = ws.get_name(name_id)
            truth, path = record.letters, ws.image_path_of(record)
        except HwocrError:
            continue
        if truth and path.exists():
            truths.append(truth)
            paths.append(path)
    if not truths:
        return None
    letters = sum(map(len, truths))
    scores: list[NameScore | None] = []
    for rec in (new_rec, active_rec):
        if rec is None:
            scores.append(None)
            continue
        errors = exact = 0
        for truth, path in zip(truths, paths):
            try:
                got = capitals_of(rec.read(path, charset="letters", clean=True).raw_text)
            except HwocrError:
                got = ""
            errors += edit_distance(truth, got)
            exact += got == truth
        scores.append(NameScore(1.0 - errors / letters, exact / len(truths)))
    return NamesCheck(len(truths), letters, *scores)


def names_loss(check: NamesCheck | None, tolerance: float | None = None) -> str | None:
    """In words, when the new version reads the validation names' characters worse than
    the active one by more than ``tolerance`` (default
    ``DEFAULTS.train_names_check_tolerance``); None when it reads them about as well or
    better (or there was no check)."""
    if check is None or check.new is None or check.active is None:
        return None
    tolerance = DEFAULTS.train_names_check_tolerance if tolerance is None else tolerance
    new, old = check.new.char_accuracy, check.active.char_accuracy
    if new < old - tolerance:
        return f"the workspace's validation names ({check.names}): {new:.1%} of characters against {old:.1%}"
    return None


def staging_dir(ws: Workspace, job_id: int) -> Path:
    """Where a job writes its model before it becomes a version. A dot-folder: never
    listed as a version (versions come from the database), removed by the job when it
    ends and by :func:`hwocr.jobs.reap_dead_jobs` when the job's process died."""
    return ws.models_dir / f".staging-job-{job_id}"


def training_device() -> str:
    """What TensorFlow trained on: "GPU (…)" when it sees one, else "CPU"."""
    tf, _ = tf_modules()
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({', '.join(g.name for g in gpus)})" if gpus else "CPU"


def run_train_job(ctx: JobContext) -> dict:
    # Lazy: OpenCV.
    from hwocr.train import (
        confusion_png,
        dataset_charset,
        load_class_folders,
        split_validation,
        train,
    )

    ws, job = ctx.ws, ctx.job
    params = TrainParams.from_json(job.params)
    epochs, from_active, seed = params.epochs, params.from_active, params.seed

    ctx.progress(0.0, "reading the class folders")
    # The demo's crops stay out of a model of real names (a workspace of the demo alone trains on them).
    demo_paths = {ws.root / rel for rel in demo_crops_left_out(ws)}
    x, y, info = load_class_folders(
        ws.dataset_dir,
        progress=lambda done, total: ctx.progress(_READ_SHARE * done / max(total, 1), f"reading crops {done}/{total}"),
        exclude=demo_paths,
    )
    if ctx.should_stop():
        raise JobCancelled()
    groups = source_groups(ws, info.paths)
    train_idx, val_idx = split_validation(y, DEFAULTS.train_val_fraction, groups=groups, seed=seed)
    # Both models are scored within what the folders hold (letters for names), never
    # penalised for answering a class the data cannot contain.
    charset = dataset_charset(y)

    active = active_version(ws)
    try:
        active_bundle = load_bundle(active.path)
    except ModelError as exc:
        if from_active:
            raise ModelError(f"the active model {active.name} cannot be loaded, so it cannot be fine-tuned: {exc}. "
                             "Activate another version or train from scratch") from None
        # Training from scratch does not need it: train anyway, with no side-by-side score.
        active_bundle = None
        active_eval = {"accuracy": None, "per_class_accuracy": {}, "count": 0, "charset": charset, "error": str(exc)}
    if active_bundle is not None:
        ctx.progress(_READ_SHARE, f"evaluating the active model ({active.name}) on the validation split")
        try:
            active_eval = evaluate_bundle(active_bundle, x[val_idx], y[val_idx], charset)
        except ModelError as exc:  # an active model that knows none of these classes
            active_eval = {"accuracy": None, "per_class_accuracy": {}, "count": 0, "charset": charset,
                           "error": str(exc)}

    x_train, y_train = x[train_idx], y[train_idx]
    # The base model's own data, when it is on this machine: rehearsal and the check
    # of what the new version still reads outside the workspace both use it.
    shared = load_shared_data()
    rehearsal = {"count": 0}
    if from_active and active_bundle is not None and params.rehearsal:
        # About as many glyphs of the model's own classes as the workspace has training
        # crops, so that fine-tuning on names does not forget canvas letters and digits.
        ratio = DEFAULTS.train_rehearsal_ratio if params.rehearsal_ratio is None else params.rehearsal_ratio
        n = round(ratio * len(train_idx))
        ctx.progress(_READ_SHARE, f"drawing {n:,} rehearsal glyphs")
        drawn = rehearsal_glyphs(n, active_bundle.labels, seed=seed, source=params.rehearsal_source,
                                 data=shared)
        if len(drawn):
            x_train, y_train = np.concatenate([x_train, drawn.glyphs]), np.concatenate([y_train, drawn.labels])
        rehearsal = {"count": len(drawn), "source": drawn.source}
        if ctx.should_stop():
            raise JobCancelled()

    steps = max(1, -(-len(x_train) // (params.batch_size or DEFAULTS.train_batch_size)))
    state = {"epoch": 0, "batches": 0, "last": 0.0}

    def on_epoch(epoch: int, logs: dict, eta_s: float) -> None:
        state["epoch"], state["batches"] = epoch, 0
        ctx.log_epoch(epoch, {**logs, "eta_s": eta_s})
        ctx.progress(_READ_SHARE + (1 - _READ_SHARE) * 0.97 * epoch / epochs,
                     f"epoch {epoch}/{epochs}: val accuracy {logs.get('val_accuracy', float('nan')):.3f}, "
                     f"about {eta_s:.0f} s left")

    def should_stop() -> bool:
        # Called after every batch: a cheap place for a finer progress bar too.
        state["batches"] += 1
        now = time.monotonic()
        if now - state["last"] >= 1.0:
            state["last"] = now
            within = min(state["batches"] / steps, 1.0)
            if state["epoch"] >= epochs:  # the batches of the final scoring, after the last epoch
                ctx.progress(_READ_SHARE + (1 - _READ_SHARE) * 0.97,
                             f"all {epochs} epochs done: scoring the new version")
            else:
                ctx.progress(_READ_SHARE + (1 - _READ_SHARE) * 0.97 * (state["epoch"] + within) / epochs,
                             f"epoch {state['epoch'] + 1}/{epochs}: batch {min(state['batches'], steps)}/{steps}")
        return ctx.should_stop()

    result = train(
        x_train, y_train,
        val=(x[val_idx], y[val_idx]),
        epochs=epochs,
        batch_size=params.batch_size,
        base_model=active_bundle if from_active else None,
        charset=charset,
        on_epoch=on_epoch,
        should_stop=should_stop,
        seed=seed,
    )
    if result.cancelled:
        raise JobCancelled()

    checked = None
    if shared is not None:
        from hwocr.basemodel import check_sets  # lazy: OpenCV

        ctx.progress(0.97, "checking what the new version still reads outside the workspace")
        checked = base_check(ModelBundle(result.model, tuple(result.labels)), active_bundle, check_sets(shared))

    ctx.progress(0.98, "saving the new version")
    metrics = {
        **result.metrics(),
        "trained_from": active.name if from_active else None,
        "data": {
            "source": "workspace class folders",
            "counts": info.counts,
            "skipped_files": len(info.skipped),
            "skipped_examples": [f"{p}: {why}" for p, why in info.skipped[:10]],
            "single_image_classes": list(info.single_image_classes),
            "demo_left_out": info.left_out,
            "validation": "held out by source name (crops of one name never on both sides)",
            "rehearsal": rehearsal,
            "charset": charset,
        },
        "compared_with": {"version": active.name, **active_eval},
        "base_check": checked,
        "job_id": job.id,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    staging = staging_dir(ws, job.id)
    if staging.exists():
        shutil.rmtree(staging)
    try:
        save_bundle(staging, result.model, result.labels, metrics)
        if result.val_count:
            (staging / "confusion.png").write_bytes(confusion_png(result.confusion, result.labels))
        version = register_version(
            ws, staging, job_id=job.id, metrics=metrics,
            note=f"{epochs} epochs, {'fine-tuned from ' + active.name if from_active else 'from scratch'}")
    finally:
        # Registered: the folder was moved away. Not registered: nothing half-made stays behind.
        shutil.rmtree(staging, ignore_errors=True)

    activated, kept_because = False, None
    vetoes, warnings = split_losses(checked, charset)
    new_acc, old_acc = result.val_accuracy, active_eval["accuracy"]
    names = None
    if params.activate_if_better and new_acc is not None and (old_acc is None or new_acc > old_acc):
        # Better on the crops: now what the workspace reads whole, its names.
        val_names = [int(g.split(":", 1)[1]) for g in {groups[i] for i in val_idx} if g.startswith("name:")]
        if val_names and charset in _CHARSETS_HOLDING["letters"]:
            from hwocr.recognize import Recognizer  # lazy: OpenCV and the model code

            ctx.progress(0.99, f"reading {min(len(val_names), DEFAULTS.train_names_check_limit)} validation names "
                               "with both versions")
            names = names_check(ws, val_names, Recognizer.load(version.path),
                                Recognizer(active_bundle) if active_bundle is not None else None)
        kept_because = [*filter(None, [names_loss(names)]), *vetoes]
        if not kept_because:
            activate(ws, version.name, actor=f"job {job.id}")
            activated = True
    return TrainReport(
        version=version.name,
        val_accuracy=new_acc,
        active_version=active.name,
        active_val_accuracy=old_acc,
        activated=activated,
        not_activated_because=tuple(kept_because) if kept_because else None,
        warnings=tuple(warnings) if warnings else None,
        names_check=names,
        train_count=len(train_idx),
        demo_left_out=info.left_out,
        rehearsal_count=rehearsal["count"],
        rehearsal_source=rehearsal.get("source"),
        val_count=len(val_idx),
        charset=charset,
        samples_per_s=round(result.samples_per_s, 1),
        device=training_device(),
    ).to_json()
