"""Customer table: engine path vs pandas reference, definitions, inputs, B2B, UCI oracle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from seglab.errors import InputDataError
from seglab.features import (
    BASE_COLUMNS,
    CustomerTableSpec,
    attach,
    build_customer_table,
    build_customer_table_pandas,
    customer_table_expr,
)

# warnings raised inside ibis 12 about duckdb 2.0 and pandas 3 APIs, not by seglab
pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option"),
]

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
UCI = SHARED / "online_retail_uci" / "online_retail.csv.gz"


def make_transactions(seed: int = 7, n_customers: int = 120, n_orders: int = 700) -> pd.DataFrame:
    """Synthetic cleaned transactions: multi-line orders, returns, B2B ids, gaps in categories."""
    rng = np.random.default_rng(seed)
    order_cust = rng.integers(0, n_customers, n_orders)
    order_ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        rng.integers(0, 400 * 86400, n_orders), unit="s"
    )
    lines = rng.integers(1, 5, n_orders)
    idx = np.repeat(np.arange(n_orders), lines)
    n = len(idx)
    qty = rng.integers(1, 6, n).astype("float64")
    is_ret = rng.random(n) < 0.06
    # a few whole return orders (cancellations) as well as return lines inside orders
    is_ret |= np.isin(idx, rng.choice(n_orders, 25, replace=False))
    qty[is_ret] *= -1
    price = np.round(rng.uniform(0.5, 40, n), 2)
    cat = rng.choice(np.array(["Home & Garden", "toys", "Toys", "books", "food"], dtype=object), n)
    cat[rng.random(n) < 0.05] = None
    tx = pd.DataFrame(
        {
            "customer_id": pd.array([f"C{c:04d}" for c in order_cust[idx]], dtype="str"),
            "order_id": pd.array([f"O{o:05d}" for o in idx], dtype="str"),
            "timestamp": order_ts[idx].astype("datetime64[us]")
            + pd.to_timedelta(rng.integers(0, 3, n), unit="s"),
            "quantity": qty,
            "unit_price": price,
            "amount": qty * price,
            "is_return": is_ret,
            "category": pd.array(cat, dtype="str"),
            "channel": pd.array(rng.choice(["web", "store", "app"], n_orders)[idx], dtype="str"),
            "device": pd.array(rng.choice(["mobile", "desktop"], n), dtype="str"),
        }
    )
    tx["account_id"] = pd.array([f"A{int(c[1:]) // 4:03d}" for c in tx["customer_id"]], dtype="str")
    tx["contact_id"] = tx["customer_id"]
    return tx


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return make_transactions()


@pytest.fixture(scope="module")
def customers(tx) -> pd.DataFrame:
    ids = sorted(set(tx["customer_id"])) + ["P0001", "P0002"]  # two prospects
    return pd.DataFrame(
        {
            "customer_id": ids,
            "region": ["north" if i % 2 else "south" for i in range(len(ids))],
            "signup_date": pd.Timestamp("2022-06-01") + pd.to_timedelta(np.arange(len(ids)), "D"),
        }
    )


def assert_tables_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Exact equality for ids, counts, flags and dates; 1e-9 relative for floats."""
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    assert (a.dtypes == b.dtypes).all(), (a.dtypes[a.dtypes != b.dtypes], b.dtypes)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x):
            assert (x.isna() == y.isna()).all(), col
            np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=1e-9, atol=0, err_msg=col)
        else:
            assert x.equals(y), col


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"monetary": "gross"},
        {"window": 180},
        {"window": ("2023-03-01", "2023-12-01")},
        {"window": ("2023-03-01", None), "reference_date": "2024-01-20"},
        {"reference_date": "2023-10-15"},
        {"max_categories": 2},
        {"level": "account"},
        {"category_col": None, "channel_col": None, "device_col": None},
    ],
    ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default",
)
def test_engine_matches_pandas_reference(tx, kwargs):
    engine = build_customer_table(tx, **kwargs)
    reference = build_customer_table_pandas(tx, **kwargs)
    assert len(engine) > 10
    assert_tables_equal(engine, reference)


def test_engine_matches_pandas_with_customers_frame(tx, customers):
    engine = build_customer_table(tx, customers)
    assert_tables_equal(engine, build_customer_table_pandas(tx, customers))
    prospects = engine.loc[["P0001", "P0002"]]
    assert prospects["is_prospect"].all()
    assert (prospects["frequency"] == 0).all() and (prospects["monetary"] == 0).all()
    assert prospects["recency_days"].isna().all() and prospects["first_purchase"].isna().all()
    assert engine["region"].notna().all()
    assert (prospects["n_lines"] == 0).all()
    # the flag means "no purchase in the window": return-only customers carry it too
    assert engine["is_prospect"].equals(engine["frequency"] == 0)


