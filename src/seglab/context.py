"""The run context a notebook opens: validated config, run folders, results and hand-off files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from seglab.config import Config, load_config
from seglab.errors import InputDataError
from seglab.io import write_frame, write_json
from seglab.paths import ProjectPaths, RunPaths, project_root


def set_result(results: dict, key: str, value: Any) -> dict:
    """Set a dotted ``key`` (``"data.rows_read"``) in a nested results dict, in place."""
    node = results
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return results


@dataclass
class RunContext:
    """What a notebook needs to know about its run.

    Notebooks hand results to each other through files in the run folders, never through
    kernel state, so each notebook can be run alone on the outputs of the ones before it.
    """

    config: Config
    project: ProjectPaths
    paths: RunPaths

    @classmethod
    def open(cls, config: str | Path, run_id: str = "", report_root: str | Path = "") -> RunContext:
        """Open the run of a notebook.

        Parameters
        ----------
        config : str or Path
            Config file, relative to the project root unless absolute.
        run_id : str
            Set by ``seglab run``. Empty in an interactive session: the run is then
            ``lab-<config name>``, shared by the notebooks you open in JupyterLab.
        report_root : str or Path
            Folder holding run folders (default ``reports/``).
        """
        project = ProjectPaths(project_root())
        cfg = load_config(project.resolve(config))
        run_id = run_id or f"lab-{cfg.name}"
        root = project.resolve(report_root) if report_root else None
        return cls(cfg, project, RunPaths.create(project, run_id, root))

    @property
    def run_id(self) -> str:
        return self.paths.run_id

    def results(self) -> dict:
        """The run's ``results.json`` so far."""
        if self.paths.results.is_file():
            return json.loads(self.paths.results.read_text(encoding="utf-8"))
        return {}

    def record(self, key: str, value: Any) -> None:
        """Record a key figure in ``results.json`` (dotted key, e.g. ``data.rows_kept``)."""
        results = set_result(self.results(), key, value)
        write_json(self.paths.results, results)

    def save(self, df: pd.DataFrame, name: str, stage: str = "interim") -> Path:
        """Write a hand-off table of this run (Parquet, atomic)."""
        return write_frame(df, self._file(name, stage))

    def _file(self, name: str, stage: str) -> Path:
        folder = self.paths.processed if stage == "processed" else self.paths.interim
        return folder / f"{name}.parquet"

    def path(
        self,
        name: str,
        stage: str = "interim",
        producer: str = "an earlier notebook",
        optional: bool = False,
    ) -> Path | None:
        """The Parquet file of a hand-off table, for engines that read it themselves.

        With ``optional=True`` a table that was never written (no customer table, no survey)
        gives None instead of an error.
        """
        path = self._file(name, stage)
        if not path.is_file():
            if optional:
                return None
            raise InputDataError(
                f"{path} does not exist: run {producer} first for run `{self.run_id}` "
                f"(e.g. `seglab run --config <config> --only {producer}`)"
            )
        return path

    def load(
        self,
        name: str,
        stage: str = "interim",
        producer: str = "an earlier notebook",
        optional: bool = False,
        columns: list[str] | None = None,
    ) -> pd.DataFrame | None:
        """Read a hand-off table written by an earlier notebook of the same run.

        With ``optional=True`` a table that was never written (no customer table, no survey)
        gives None instead of an error; ``columns`` reads only those columns.
        """
        path = self.path(name, stage, producer, optional)
        return None if path is None else pd.read_parquet(path, columns=columns)

    def customer_ids(self) -> pd.Series:
        """Every customer of the run: the customer table when there is one, else the buyers."""
        customers = self.load("customers", optional=True)
        if customers is not None:
            return customers["customer_id"]
        tx = self.load("transactions", producer="02-data-collection", columns=["customer_id"])
        return pd.Series(tx["customer_id"].unique(), name="customer_id")

    def load_truth(self) -> pd.DataFrame | None:
        """Planted segments of demo data (``data.truth``), or None. Never an input to fitting."""
        src = self.config.data.truth
        if src is None:
            return None
        from seglab.intake import normalise_ids, read_source

        raw, _ = read_source(src, self.project.root)
        return pd.DataFrame(
            {"customer_id": normalise_ids(raw[src.id_column]), "segment": raw[src.segment_column]}
        )

    def segment_names(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Segment id, name and suggested action: from notebook 06 when it ran, else generic names."""
        named = self.load("segment_names", stage="processed", optional=True)
        if named is not None:
            return named
        named = segments.drop_duplicates("segment_id")[["segment_id", "segment"]].sort_values(
            "segment_id"
        )
        return named.assign(
            action="review this segment with the team (run 06-profiling for a suggestion)"
        )
