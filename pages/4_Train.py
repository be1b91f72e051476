"""Train: a new model version from the class folders, in a background job.

The job runs in its own process (``python -m hwocr.jobs run``); this page only reads its
state from the workspace, so it can be closed, reloaded or opened in two tabs and shows
the same job. Every finished training is a new, inactive version; activating one (or
rolling back to an older one) is an explicit click, and nothing overwrites a version.
"""

from __future__ import annotations

import streamlit as st

from hwocr import jobs, versions
from hwocr.config import ALL_CLASSES, DEFAULTS
from hwocr.contracts import Comparison, TrainReport
from hwocr.errors import HwocrError
from hwocr.ui import resources, state, training, widgets

widgets.page_setup("Train", ":material/model_training:")
ws = resources.workspace()

st.title("Train")
st.markdown("Train a character model on the class folders, watch it learn, compare it with the active one on the "
            "same held-out crops, and activate it when it is better.")
resources.show_flashes()


# --- actions (button callbacks: they run before the page is drawn) -----------------------


def start() -> None:
    # Read from session state, not from args bound in the previous run: a value changed
    # together with the click must count.
    epochs = int(st.session_state[state.TRAIN_EPOCHS])
    from_active = bool(st.session_state[state.TRAIN_FROM_ACTIVE])
    activate_if_better = bool(st.session_state[state.TRAIN_ACTIVATE_IF_BETTER])
    remember_start_form()
    try:
        job = training.start_training(ws, epochs=epochs, from_active=from_active,
                                      activate_if_better=activate_if_better)
    except HwocrError as exc:
        resources.flash("error", f"The training job was not started: {exc}")
    else:
        resources.flash("info", f"Training job {job.id} started: {epochs} epoch{'' if epochs == 1 else 's'}, "
                                f"{'fine-tuning the active model' if from_active else 'from scratch'}.")


def cancel(job_id: int) -> None:
    try:
        jobs.request_cancel(ws, job_id)
    except HwocrError as exc:
        resources.flash("error", str(exc))


def stop_now(job_id: int) -> None:
    try:
        job = jobs.kill_job(ws, job_id)
    except HwocrError as exc:
        resources.flash("error", str(exc))
    else:
        resources.flash("warning", f"Job {job.id} was stopped by force; the active model is unchanged.")


def activate(name: str, verb: str) -> None:
    try:
        versions.activate(ws, name, actor=resources.reviewer_id())
    except HwocrError as exc:
        resources.flash("error", str(exc))
    else:
        resources.flash("success", f"{verb} {name}: pages that read characters use it from now on.")


# --- pieces -------------------------------------------------------------------------------


def curve_charts(epoch_logs: list[dict], total_epochs: int) -> None:
    loss, accuracy = training.curves(epoch_logs)
    if loss.empty:
        st.caption("The curves appear after the first epoch.")
        return
    left, right = st.columns(2)
    for column, frame, title, scale in ((left, loss, "Loss", {"zero": True}),
                                        (right, accuracy, "Accuracy", {"domain": [0, 1]})):
        with column:
            st.vega_lite_chart(frame, {
                "title": title,
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": {"field": "epoch", "type": "quantitative", "title": "epoch",
                          "scale": {"domain": [1, max(total_epochs, 2)]}, "axis": {"tickMinStep": 1}},
                    "y": {"field": "value", "type": "quantitative", "title": None, "scale": scale},
                    "color": {"field": "split", "type": "nominal", "title": None,
                              "scale": {"domain": ["train", "validation"]}},
                },
            }, height=220, width="stretch")


