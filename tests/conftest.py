"""Shared fixtures: the shared reference data, seeded frames, figure cleanup."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest
import yaml

matplotlib.use("Agg")

import matplotlib.pyplot as plt

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
        pytest.skip(
            f"shared reference data not found at {SHARED} (only present in the project's workspace)"
        )
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


def make_project(root, notebooks=None):
    """A project folder with a small demo config and copies of the shipped notebooks (all by default)."""
    for d in ("configs", "notebooks", "data/raw", "data/interim", "data/processed", "reports"):
        (root / d).mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((REPO / "configs" / "demo-retail.yaml").read_text())
    cfg["data"]["demo"].update(n_customers=1500, n_lines=25000)
    (root / "configs" / "demo.yaml").write_text(yaml.safe_dump(cfg))
    names = notebooks or [p.stem for p in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.py"))]
    for name in names:
        shutil.copy(REPO / "notebooks" / f"{name}.py", root / "notebooks")
    return root


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """One full run of all shipped notebooks on a small demo, shared by the tests that inspect it."""
    from seglab.runner import run_pipeline

    root = make_project(tmp_path_factory.mktemp("proj"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SEGLAB_ROOT", str(root))
    try:
        result = run_pipeline("configs/demo.yaml", sets={"cleaning.returns": "net", "show_rows": 3})
    finally:
        mp.undo()
    return root, result
