"""Every error hwocr raises on purpose.

Each carries a one-line message a person can act on; the CLI prints it as
``hwocr: <message>`` and exits non-zero, the pages show it with ``st.error``. Anything
else escaping is a bug.
"""

from __future__ import annotations


class HwocrError(Exception):
    """Base class: a problem with the input or the environment, explained in one line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Keep messages on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class InputError(HwocrError):
    """A file, argument or value given by the user cannot be used."""

    exit_code = 2


class CsvError(InputError):
    """The CSV cannot be read: encoding, layout, missing columns, size."""


class ImageError(InputError):
    """An image cannot be decoded or is refused (corrupt, empty, too large, not an image)."""


class UnsafeSourceError(InputError):
    """A path or URL would read or write outside the allowed places."""


class DownloadError(HwocrError):
    """An image could not be fetched from its URL."""


class WorkspaceError(HwocrError):
    """The workspace cannot be opened or written (read-only, disk full, corrupt)."""


class ConflictError(HwocrError):
    """Someone else changed this item since it was loaded; reload and try again."""


class ModelError(HwocrError):
    """A model cannot be loaded, saved or used."""


class DatasetError(HwocrError):
    """The class folders cannot serve the request (empty, too small, unreadable)."""


class JobError(HwocrError):
    """A background job cannot be started, found or controlled."""
