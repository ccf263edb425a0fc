"""Hand segments to the front line: assignment files, a DuckDB table and a ranked call list."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from seglab.errors import InputDataError
from seglab.io import write_frame

__all__ = ["ASSIGNMENTS_NAME", "action_list", "export_assignments"]

#: Base name of the assignment files and of the DuckDB table.
ASSIGNMENTS_NAME = "segment_assignments"


def _existing_run_ids(path: Path) -> set[str] | None:
    """Run ids found in an existing assignment file (None when the file has no run_id column)."""
    try:
        if path.suffix == ".parquet":
            if "run_id" not in pq.read_schema(path).names:
                return None
            ids = pq.read_table(path, columns=["run_id"]).column(0)
            return set(ids.cast(pa.string()).to_pylist())
        head = pd.read_csv(path, nrows=0).columns
        if "run_id" not in head:
            return None
        convert = pacsv.ConvertOptions(
            include_columns=["run_id"], column_types={"run_id": pa.string()}
        )
        return set(pacsv.read_csv(path, convert_options=convert).column(0).to_pylist())
    except Exception as exc:  # unreadable file: refuse rather than clobber it
        raise FileExistsError(
            f"{path} exists and cannot be read to check its run_id ({exc}); "
            "fix: move it away or export into another folder"
        ) from exc


def export_assignments(
    assignments: pd.DataFrame,
    run_id: str,
    out_dir: str | Path,
    duckdb_path: str | Path | None = None,
) -> dict[str, Path]:
    """Write segment assignments as CSV and Parquet, and upsert them into a DuckDB table.

    Files are ``<out_dir>/segment_assignments.csv`` (by :func:`seglab.io.write_frame`) and
    ``.parquet``, written atomically (a temporary file beside the target,
    renamed into place). A
    folder holds **one run**: when a file there already belongs to another run
    (its ``run_id`` column differs, or it has none) the export is refused with
    an error, before anything is written; re-exporting the same ``run_id``
    replaces the files. Keep one folder per run (e.g. ``data/processed/<run_id>``)
    so that every run's files are kept; the DuckDB table is where runs are
    accumulated.

    In DuckDB, table ``segment_assignments`` gains the rows of this run: rows
    of the same ``run_id`` are replaced (in one transaction), rows of other
    runs are kept.

    Parameters
    ----------
    assignments : DataFrame
        One row per customer (``customer_id`` column or index) with the segment
        columns to hand over. A ``run_id`` column is added (or must equal ``run_id``).
    run_id : str
        Identifier of the run that produced the assignments.
    out_dir : str or Path
        Folder of the files (created if needed).
    duckdb_path : str or Path, optional
        DuckDB database file to upsert into; skipped when None.

    Returns
    -------
    dict
        ``{"csv": Path, "parquet": Path}`` plus ``"duckdb": Path`` when written.

    Raises
    ------
    FileExistsError
        When ``out_dir`` holds assignment files of another run.
    """
    run_id = str(run_id)
    if not run_id:
        raise ValueError("run_id must be a non-empty string")
    df = assignments.copy()
    if "customer_id" not in df.columns:
        if df.index.name != "customer_id":
            raise InputDataError(
                f"assignments need a `customer_id` column or index ({len(df)} rows; columns: "
                f"{', '.join(map(str, df.columns))})"
            )
        df = df.reset_index()
    dup = int(df["customer_id"].duplicated().sum())
    if dup:
        raise InputDataError(
            f"`customer_id` has {dup} duplicated values in {len(df)} rows; each customer "
            "belongs to exactly one segment. Fix: deduplicate before exporting"
        )
    if "run_id" in df.columns:
        other = sorted(set(df["run_id"].astype(str)) - {run_id})
        if other:
            raise InputDataError(
                f"assignments carry run_id(s) {other} but run_id={run_id!r} was passed"
            )
    df["run_id"] = run_id
    df = df[["run_id", *[c for c in df.columns if c != "run_id"]]]

    out_dir = Path(out_dir)
    paths = {ext: out_dir / f"{ASSIGNMENTS_NAME}.{ext}" for ext in ("csv", "parquet")}
    for path in paths.values():
        if path.exists():
            found = _existing_run_ids(path)
            if found != {run_id}:
                what = "no run_id column" if found is None else f"run_id {', '.join(sorted(found))}"
                raise FileExistsError(
                    f"{path} belongs to another run ({what}); refusing to overwrite it with run "
                    f"{run_id!r}. Fix: export each run into its own folder (e.g. "
                    f"{out_dir / run_id}) or remove the old files"
                )
    written = {"csv": write_frame(df, paths["csv"]), "parquet": write_frame(df, paths["parquet"])}

    if duckdb_path is not None:
        db = Path(duckdb_path)
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db))
        try:
            con.register("_new_rows", df)
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {ASSIGNMENTS_NAME} AS SELECT * FROM _new_rows LIMIT 0"
            )
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {ASSIGNMENTS_NAME} WHERE run_id = ?", [run_id])
                con.execute(f"INSERT INTO {ASSIGNMENTS_NAME} BY NAME SELECT * FROM _new_rows")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
        written["duckdb"] = db
    return written


def action_list(
    table: pd.DataFrame,
    segment_actions: Mapping[int, str],
    score_col: str = "likelihood",
    value_col: str | None = "monetary",
    segment_col: str = "segment_id",
    top_n: int | None = None,
    missing: Literal["error", "drop"] = "error",
) -> pd.DataFrame:
    """Ranked call list per segment: who to contact first and what to offer.

    Customers are ranked within their segment by ``priority = score x value``
    (value clipped at 0; the score alone when ``value_col`` is None), highest first.

    Parameters
    ----------
    table : DataFrame
        One row per customer (``customer_id`` column or index) with
        ``segment_col``, ``score_col`` and ``value_col``.
    segment_actions : dict
        Segment id -> suggested action (``{1: "Invite to VIP preview", ...}``).
    score_col : str, default "likelihood"
        Likelihood to buy (e.g. ``LikelihoodModel.predict_proba``).
    value_col : str or None, default "monetary"
        Customer value multiplying the score.
    segment_col : str, default "segment_id"
    top_n : int, optional
        Keep the first ``top_n`` customers of each segment.
    missing : {"error", "drop"}, default "error"
        What to do with customers of a segment that has no action (e.g.
        prospects, segment 0): raise, or leave them off the list.

    Returns
    -------
    DataFrame
        ``segment_col``, ``rank`` (1 = call first), ``customer_id``, ``action``,
        ``score_col``, ``value_col``, ``priority``; ordered by segment then rank.
    """
    df = table.reset_index() if "customer_id" not in table.columns else table
    need = ["customer_id", segment_col, score_col] + ([value_col] if value_col else [])
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise InputDataError(
            f"table lacks column(s) {', '.join(absent)} ({len(df)} rows); fix: add the likelihood "
            "score (evaluation.likelihood_to_buy) and segment ids first"
        )
    df = df[list(dict.fromkeys(need))].copy()  # only what the list needs: sorting is per column
    df["action"] = df[segment_col].map(dict(segment_actions))
    no_action = df["action"].isna()
    if no_action.any():
        if missing == "error":
            segs = sorted(df.loc[no_action, segment_col].unique().tolist())
            raise InputDataError(
                f"{int(no_action.sum())} customers are in segment(s) {segs} with no action in "
                "segment_actions; fix: add an action for them or pass missing='drop'"
            )
        df = df[~no_action]
    value = df[value_col].fillna(0).clip(lower=0) if value_col else 1.0
    df["priority"] = df[score_col].fillna(0) * value
    df = df.sort_values([segment_col, "priority", "customer_id"], ascending=[True, False, True])
    df["rank"] = df.groupby(segment_col).cumcount() + 1
    if top_n is not None:
        df = df[df["rank"] <= top_n]
    cols = [segment_col, "rank", "customer_id", "action", score_col]
    cols += [value_col] if value_col else []
    return df[[*cols, "priority"]].reset_index(drop=True)