def test_definitions_on_hand_computed_example():
    ts = pd.to_datetime(
        [
            "2024-01-01 10:00",
            "2024-01-01 10:00",
            "2024-01-11 09:00",
            "2024-01-12 08:00",  # return-only order (cancellation)
            "2024-02-10 18:00",
            "2024-01-20 12:00",
        ]
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b"],
            "order_id": ["1", "1", "2", "C2", "3", "4"],
            "timestamp": ts,
            "amount": [10.0, 30.0, 20.0, -20.0, 40.0, 5.0],
            "is_return": [False, False, False, True, False, False],
            "category": ["x", "y", "x", "x", None, "y"],
        }
    )
    net = build_customer_table(tx)
    a = net.loc["a"]
    assert a["frequency"] == 3  # the return-only order does not count
    assert a["monetary"] == pytest.approx(80.0)  # 100 bought, 20 returned
    assert a["gross_value"] == pytest.approx(100.0)
    assert a["returned_value"] == pytest.approx(20.0)
    assert a["return_share"] == pytest.approx(0.2)
    assert a["recency_days"] == 1.0  # reference date = day after the last transaction
    assert a["tenure_days"] == 41.0
    assert a["first_purchase"] == pd.Timestamp("2024-01-01 10:00")
    assert a["last_purchase"] == pd.Timestamp("2024-02-10 18:00")
    assert a["mean_interpurchase_days"] == pytest.approx(20.0)  # (Feb 10 - Jan 1) / 2
    assert a["max_gap_days"] == 30.0
    assert a["avg_order_value"] == pytest.approx(80.0 / 3)
    assert (a["n_lines"], a["n_return_lines"]) == (5, 1)
    assert a["share_x"] == pytest.approx(0.3)  # purchase value only: 30 of 100
    assert a["share_y"] == pytest.approx(0.3)
    assert a["share_missing"] == pytest.approx(0.4)
    b = net.loc["b"]
    assert b["frequency"] == 1 and np.isnan(b["mean_interpurchase_days"])
    assert np.isnan(b["max_gap_days"]) and b["recency_days"] == 22.0
    gross = build_customer_table(tx, monetary="gross")
    assert gross.loc["a", "monetary"] == pytest.approx(100.0)
    # a later reference date ignores nothing and shifts recency
    later = build_customer_table(tx, reference_date=dt.date(2024, 3, 1))
    assert later.loc["a", "recency_days"] == 20.0
    # an earlier one ignores the later transactions
    early = build_customer_table(tx, reference_date="2024-02-01")
    assert early.loc["a", "frequency"] == 2 and early.loc["a", "monetary"] == pytest.approx(40.0)


def test_shares_add_up_to_one(tx):
    table = build_customer_table(tx, max_categories=2)
    assert table.loc[table["gross_value"] <= 0].filter(like="share_").isna().all().all()
    table = table[table["gross_value"] > 0]
    for prefix in ("share_channel_", "share_device_"):
        cols = [c for c in table.columns if c.startswith(prefix)]
        assert len(cols) >= 2
        np.testing.assert_allclose(table[cols].sum(axis=1), 1.0, rtol=1e-9)
    cat_cols = [c for c in table.columns if c.startswith("share_") and "_channel_" not in c]
    cat_cols = [c for c in cat_cols if not c.startswith(("share_channel_", "share_device_"))]
    assert {"share_other", "share_missing"} <= set(cat_cols) and len(cat_cols) == 4
    np.testing.assert_allclose(table[cat_cols].sum(axis=1), 1.0, rtol=1e-9)


def test_colliding_category_names_get_distinct_columns(tx):
    table = build_customer_table(tx)
    assert {"share_toys", "share_toys_2", "share_home_garden"} <= set(table.columns)


