"""The app served by a real Streamlit server on a temporary workspace, driven by a real
headless Chromium through Playwright.

Skips cleanly when Chromium or Playwright is not installed. Screenshots go to
``tests/artifacts/`` (gitignored) so a person can look at each page after a run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.browser import streamlit_server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("HWOCR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def e2e_workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e_workspace")


@pytest.fixture(scope="session")
def app_url(e2e_workspace, tmp_path_factory):
    """Start ``streamlit run app.py`` on a free port with HWOCR_WORKSPACE set; yield its URL."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")
    log = tmp_path_factory.mktemp("e2e_server") / "streamlit.log"
    env = dict(os.environ, HWOCR_WORKSPACE=str(e2e_workspace), PYTHONUNBUFFERED="1")
    try:
        with streamlit_server("app.py", cwd=REPO, env=env, log=log) as url:
            yield url
    finally:
        # Keep the server's log next to the screenshots: the first place to look after a failure.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if log.exists():
            shutil.copy(log, ARTIFACTS / "streamlit.log")


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
