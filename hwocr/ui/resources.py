"""Things the pages share across reruns: the workspace, the model, this tab's reviewer id.

The workspace is cached by its resolved path, so a test (or a user) pointing
``HWOCR_WORKSPACE`` somewhere else gets that workspace, never a stale one. The model is
cached by the active version's key, so activating another version loads it on the next
run; TensorFlow is imported only when a page asks for the model.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from hwocr import namelm
from hwocr.config import default_workspace
from hwocr.contracts import WorkspaceStatus
from hwocr.errors import HwocrError
from hwocr.status import workspace_status
from hwocr.store import queries
from hwocr.store.queries import active_version_key, change_token
from hwocr.ui import state
from hwocr.versions import active_version
from hwocr.workspace import Workspace


@st.cache_resource(show_spinner=False, max_entries=8)
def _workspace_at(root: str) -> Workspace:
    return Workspace(root)


def workspace() -> Workspace:
    """The workspace of $HWOCR_WORKSPACE (else ./data); on error, say so and stop the page."""
    try:
        return _workspace_at(str(default_workspace()))
    except HwocrError as exc:
        from hwocr.ui.widgets import inert  # lazy: OpenCV and pandas

        st.error(inert(f"The workspace cannot be opened: {exc}"))
        st.stop()
        raise  # not reached; st.stop() ends the run


def reviewer_id() -> str:
    """One id per browser session: two tabs are two reviewers and never share an item."""
    if state.REVIEWER not in st.session_state:
        st.session_state[state.REVIEWER] = f"web-{uuid.uuid4().hex[:10]}"
    return st.session_state[state.REVIEWER]


def active_model_key(ws: Workspace) -> str:
    """Changes whenever another model version becomes active."""
    try:
        return active_version(ws).cache_key
    except Exception:  # noqa: BLE001 - an unreadable versions folder must not stop the labelling pages
        return active_version_key(ws)


@st.cache_resource(show_spinner="Loading the character model…", max_entries=1)
def _recognizer(model_key: str, model_dir: str) -> Any:
    # max_entries=1: a new active version evicts the old model instead of keeping both.
    from hwocr.recognize import Recognizer  # lazy: OpenCV and the model code

    rec = Recognizer.load(model_dir)
    # The language models (a few hundred kB of counts each) load here, under this
    # spinner, rather than on the first pen lift after the page opens.
    namelm.shipped()
    namelm.shipped_words()
    return rec


def recognizer(ws: Workspace) -> Any | None:
    """The workspace's active model version (else the shipped base), loaded once per
    version: activating another version changes the key, so the next run loads that one.
    None when hwocr.recognize is not available; a model that cannot be loaded raises
    ModelError (one line, for st.error)."""
    try:
        import hwocr.recognize  # noqa: F401 - lazy (OpenCV): only checks that the model code is there
    except ImportError:
        return None

    active = active_version(ws)
    return _recognizer(active.cache_key, str(active.path))


# Counting 460,000 crops or 130,000 names takes 30-70 ms on a small machine: too much for
# every rerun. These are cached until the workspace's change token moves (any crop or
# status change this app makes) and for at most a few seconds (another process importing).
COUNTS_TTL_S = 5


@st.cache_data(show_spinner=False, ttl=COUNTS_TTL_S, max_entries=32)
def _status(root: str, token: tuple) -> WorkspaceStatus:
    return workspace_status(_workspace_at(root))


@st.cache_data(show_spinner=False, ttl=COUNTS_TTL_S, max_entries=32)
def _class_counts(root: str, token: tuple) -> dict[str, int]:
    return _workspace_at(root).class_counts()


@st.cache_data(show_spinner=False, ttl=COUNTS_TTL_S, max_entries=64)
def _count_with_status(root: str, statuses: tuple[str, ...], token: tuple) -> int:
    return queries.count_with_status(_workspace_at(root), statuses)


def count_with_status(ws: Workspace, statuses: tuple[str, ...]) -> int:
    """How many names have one of ``statuses`` (the audit grid's total), cached like :func:`status`."""
    return _count_with_status(str(ws.root), tuple(statuses), change_token(ws))


def status(ws: Workspace) -> WorkspaceStatus:
    """``hwocr.status.workspace_status`` (names by status, crops per class, model, jobs), cached."""
    return _status(str(ws.root), change_token(ws))


def class_counts(ws: Workspace) -> dict[str, int]:
    """Crops per class, cached like :func:`status`."""
    return _class_counts(str(ws.root), change_token(ws))


@st.cache_data(show_spinner=False, ttl=COUNTS_TTL_S, max_entries=8)
def _folder_summary(root: str, token: tuple) -> Any:
    from hwocr.ui.training import scan_class_folders  # lazy: pandas

    return scan_class_folders(_workspace_at(root))


def folder_summary(ws: Workspace) -> Any:
    """What the class folders hold for training (hwocr.ui.training.FolderSummary), cached like :func:`status`."""
    return _folder_summary(str(ws.root), change_token(ws))


@st.cache_data(show_spinner="Asking TensorFlow which devices it sees…", max_entries=1)
def gpu_devices() -> str:
    """What TensorFlow sees (asked once per server, in a separate process)."""
    from hwocr.ui.training import gpu_devices as ask  # lazy: pandas

    return ask()


def _page_scope() -> str:
    """The page this run draws (a message belongs to the page whose action made it)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    try:
        return str(ctx.pages_manager.current_page_script_hash) if ctx is not None else ""
    except AttributeError:  # pragma: no cover - a Streamlit without pages_manager
        return ""


def flash(kind: str, text: str) -> None:
    """A message about what the person just did. It stays on its page, whatever reruns
    follow, until the page's next message replaces it (an action's outcome must not
    vanish because a widget or a poll reran the page a moment later)."""
    messages = st.session_state.setdefault(state.FLASH, {})
    scope = _page_scope()
    if messages.get("_action") != (scope, st.session_state.get(state.FLASH_SEQ)):
        messages[scope] = []  # a new action: its messages replace the last one's
        messages["_action"] = (scope, st.session_state.get(state.FLASH_SEQ))
    messages[scope].append((kind, text))


def show_flashes() -> None:
    from hwocr.ui.widgets import inert  # lazy: OpenCV and pandas

    # A run that draws the page ends the current action: the next flash starts afresh.
    st.session_state[state.FLASH_SEQ] = st.session_state.get(state.FLASH_SEQ, 0) + 1
    # Flash texts carry unit ids and error messages, which come from people's CSVs.
    for kind, text in st.session_state.get(state.FLASH, {}).get(_page_scope(), []):
        getattr(st, kind, st.info)(inert(text))


# --- the Recognize page's lexicon ---------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=COUNTS_TTL_S, max_entries=8)
def _transcriptions(root: str, token: tuple) -> tuple[tuple[str, ...], str]:
    import hashlib

    from hwocr.ui.recognize import workspace_transcriptions  # lazy: pandas

    entries = workspace_transcriptions(_workspace_at(root))
    return entries, hashlib.sha1("\n".join(entries).encode()).hexdigest()[:16]


@st.cache_resource(show_spinner=False, max_entries=4)
def _lexicon(workspace_digest: str, typed: tuple[str, ...], _workspace_entries: tuple[str, ...]) -> Any:
    from hwocr.ui.recognize import build_lexicon  # lazy: pandas

    # Keyed by the entries' digest, not the workspace's change token: adding a crop
    # changes the token but not the transcriptions, and must not rebuild this or re-read.
    return build_lexicon(_workspace_entries, typed)


def transcription_count(ws: Workspace) -> int:
    """How many distinct transcriptions the workspace's lexicon has (cached like :func:`status`)."""
    return len(_transcriptions(str(ws.root), change_token(ws))[0])


def lexicon(ws: Workspace, *, workspace_names: bool, typed: tuple[str, ...]) -> tuple[Any, tuple]:
    """The Recognize page's lexicon (hwocr.read.Lexicon, or None when there are no
    entries) and a key that changes only when its entries do."""
    entries, digest = _transcriptions(str(ws.root), change_token(ws)) if workspace_names else ((), "")
    if not entries and not typed:
        return None, ()
    return _lexicon(digest, tuple(typed), entries), (digest, tuple(typed))