def test_parquet_duckdb_table_and_relation_inputs(tx, tmp_path):
    expected = build_customer_table(tx)
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    assert_tables_equal(build_customer_table(path), expected)
    assert_tables_equal(build_customer_table(str(path)), expected)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE cleaned AS SELECT * FROM read_parquet('{path}')")
    assert_tables_equal(build_customer_table("cleaned", connection=con), expected)
    rel = con.sql("SELECT * FROM cleaned")
    assert_tables_equal(build_customer_table(rel, connection=con), expected)
    # the caller's connection is left as it was: no temporary views remain
    assert con.sql("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall()[0][0] == 0
    with pytest.raises(InputDataError, match="connection="):
        build_customer_table(rel)


def test_stepwise_duckdb_run_leaves_no_temporary_tables(tx, customers, tmp_path):
    """The DuckDB path materialises its aggregates in steps and drops them afterwards."""
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE cleaned AS SELECT * FROM read_parquet('{path}')")
    table = build_customer_table("cleaned", customers, connection=con)
    # the stepwise run gives what the single expression gives on an Ibis table
    assert_tables_equal(table, build_customer_table(ibis.memtable(tx), customers))
    names = con.sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert names == [("cleaned",)]


def test_ibis_table_input_runs_on_its_backend(tx, customers):
    """An Ibis table (here in-memory, any backend in general) is aggregated where it lives."""
    assert_tables_equal(build_customer_table(ibis.memtable(tx)), build_customer_table(tx))
    assert_tables_equal(
        build_customer_table(ibis.memtable(tx), customers), build_customer_table(tx, customers)
    )


def test_ibis_backend_as_engine_with_a_table_name(tx, tmp_path):
    """The path a Spark session takes: engine=<Ibis backend>, transactions=<table name>."""
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    con = ibis.duckdb.connect()
    con.raw_sql(f"CREATE TABLE cleaned AS SELECT * FROM read_parquet('{path}')")
    assert_tables_equal(build_customer_table("cleaned", engine=con), build_customer_table(tx))
    with pytest.raises(InputDataError, match="table name"):
        build_customer_table(tx, engine=con)


def test_expression_compiles_for_other_engines():
    """The same expression is portable SQL: it compiles for Spark (Databricks) and others."""
    schema = {
        "customer_id": "string",
        "order_id": "string",
        "timestamp": "timestamp",
        "amount": "float64",
        "is_return": "boolean",
        "category": "string",
    }
    t = ibis.table(schema, name="transactions")
    spec = CustomerTableSpec(
        key="customer_id",
        reference_date=dt.date(2024, 1, 1),
        families=(("share_", "category", (("toys", "toys"),), True, True),),
    )
    expr = customer_table_expr(t, spec)
    for dialect in ("duckdb", "databricks", "trino", "postgres"):
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "GROUP BY" in sql.upper()
    # running it on Spark, with the same result as DuckDB, is tested in test_spark.py


def test_is_return_derived_when_column_absent(tx):
    with_flag = build_customer_table(tx)
    without = build_customer_table(tx.drop(columns="is_return"))
    assert_tables_equal(with_flag, without)  # is_return == quantity < 0 in this data


def test_account_level_counts_buying_contacts(tx):
    table = build_customer_table(tx, level="account")
    assert table.index.name == "account_id"
    assert "n_buying_contacts" in table.columns
    expected = tx[~tx["is_return"]].groupby("account_id")["contact_id"].nunique()
    assert table["n_buying_contacts"].equals(expected.reindex(table.index).astype("int64"))
    customers = build_customer_table(tx)
    assert table["gross_value"].sum() == pytest.approx(customers["gross_value"].sum())


def test_clear_errors(tx, customers):
    with pytest.raises(InputDataError, match="`order_id`"):
        build_customer_table(tx.drop(columns="order_id"))
    dup = pd.concat([customers, customers.iloc[:3]])
    with pytest.raises(InputDataError, match="3 `customer_id` values on more than one row"):
        build_customer_table(tx, dup)
    with pytest.raises(InputDataError, match="monetary"):
        build_customer_table(tx, monetary="profit")
    with pytest.raises(InputDataError, match="no transaction falls in the window"):
        build_customer_table(tx, window=("2030-01-01", "2030-02-01"))
    with pytest.raises(InputDataError, match="neither an existing Parquet file"):
        build_customer_table("no/such/file.parquet")
    with pytest.raises(InputDataError, match="contact_id"):
        build_customer_table(tx.drop(columns="contact_id"), level="account")
    assert set(BASE_COLUMNS) <= set(build_customer_table(tx).columns)


@pytest.fixture(scope="module")
def uci_transactions() -> pd.DataFrame:
    if not UCI.is_file():
        pytest.skip(f"UCI Online Retail not found at {UCI} (only in the project's workspace)")
    raw = pd.read_csv(UCI, dtype={"InvoiceNo": "str", "StockCode": "str", "CustomerID": "str"})
    keep = raw["CustomerID"].notna() & (raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)
    raw = raw[keep]  # duplicate lines are kept on purpose
    tx = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].str.removesuffix(".0"),
            "order_id": raw["InvoiceNo"],
            "timestamp": pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S"),
            "quantity": raw["Quantity"].astype("float64"),
            "unit_price": raw["UnitPrice"].astype("float64"),
        }
    )
    tx["amount"] = tx["quantity"] * tx["unit_price"]
    return tx


