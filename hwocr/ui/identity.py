"""Who is reviewing: a name the person gives once, kept where a browser keeps it.

Claims, "done" counts and the undo history belong to the reviewer's name, stored in the
workspace, so a reload, a second tab or a browser restart is the same person with the
same item and the same undo stack. The name is looked for, in order, in the URL
(``?reviewer=…``, so a bookmark carries it), this tab's session, a cookie the page sets
when the person names themselves, and finally the user the server runs as.
"""

from __future__ import annotations

import getpass
import re

import streamlit as st

from hwocr.ui import state

QUERY_PARAM = "reviewer"
COOKIE = "hwocr_reviewer"
MAX_LENGTH = 40
_ALLOWED = re.compile(r"[^\w .@+-]+")
_FALLBACK = "reviewer"


def clean_name(text: object) -> str | None:
    """A reviewer name as stored: spaces collapsed, odd characters dropped, at most
    ``MAX_LENGTH`` characters; None when nothing usable is left."""
    if not isinstance(text, str):
        return None
    name = " ".join(_ALLOWED.sub("", text).split())[:MAX_LENGTH].strip(" .")
    return name or None


def os_user() -> str:
    """The user the server runs as: the name a person gets before they give their own."""
    try:
        return clean_name(getpass.getuser()) or _FALLBACK
    except (KeyError, OSError):  # no passwd entry in some containers
        return _FALLBACK


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (AppTest, a bare script run)
        return None


def reviewer() -> str:
    """This person's reviewer name (see the module docstring for where it comes from);
    also written back to the URL so that a reload keeps it."""
    name = (clean_name(st.query_params.get(QUERY_PARAM))
            or st.session_state.get(state.REVIEWER)
            or clean_name(_cookie())
            or os_user())
    st.session_state[state.REVIEWER] = name
    if st.query_params.get(QUERY_PARAM) != name:
        st.query_params[QUERY_PARAM] = name
    return name


def rename(new_name: object) -> str | None:
    """Switch this tab to another reviewer name (URL and session; the cookie follows when
    the page renders :func:`remember_in_browser`). Returns the cleaned name, or None."""
    name = clean_name(new_name)
    if name is None:
        return None
    st.session_state[state.REVIEWER] = name
    st.query_params[QUERY_PARAM] = name
    return name


_COOKIE_JS = f"""
export default function (component) {{
  const name = component.data && component.data.name;
  if (name) {{
    document.cookie = "{COOKIE}=" + encodeURIComponent(name) +
      "; path=/; max-age=31536000; SameSite=Strict";
  }}
}}
"""


@st.cache_resource(show_spinner=False)
def _cookie_writer():
    return st.components.v2.component("hwocr.reviewer_cookie", js=_COOKIE_JS, html="<span></span>")


def remember_in_browser(name: str) -> None:
    """Keep the name in a cookie, so a browser restart (or a page opened without
    ``?reviewer=``) comes back as the same reviewer. Renders nothing visible."""
    _cookie_writer()(data={"name": name}, key="reviewer_cookie")