@st.fragment(run_every=training.POLL_S)
def live_job(job_id: int) -> None:
    """The running job, re-read from the workspace every second. When it ends, the whole
    page reruns once (to list the new version) and the polling stops."""
    jobs.reap_dead_jobs(ws)
    try:
        job = jobs.get_job(ws, job_id)
    except HwocrError as exc:
        st.error(str(exc))
        return
    if job.finished:
        st.rerun()
    logs = jobs.job_epochs(ws, job.id)
    total = training.epochs_total(job)
    done = logs[-1]["epoch"] if logs else 0
    st.progress(job.progress, text=f"{job.progress * 100:.0f}% · {job.message or job.status}")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Epoch", f"{done} of {total}")
    m2.metric("Time left", training.duration_text(training.time_left_s(job, logs)))
    m3.metric("Validation accuracy, last epoch", training.pct(logs[-1].get("val_accuracy")) if logs else "—")
    m4.metric("Training accuracy, last epoch", training.pct(logs[-1].get("accuracy")) if logs else "—")
    curve_charts(logs, total)
    if not job.cancel_requested:
        st.button("Cancel training", key=state.TRAIN_CANCEL, icon=":material/cancel:", on_click=cancel,
                  args=(job.id,), help="The job stops after the current batch; no version is made and the "
                                       "active model is unchanged.")
    elif training.offer_stop_now(ws, job):
        st.warning(f"The job has not stopped within {training.STOP_NOW_AFTER_S:.0f} s of the cancel request.")
        st.button("Stop now", key=state.TRAIN_STOP_NOW, icon=":material/dangerous:", type="primary",
                  on_click=stop_now, args=(job.id,),
                  help="Kills the job's process. Nothing it was writing becomes a version.")
    else:
        st.info("Cancelling: the job stops after the current batch…")
    st.caption(f"Job {job.id} runs in process {job.pid}; closing or reloading this page does not stop it. "
               f"Its log: `{jobs.job_log_path(ws, job.id)}`")


def last_job_outcome(job: jobs.JobRecord) -> None:
    # No Activate button here: the new version is shown under "Model versions" with its
    # scores, and that is the one place a version is activated.
    kind, text = training.job_outcome(job, versions.active_version(ws).name)
    getattr(st, kind)(text)
    logs = jobs.job_epochs(ws, job.id)
    if logs:
        with st.expander(f"Curves of job {job.id}", expanded=job.status == "succeeded"):
            curve_charts(logs, training.epochs_total(job))


def training_data(summary: training.FolderSummary) -> bool:
    """What the job will read; returns whether training can start."""
    st.subheader("Training data")
    problem = summary.blocking_problem()
    c1, c2, c3 = st.columns(3)
    c1.metric("Crops", f"{summary.total:,}")
    classes = summary.charset_classes if summary.counts else ALL_CLASSES
    kind = f" {summary.charset_words}" if summary.counts and summary.charset_words else ""
    c2.metric("Classes with crops", f"{len(summary.counts)} of {len(classes)}{kind}")
    smallest = min(summary.counts.items(), key=lambda kv: kv[1]) if summary.counts else None
    c3.metric("Smallest class", f"{smallest[0]}: {smallest[1]:,}" if smallest else "—")
    if summary.counts:
        # Names hold capitals only: ten empty digit (or 26 small-letter) columns would only be noise.
        widgets.class_chart({c: summary.counts.get(c, 0) for c in classes}, height=160)
    if problem:
        st.error(problem)
    for warning in summary.warnings():
        st.warning(warning)
    if not problem:
        st.caption(f"{DEFAULTS.train_val_fraction:.0%} of the crops are held out to validate, whole names at a time "
                   "(a name's crops are never on both sides); the active model is scored on the same crops.")
    return problem is None


#: The start form's last values, under a key no widget owns. Streamlit forgets a widget's
#: value after a run that does not draw it, and the form is not drawn while a job runs: the
#: person's Epochs came back as the default once the job ended.
START_FORM_KEPT = "train.start_form_kept"
START_FORM_DEFAULTS = {state.TRAIN_EPOCHS: DEFAULTS.train_epochs, state.TRAIN_FROM_ACTIVE: True,
                       state.TRAIN_ACTIVATE_IF_BETTER: False}


def remember_start_form() -> None:
    # A callback: it sees the value the person just set, even when the same click starts a job.
    st.session_state[START_FORM_KEPT] = {key: st.session_state[key] for key in START_FORM_DEFAULTS
                                         if key in st.session_state}


