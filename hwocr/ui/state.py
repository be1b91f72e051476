"""Every ``st.session_state`` key the pages use, in one place.

Session state holds only a browser tab's work in progress (who is reviewing, which
page of a gallery is open, a message to show after a rerun); everything durable lives
in the workspace. Keys are namespaced by page so two pages never collide, and keys that
belong to one item (a name and its version) are built by the functions below so a new
item starts with fresh widgets.
"""

from __future__ import annotations

# --- the whole session ------------------------------------------------------------------
#: This tab's reviewer name (hwocr.ui.identity): claims, counts and undo belong to it.
REVIEWER = "session.reviewer"
#: The last action's messages per page: {page script hash: [(kind, text), ...]}, kind in
#: success/info/warning/error; shown on every run of that page until its next action's replace them.
FLASH = "session.flash"
#: Counts the runs that showed messages: flashes made in one run belong to one action.
FLASH_SEQ = "session.flash_seq"

# --- Home -------------------------------------------------------------------------------
HOME_DEMO_BUTTON = "home_load_demo"

# --- Import -------------------------------------------------------------------------------
IMPORT_MODE = "import_mode"                  # "upload" or "server"
IMPORT_CSV_UPLOAD = "import_csv_upload"
IMPORT_ZIP_UPLOAD = "import_zip_upload"
IMPORT_CSV_PATH = "import_csv_path"
IMPORT_IMAGES_PATH = "import_images_path"
IMPORT_SEGMENT = "import_segment"            # segment + harvest after fetching
IMPORT_CONNECTIONS = "import_connections"    # downloads in flight, when the CSV names URLs
IMPORT_START = "import_start"
IMPORT_RESULT = "import.result"              # the last run's summary (ImportOutcome)
IMPORT_STOP = "import_stop"                  # shown while an import runs: a click stops it
IMPORT_RUNNING = "import.running"            # set while an import runs; still set next run = it was cut short
IMPORT_REMOVE_DEMO = "import_remove_demo"    # remove the demo data before a real import
HOME_DEMO_REMOVE = "home_remove_demo"        # Home's "Remove the demo data" (kept here with its Import twin)

# --- Review: the queue --------------------------------------------------------------------
REVIEW_VIEW = "review_view"                  # "Queue", "Find" or "Audit"
#: Boxes to accept instead of the canvas's, in image pixels: [[x0, y0, x1, y1, label], ...].
#: Set by tests (the canvas does not run in AppTest); consumed by the next action.
REVIEW_BOXES_OVERRIDE = "review.boxes_override"
#: What the canvas starts from when not the name's current boxes: {"for": [id, version],
#: "boxes": [[x0, y0, x1, y1, label], ...]} (set by Reset and by "Letters from the transcription").
REVIEW_CANVAS_START = "review.canvas_start"
#: Bumped to remount the canvas (Reset), since the canvas keeps its own drawing.
REVIEW_CANVAS_NONCE = "review.canvas_nonce"
#: The Review page's message line: (kind, text), shown until the next action replaces it.
REVIEW_STATUS = "review.status"
#: Accept asked once about boxes that differ from the transcription: {"for": [id, version],
#: "letters": box letters, "text": transcription}; the same Accept again goes ahead.
REVIEW_CONFIRM = "review.confirm"
#: The boxes the editor showed in the last run: {"for": [id, version], "boxes": [[x0, y0, x1, y1, label], ...]};
#: the action callbacks (which run before the page) read them.
REVIEW_BOXES_NOW = "review.boxes_now"
#: The reviewer released their name and holds none until they ask for the next.
REVIEW_PAUSED = "review.paused"
REVIEW_RENAME = "review_rename"              # the "your name" text field
REVIEW_RENAME_SAVE = "review_rename_save"
REVIEW_RELEASE = "review_release"
REVIEW_RESUME = "review_resume"
REVIEW_PROPOSE = "review_propose"            # let the model read the boxes
REVIEW_ACCEPT_ANYWAY = "review_accept_anyway"
REVIEW_FIX_TEXT = "review_fix_text"
REVIEW_SEARCH = "review_search"
REVIEW_HISTORY_STATUS = "review_history_status"
REVIEW_HISTORY_WHO = "review_history_who"
REVIEW_ACCEPT = "review_accept"
REVIEW_SKIP = "review_skip"
REVIEW_REJECT = "review_reject"
REVIEW_REJECT_UNREADABLE = "review_reject_unreadable"
REVIEW_RESET = "review_reset"
REVIEW_UNDO = "review_undo"
REVIEW_LETTERS_FROM_TEXT = "review_letters_from_text"

# --- Review: the audit of auto-accepted names ---------------------------------------------
AUDIT_PAGE = "audit_page"
AUDIT_STATUS = "audit_status"
AUDIT_ORDER = "audit_order"
AUDIT_PER_PAGE = 24