@pytest.mark.shared_data
def test_uci_online_retail_oracle(uci_transactions):
    """Figures computed independently (SOURCE.md: 397,884 rows after the same filter)."""
    assert len(uci_transactions) == 397_884
    table = build_customer_table(uci_transactions)
    assert len(table) == 4_338
    assert int(table["frequency"].sum()) == 18_532
    assert round(float(table["monetary"].sum()), 2) == 8_911_407.90
    assert table.index.str.fullmatch(r"\d{5}").all()
    assert (table["recency_days"] >= 1).all() and table["recency_days"].min() == 1


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_attach_equals_pandas_join_and_assign(dtype):
    ids = pd.Index([f"c{i}" for i in range(6)], dtype=dtype, name="customer_id")
    table = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1], "monetary": np.arange(6.0)}, index=ids)
    buyers = ids[table["frequency"].to_numpy() > 0][::-1]  # other order, prospects absent
    scores = pd.DataFrame({"R": [1, 2, 3, 4], "RFM": ["111", "222", "333", "444"]}, index=buyers)
    segment = pd.Series(pd.Categorical(["x", "y", "x", "y"]), index=buyers)
    tier = pd.Series(["gold", "silver", "gold", "vip", "none", "x"], index=ids, dtype="string")
    got = attach(table, scores, rfm_segment=segment, value_tier=tier)
    expected = table.join(scores).assign(rfm_segment=segment, value_tier=tier)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("bad", [2e12, float("inf")])
def test_amounts_beyond_exact_summation_get_a_clear_error(bad):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "2", "3"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [10.0, bad, 5.0],
            "is_return": [False, False, False],
        }
    )
    with pytest.raises(InputDataError, match=r"`amount` has 1 value\(s\)"):
        build_customer_table(tx)


def test_money_sums_are_exact_and_order_free():
    """0.1 + 0.2 is 0.3 to the cent whatever the order the engine adds lines in."""
    n = 3000
    tx = pd.DataFrame(
        {
            "customer_id": ["a"] * n + ["b"] * n,
            "order_id": [str(i) for i in range(2 * n)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(2 * n), "min"),
            "amount": np.r_[np.tile([0.1, 0.2], n // 2), np.tile([0.2, 0.1], n // 2)],
            "is_return": False,
        }
    )
    t = build_customer_table(tx)
    assert t.loc["a", "monetary"] == t.loc["b", "monetary"] == 450.0


def test_build_for_config_without_shares_keeps_every_other_column():
    from seglab.cleaning import clean_transactions
    from seglab.config import load_config
    from seglab.datasets import make_retail
    from seglab.features import build_for_config
    from seglab.intake import to_transactions

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo-retail.yaml")
    data = make_retail(n_customers=400, n_lines=6_000, random_state=5)
    tx = to_transactions(data.transactions, cfg.data.transactions)
    tx = clean_transactions(tx, cfg.cleaning, now="2025-07-01").data
    window = ("2024-07-01", "2025-07-01")
    full = build_for_config(tx, None, cfg, reference_date="2025-07-01", window=window)
    light = build_for_config(
        tx, None, cfg, reference_date="2025-07-01", window=window, shares=False
    )
    assert full.filter(like="share_").shape[1] > 3
    assert light.filter(like="share_").shape[1] == 0
    pd.testing.assert_frame_equal(light, full[light.columns])


def test_needs_shares_spots_every_share_family():
    """The prefix test matches the column names the build gives each share family."""
    from seglab.features import needs_shares

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "2", "3"],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-01"]),
            "amount": [10.0, 20.0, 5.0],
            "category": ["toys", "books", "toys"],
            "channel": ["web", "store", "web"],
            "device": ["mobile", "desktop", "mobile"],
        }
    )
    kw = dict(reference_date="2024-04-01", channel_col="channel", device_col="device")
    table = build_customer_table(tx, None, **kw)
    plain = build_customer_table(
        tx, None, **kw | dict(category_col=None, channel_col=None, device_col=None)
    )
    shares = [c for c in table.columns if c not in plain.columns]
    assert {"share_toys", "share_channel_web", "share_device_mobile"} <= set(shares)
    assert all(needs_shares([c]) for c in shares)
    assert not any(needs_shares([c]) for c in plain.columns)