def start_form(can_start: bool) -> None:
    active = versions.active_version(ws)
    kept = st.session_state.get(START_FORM_KEPT, {})
    for key, default in START_FORM_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = kept.get(key, default)
    c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="center")
    c1.number_input("Epochs", min_value=1, max_value=500, step=1, key=state.TRAIN_EPOCHS,
                    on_change=remember_start_form)
    c2.toggle("Fine-tune the active model", key=state.TRAIN_FROM_ACTIVE, on_change=remember_start_form,
              help=f"Start from the active model's weights ({active.name}) at a lower learning rate: it keeps what "
                   "it learnt and needs fewer epochs. About as many letters and digits of every class as there "
                   "are crops are mixed in (the base model's own training data when it is on this machine), "
                   "so it does not forget them. "
                   "Off: a new network from scratch.")
    c3.toggle("Activate if it beats the active one", key=state.TRAIN_ACTIVATE_IF_BETTER, on_change=remember_start_form,
              help="Compared on the same validation crops. Off: the new version waits for you to activate it.")
    st.button("Start training", key=state.TRAIN_START, type="primary", icon=":material/play_arrow:",
              disabled=not can_start, on_click=start)


def hardware_note(job: jobs.JobRecord | None) -> None:
    ran_on = TrainReport.from_json(job.result).device if job is not None and job.status == "succeeded" else None
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.caption("Training runs in its own process with TensorFlow, which uses a GPU when it sees one (install "
               "`tensorflow[and-cuda]` in place of the CPU build); otherwise the CPU."
               + (f" The last job trained on: **{ran_on}**." if ran_on else ""))
    if c2.button("Check for a GPU", key=state.TRAIN_CHECK_GPU, icon=":material/memory:", type="tertiary"):
        c1.caption(f"TensorFlow sees: **{resources.gpu_devices()}**")


def version_details(v: versions.ModelVersion, previous: str | None) -> None:
    m = v.report
    compared = m.compared_with or Comparison(version=None, accuracy=None)
    problem = versions.model_files_problem(v.path)
    if problem and not v.active:  # a damaged active model is reported above the table
        st.error(f"{v.name} cannot be used: {problem}.")

    c1, c2, c3, c4 = st.columns(4)
    delta, same = None, False
    if v.val_accuracy is not None and compared.accuracy is not None:
        points = (v.val_accuracy - compared.accuracy) * 100
        same = round(points, 1) == 0
        delta = f"same as {compared.version}" if same else f"{points:+.1f} points vs {compared.version}"
    c1.metric("Validation accuracy", training.pct(v.val_accuracy), delta=delta,
              delta_color="off" if same else "normal", delta_arrow="off" if same else "auto")
    c2.metric(f"{compared.version} on the same crops" if compared.version else "Compared with",
              training.pct(compared.accuracy) if compared.version else "—")
    data = m.data
    counts = training.version_counts(m, shipped=v.shipped)
    c3.metric("Training samples / validation",
              f"{counts.samples:,} / {counts.val:,}" if counts.samples is not None and counts.val is not None
              else (f"{counts.samples:,} / —" if counts.samples is not None else "—"),
              help=counts.text())
    c4.metric("Epochs", m.epochs if m.epochs is not None else "—")
    if compared.error:
        st.warning(f"{compared.version} could not be scored on these crops: {compared.error}")
    scope = training.charset_note(m)
    if counts.crops is not None:
        st.caption(f"Training data: {counts.text()}.")
    if scope:
        st.caption(scope)
    if v.shipped:
        st.caption("The shipped model, trained on UNIPEN capitals, small letters and digits and on MNIST digits "
                   "(see models/base/README.md); "
                   "its scores are on their held-out writers, not on your crops.")
    if data.get("skipped_files"):
        st.caption(f"{data['skipped_files']} file(s) in the class folders were skipped: "
                   + "; ".join(widgets.md(s) for s in data.get("skipped_examples", [])[:3]))
    check = training.base_check_table(v)
    if check is not None:
        other = compared.version or "the active model"
        losses = training.base_check_losses(v)
        if losses:
            st.warning(f"Outside your crops, {v.name} reads worse than {other}: " + "; ".join(losses)
                       + ". Activated, it would read such characters on the Recognize page less well.")
        with st.expander(f"Outside your crops: {v.name} and {other} on the base model's unseen writers and digits",
                         expanded=bool(losses)):
            percent = st.column_config.NumberColumn(format="percent")
            st.dataframe(check, hide_index=True, width="stretch",
                         column_config={c: percent for c in check.columns if c not in ("set", "glyphs")})

    b1, b2, _ = st.columns([1, 1, 2])
    if not v.active:
        newer_than_active = _order(v) > _order(versions.active_version(ws))
        verb = "Activate" if newer_than_active else "Roll back to"
        b1.button(f"{verb} {v.name}", key=state.TRAIN_ACTIVATE, type="primary", disabled=problem is not None,
                  icon=":material/check_circle:" if newer_than_active else ":material/history:",
                  on_click=activate, args=(v.name, "Activated" if newer_than_active else "Rolled back to"),
                  width="stretch")
    else:
        b1.markdown(":green[**This is the active model.**]")
    if previous:
        b2.button(f"Roll back to {previous}", key=state.TRAIN_ROLLBACK, icon=":material/undo:",
                  on_click=activate, args=(previous, "Rolled back to"), width="stretch",
                  help="Make the version that was active before the current one active again.")

    chart = training.comparison(v)
    if not chart.empty:
        st.markdown("**Per-class validation accuracy**" + (f" — {v.name} against {compared.version} on the same "
                                                            "held-out crops" if compared.version else ""))
        st.vega_lite_chart(chart, {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "class", "type": "nominal", "sort": list(ALL_CLASSES), "axis": {"labelAngle": 0},
                      "title": None},
                "xOffset": {"field": "model", "sort": [v.name]},
                "y": {"field": "accuracy", "type": "quantitative", "scale": {"domain": [0, 1]},
                      "axis": {"format": "%"}},
                "color": {"field": "model", "type": "nominal", "title": None, "legend": {"orient": "top"},
                          "sort": [v.name]},
            },
        }, height=220, width="stretch")
    left, right = st.columns([3, 2])
    confusion = v.path / "confusion.png"
    with left:
        if confusion.is_file():
            st.markdown("**Confusion matrix** (rows: true class, columns: what the model said)")
            # The PNG as it is on disk: given a path, Streamlit re-encodes it as a JPEG on every run.
            st.image(confusion.read_bytes(), width="content", output_format="PNG")
        else:
            st.caption("No confusion matrix saved with this version.")
    with right:
        table = training.comparison_table(v)
        if not table.empty:
            st.markdown("**Per class**")
            percent = st.column_config.NumberColumn(format="percent")
            st.dataframe(table, hide_index=True, height=min(35 * (len(table) + 1) + 3, 560),
                         column_config={c: percent for c in table.columns if c not in ("class", "crops")})


