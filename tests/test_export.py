"""Tests of seglab.export: atomic assignment files, DuckDB upsert by run, call list."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from seglab.errors import InputDataError
from seglab.export import action_list, export_assignments
from seglab.io import write_frame


def _assignments(n: int = 5, shift: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "segment_id": [(i + shift) % 3 for i in range(n)],
            "segment": [f"S{(i + shift) % 3}" for i in range(n)],
        }
    )


def test_export_writes_files_and_duckdb(tmp_path):
    db = tmp_path / "db" / "seg.duckdb"
    paths = export_assignments(_assignments(), "run-1", tmp_path / "out", duckdb_path=db)
    assert set(paths) == {"csv", "parquet", "duckdb"}
    csv = pd.read_csv(paths["csv"])
    pq = pd.read_parquet(paths["parquet"])
    assert (csv["run_id"] == "run-1").all() and len(csv) == 5
    assert pq["segment_id"].tolist() == _assignments()["segment_id"].tolist()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_other_run_into_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    export_assignments(_assignments(), "run-1", out)
    before = (out / "segment_assignments.csv").read_bytes()
    with pytest.raises(FileExistsError, match="belongs to another run .*run-1.*own folder"):
        export_assignments(_assignments(shift=1), "run-2", out)
    assert (out / "segment_assignments.csv").read_bytes() == before
    # the same run may re-export (replace)
    export_assignments(_assignments(shift=1), "run-1", out)
    assert pd.read_csv(out / "segment_assignments.csv")["segment_id"].iloc[0] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "segment_assignments.csv",
        "segment_assignments.parquet",
    ]


def test_file_without_run_id_is_refused(tmp_path):
    _assignments().to_csv(tmp_path / "segment_assignments.csv", index=False)
    with pytest.raises(FileExistsError, match="no run_id column"):
        export_assignments(_assignments(), "run-1", tmp_path)


def test_duckdb_keeps_other_runs_and_replaces_same_run(tmp_path):
    db = tmp_path / "seg.duckdb"
    export_assignments(_assignments(5), "run-1", tmp_path / "r1", duckdb_path=db)
    export_assignments(_assignments(3), "run-2", tmp_path / "r2", duckdb_path=db)
    export_assignments(_assignments(4), "run-2", tmp_path / "r2", duckdb_path=db)
    with duckdb.connect(str(db)) as con:
        counts = dict(
            con.execute(
                "SELECT run_id, count(*) FROM segment_assignments GROUP BY run_id"
            ).fetchall()
        )
    assert counts == {"run-1": 5, "run-2": 4}


def test_export_rejects_duplicates_and_conflicting_run_id(tmp_path):
    dup = pd.concat([_assignments(2), _assignments(1)])
    with pytest.raises(InputDataError, match="1 duplicated"):
        export_assignments(dup, "r", tmp_path)
    with pytest.raises(InputDataError, match="run_id"):
        export_assignments(_assignments().assign(run_id="x"), "r", tmp_path)
    assert not list(tmp_path.iterdir())


def test_export_accepts_customer_id_index(tmp_path):
    paths = export_assignments(_assignments().set_index("customer_id"), "r", tmp_path)
    assert "customer_id" in pd.read_parquet(paths["parquet"]).columns


def test_action_list_ranks_by_likelihood_times_value():
    table = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "segment_id": [1, 1, 1, 2, 0],
            "likelihood": [0.9, 0.5, 0.2, 0.4, 0.9],
            "monetary": [100.0, 1000.0, 50.0, 10.0, 0.0],
        }
    )
    actions = {1: "Call with VIP offer", 2: "Send win-back coupon"}
    with pytest.raises(InputDataError, match="segment\\(s\\) \\[0\\]"):
        action_list(table, actions)
    calls = action_list(table, actions, missing="drop")
    seg1 = calls[calls["segment_id"] == 1]
    assert seg1["customer_id"].tolist() == ["b", "a", "c"]
    assert seg1["rank"].tolist() == [1, 2, 3]
    assert (seg1["action"] == "Call with VIP offer").all()
    top = action_list(table, actions, top_n=1, missing="drop")
    assert top["customer_id"].tolist() == ["b", "d"]
    by_score = action_list(table, actions, value_col=None, missing="drop")
    assert by_score[by_score["segment_id"] == 1]["customer_id"].tolist() == ["a", "b", "c"]


def _mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array(["C1", "C2", "C3", "C4"], dtype="str"),
            "segment_id": [1, 2, 0, 10],
            "segment": pd.array(["Loyal", None, "Prospects (no purchase)", ""], dtype="str"),
            "tier": pd.Categorical(["gold", None, "regular", "gold"]),
            "stage": pd.array(["active", "new", pd.NA, "churned"], dtype="string"),
            "likelihood": [0.1234567890123, np.nan, 0.0, 1e-05],
            "monetary": [1e16, -0.5, 3.0, 123456.75],
            "member": [True, False, True, False],
        }
    )


def test_write_frame_csv_reads_back_as_pandas_csv(tmp_path):
    df = _mixed_frame()
    fast = write_frame(df, tmp_path / "fast.csv")
    df.to_csv(tmp_path / "plain.csv", index=False)
    back, plain = pd.read_csv(fast), pd.read_csv(tmp_path / "plain.csv")
    pd.testing.assert_frame_equal(back, plain)
    # text needs no quotes here: header and text fields are written as pandas writes them
    lines = fast.read_text().splitlines()
    assert lines[0] == ",".join(df.columns)
    assert lines[1].startswith("C1,1,Loyal,gold,active,") and lines[1].endswith(",True")
    # floats in shortest form (pandas: 0.0 and 3.0), the documented difference
    assert lines[3] == "C3,0,Prospects (no purchase),regular,,0,3,True"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_write_frame_csv_quotes_text_that_needs_it(tmp_path):
    df = _mixed_frame().assign(segment=["Loyal, big", 'say "hi"', "two\nlines", None])
    fast = write_frame(df, tmp_path / "fast.csv")
    df.to_csv(tmp_path / "plain.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(fast), pd.read_csv(tmp_path / "plain.csv"))
    assert fast.read_text().startswith('"customer_id","segment_id"')  # then all text is quoted


def test_write_frame_csv_leaves_other_types_to_pandas(tmp_path):
    df = _mixed_frame().assign(first_purchase=pd.to_datetime(["2024-01-02"] * 4))
    write_frame(df, tmp_path / "fast.csv")
    df.to_csv(tmp_path / "plain.csv", index=False)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


def test_export_csv_matches_parquet(tmp_path):
    a = _assignments(6).assign(likelihood=np.linspace(0, 1, 6), tier=pd.Categorical(list("abcabc")))
    paths = export_assignments(a, "run-1", tmp_path)
    csv, pq = pd.read_csv(paths["csv"]), pd.read_parquet(paths["parquet"])
    pd.testing.assert_frame_equal(csv, pq.astype({"tier": str}), check_dtype=False)


def test_action_list_ignores_other_columns_and_leaves_table_alone():
    table = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "segment_id": [1, 1, 2],
            "likelihood": [0.5, 0.5, 0.1],
            "monetary": [10.0, 10.0, 1.0],
        }
    )
    wide = table.assign(city=["x", "y", "z"], age=[30, 40, 50])
    before = wide.copy()
    calls = action_list(wide, {1: "call", 2: "mail"})
    pd.testing.assert_frame_equal(calls, action_list(table, {1: "call", 2: "mail"}))
    pd.testing.assert_frame_equal(wide, before)
    assert calls.columns.tolist() == [
        "segment_id",
        "rank",
        "customer_id",
        "action",
        "likelihood",
        "monetary",
        "priority",
    ]
    assert calls["customer_id"].tolist() == ["a", "b", "c"]  # ties broken by customer id