# --- Dataset ---------------------------------------------------------------------------
DATASET_CLASS = "dataset_class"
DATASET_PAGE = "dataset_page"
DATASET_SORT = "dataset_sort"                # "Oldest first" or "Model disagreement"
DATASET_RELABEL_TO = "dataset_relabel_to"
DATASET_DELETE = "dataset_delete"
DATASET_RELABEL = "dataset_relabel"
DATASET_SELECT_PAGE = "dataset_select_page"
DATASET_CLEAR_SELECTION = "dataset_clear_selection"
DATASET_EXPORT_FORMAT = "dataset_export_format"
DATASET_EXPORT = "dataset_export"
DATASET_EXPORT_RESULT = "dataset.export_result"  # (path, info) of the last export
DATASET_PER_PAGE = 60


def review_canvas_key(name_id: int, version: int, nonce: int) -> str:
    """A new name, a new version or a Reset gives a new key, which remounts the canvas."""
    return f"review_canvas_{name_id}_{version}_{nonce}"


def review_text_key(name_id: int, version: int) -> str:
    return f"review_text_{name_id}_{version}"


def review_label_key(name_id: int, version: int) -> str:
    return f"review_new_label_{name_id}_{version}"


def review_reason_key(name_id: int, version: int) -> str:
    return f"review_reject_reason_{name_id}_{version}"


def review_open_key(where: str, name_id: int) -> str:
    """The "Open" button of one name in the search results or the history."""
    return f"review_open_{where}_{name_id}"


def audit_send_back_key(name_id: int) -> str:
    return f"audit_send_back_{name_id}"


def dataset_select_key(crop_id: int) -> str:
    return f"dataset_sel_{crop_id}"


def dataset_crop_id(key: str) -> int | None:
    """The crop id of a gallery checkbox key, or None for any other key."""
    prefix = "dataset_sel_"
    if isinstance(key, str) and key.startswith(prefix) and key[len(prefix):].isdigit():
        return int(key[len(prefix):])
    return None

# --- Train --------------------------------------------------------------------------------
TRAIN_EPOCHS = "train_epochs"
TRAIN_FROM_ACTIVE = "train_from_active"      # fine-tune the active model (default on)
TRAIN_ACTIVATE_IF_BETTER = "train_activate_if_better"
TRAIN_START = "train_start"
TRAIN_CANCEL = "train_cancel"
TRAIN_STOP_NOW = "train_stop_now"            # kill the job's process after a cancel went unanswered
TRAIN_VERSION = "train_version"              # the version whose details are shown
TRAIN_NEWEST_SEEN = "train.newest_seen"      # newest version name at the last run: a new one gets shown
TRAIN_ACTIVATE = "train_activate"
TRAIN_ROLLBACK = "train_rollback"
TRAIN_CHECK_GPU = "train_check_gpu"

# --- Recognize ------------------------------------------------------------------------------
RECOGNIZE_SOURCE = "recognize_source"        # "draw" or "upload"
RECOGNIZE_CHARSET = "recognize_charset"      # a name of hwocr.config.CHARSETS
RECOGNIZE_STROKE = "recognize_stroke"        # pen width on the canvas, in pixels
RECOGNIZE_CANVAS = "recognize_canvas"
RECOGNIZE_UPLOAD = "recognize_upload"
RECOGNIZE_CLEAN = "recognize_clean"          # clean the upload as a form's name: a key of recognize.CLEAN_CHOICES
RECOGNIZE_SNAP_WORKSPACE = "recognize_snap_workspace"  # lexicon: the workspace's transcriptions
RECOGNIZE_LEXICON_TEXT = "recognize_lexicon_text"      # lexicon: entries typed by the person, one a line
RECOGNIZE_LEXICON_OPEN = "recognize_lexicon_open"      # the lexicon's expander
#: An image (PNG bytes or an array) to read as if it had been drawn on the canvas. Set by
#: tests (the canvas does not run in AppTest); kept until removed, like a drawing.
RECOGNIZE_DRAWING_OVERRIDE = "recognize.drawing_override"
#: The last reading of this tab (hwocr.ui.recognize.ReadOutcome): a rerun that changes
#: nothing it depends on (a click in the teach form) reuses it instead of reading again.
RECOGNIZE_LAST = "recognize.last"
#: {reading key: {character index: label}} of the crops this tab added, so a character
#: of a reading is added at most once whatever reruns.
RECOGNIZE_TAUGHT = "recognize.taught"
#: A message for the teach form after its button's callback: (kind, text).
RECOGNIZE_NOTICE = "recognize.notice"
RECOGNIZE_TEACH = "recognize_teach"


def recognize_char_key(reading_key: str) -> str:
    """A new reading gets a fresh character selector (its characters are others)."""
    return f"recognize_char_{reading_key}"


def recognize_label_key(reading_key: str, index: int) -> str:
    """The right label of one character of one reading."""
    return f"recognize_label_{reading_key}_{index}"
