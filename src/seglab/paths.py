"""Project and run paths: the one place that builds file locations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_MARKERS = ("configs", "notebooks")


def project_root(start: str | Path | None = None) -> Path:
    """Find the project folder (holding ``configs/`` and ``notebooks/``).

    ``SEGLAB_ROOT`` wins when set; otherwise search upward from ``start`` (default: the
    current directory), so that notebooks opened from ``notebooks/`` find the same root
    as the CLI run from the top folder.
    """
    env = os.environ.get("SEGLAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if all((cand / m).is_dir() for m in _MARKERS):
            return cand
    return here


@dataclass(frozen=True)
class ProjectPaths:
    """Standard folders of a seglab project (cookiecutter-data-science layout)."""

    root: Path

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def raw(self) -> Path:
        """Immutable inputs: read, never written (except by the demo generator, once)."""
        return self.root / "data" / "raw"

    @property
    def interim(self) -> Path:
        return self.root / "data" / "interim"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def resolve(self, path: str | Path) -> Path:
        """A path from a config, relative to the project root unless absolute."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)


@dataclass(frozen=True)
class RunPaths:
    """Folders of one run: its report folder and its intermediate and processed data."""

    run_id: str
    report: Path
    interim: Path
    processed: Path

    @classmethod
    def create(
        cls, project: ProjectPaths, run_id: str, report_root: Path | None = None
    ) -> RunPaths:
        rp = cls(
            run_id=run_id,
            report=(report_root or project.reports) / run_id,
            interim=project.interim / run_id,
            processed=project.processed / run_id,
        )
        for d in (rp.report, rp.interim, rp.processed):
            d.mkdir(parents=True, exist_ok=True)
        return rp

    @property
    def results(self) -> Path:
        return self.report / "results.json"

    @property
    def manifest(self) -> Path:
        return self.report / "manifest.json"

    @property
    def config(self) -> Path:
        return self.report / "config.yaml"