def _order(v: versions.ModelVersion) -> int:
    """Versions by age: base oldest, then v0001, v0002, …"""
    return -1 if v.shipped else int(v.name.lstrip("v") or 0)


def versions_section() -> None:
    st.subheader("Model versions")
    all_versions = versions.list_versions(ws)
    active = next(v for v in all_versions if v.active)
    broken = versions.model_files_problem(active.path)
    if broken:
        st.error(f"The active model {active.name} cannot be loaded: {broken}. Pages that read characters fail until "
                 "another version is activated (Roll back below).")
    table = training.versions_table(all_versions)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"val accuracy": st.column_config.NumberColumn(format="percent"),
                                "active": st.column_config.TextColumn(width="small")})
    names = [v.name for v in all_versions]
    if (st.session_state.get(state.TRAIN_VERSION) not in names
            or st.session_state.get(state.TRAIN_NEWEST_SEEN) != names[0]):
        # First visit, or a job just made a new version: show the newest.
        st.session_state[state.TRAIN_VERSION] = names[0]
    st.session_state[state.TRAIN_NEWEST_SEEN] = names[0]
    by_name = {v.name: v for v in all_versions}
    chosen = st.selectbox("Show version", names, key=state.TRAIN_VERSION,
                          format_func=lambda n: training.version_label(by_name[n]))
    version_details(by_name[chosen], versions.previous_active(ws))


# --- the page -------------------------------------------------------------------------------

job = training.latest_train_job(ws)
summary = resources.folder_summary(ws)
can_start = training_data(summary)

st.subheader("Training")
if job is not None and not job.finished:
    live_job(job.id)
else:
    if job is not None:
        last_job_outcome(job)
    start_form(can_start)
hardware_note(job)

versions_section()

history = training.recent_train_jobs(ws)
if history:
    with st.expander(f"Training jobs ({len(history)} most recent)"):
        st.dataframe(training.jobs_table(history), hide_index=True, width="stretch")
