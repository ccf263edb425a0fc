"""Shared fixtures: the shared reference data, seeded frames, figure cleanup."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo() -> Path:
    """The project root."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repo; tests using it skip when it is absent (a user's clone)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED} (only present in the project's workspace)")
    return SHARED


@pytest.fixture(scope="session")
def online_retail_csv(shared_data: Path) -> Path:
    path = shared_data / "online_retail_uci" / "online_retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder (configs/, notebooks/, data/) used as SEGLAB_ROOT."""
    for d in ("configs", "notebooks", "data/raw", "data/interim", "data/processed", "reports"):
        (tmp_path / d).mkdir(parents=True)
    monkeypatch.setenv("SEGLAB_ROOT", str(tmp_path))
    return tmp_path


os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
