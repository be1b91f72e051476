"""Shared fixtures. Tests never touch the default workspace: each gets a temporary one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("HWOCR_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
NAMES_DIR = SHARED_DATA / "names"
UNIPEN_DIR = SHARED_DATA / "unipen_uppercase"
MNIST_DIR = SHARED_DATA / "mnist_digits"


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path_factory, monkeypatch):
    """Point HWOCR_WORKSPACE at a fresh folder so nothing can write into ./data."""
    ws = tmp_path_factory.mktemp("workspace")
    monkeypatch.setenv("HWOCR_WORKSPACE", str(ws))
    yield ws


@pytest.fixture
def workspace_dir(_isolated_workspace) -> Path:
    return _isolated_workspace


@pytest.fixture(scope="session")
def names_dir() -> Path:
    if not (NAMES_DIR / "names.csv").is_file():
        pytest.skip(f"real name images not available at {NAMES_DIR}")
    return NAMES_DIR


@pytest.fixture(scope="session")
def unipen_dir() -> Path:
    if not UNIPEN_DIR.is_dir():
        pytest.skip(f"UNIPEN data not available at {UNIPEN_DIR}")
    return UNIPEN_DIR


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not MNIST_DIR.is_dir():
        pytest.skip(f"MNIST digits not available at {MNIST_DIR}")
    return MNIST_DIR
