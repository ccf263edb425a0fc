"""Cleaning rules: counts on a hand-made table, and the published UCI Online Retail figures."""

import pandas as pd
import pytest

from seglab.cleaning import RULE_ORDER, clean_transactions, plot_row_loss
from seglab.config import Cleaning, TransactionsSource
from seglab.errors import InputDataError
from seglab.intake import read_source, to_transactions


def frame():
    rows = [
        # customer, order, timestamp, qty, price
        ("a", "1", "2024-01-01", 2, 5.0),
        ("a", "1", "2024-01-01", 2, 5.0),  # exact duplicate of the line above
        ("a", "C2", "2024-01-03", -1, 5.0),  # return
        ("b", "3", "2024-02-01", 1, 0.0),  # free item
        (None, "4", "2024-02-02", 1, 9.0),  # no customer
        ("b", "5", "2023-06-01", 1, 9.0),  # before the window
        ("c", "6", "2030-01-01", 1, 9.0),  # future
        ("c", "7", "2024-03-01", 3, 4.0),
        ("b", "8", None, 1, 4.0),  # no timestamp
    ]
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "timestamp", "quantity", "unit_price"]
    )
    df["customer_id"] = df["customer_id"].astype("string")
    df["order_id"] = df["order_id"].astype("string")
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    df["amount"] = df["quantity"] * df["unit_price"]
    return df


def removed(result):
    return result.removed_by_rule()


def test_duplicates_match_pandas_on_awkward_rows():
    """Missing values equal each other, odd column names, the first copy is the one kept."""
    import numpy as np

    rng = np.random.default_rng(4)
    n = 3_000
    df = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice(["a", "b", "é", None], n), dtype="string"),
            "order_id": pd.array(rng.choice(["1", "2", "C3"], n), dtype="string"),
            "timestamp": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
            "quantity": rng.choice([1.0, 2.0, -1.0], n),
            "unit_price": rng.choice([0.0, 5.0], n),
            'store "name"': rng.choice(["x", None, "y z"], n),
            "note": rng.choice([np.nan, 1.5], n),
        }
    )
    df["amount"] = df["quantity"] * df["unit_price"]
    rules = Cleaning(missing_values=False, future=False)
    res = clean_transactions(df, rules)
    # reference: pandas on the rows the earlier rules kept (missing id, returns, zero price)
    before = df[
        df["customer_id"].notna()
        & (df["quantity"] > 0)
        & ~df["order_id"].str.startswith("C")
        & (df["unit_price"] > 0)
    ]
    cols = [c for c in df.columns if c != "amount"]
    expected = int(before.duplicated(subset=cols).sum())
    assert removed(res)["duplicates"] == expected > 100
    pd.testing.assert_frame_equal(
        res.data.drop(columns="is_return").reset_index(drop=True),
        before.drop_duplicates(subset=cols).reset_index(drop=True),
    )


def test_each_rule_counts_its_rows():
    rules = Cleaning(window={"start": "2024-01-01"})
    res = clean_transactions(frame(), rules, now="2025-01-01")
    assert removed(res) == {
        "missing_values": 1,
        "missing_customer_id": 1,
        "returns": 1,
        "non_positive_price": 1,
        "duplicates": 1,
        "window": 1,
        "future": 1,
    }
    assert res.rows_read == 9 and res.rows_kept == 2 and res.customers == 2
    assert res.row_loss["rule"].tolist() == list(RULE_ORDER)
    assert res.row_loss.set_index("rule").loc["returns", "customers_affected"] == 1
    assert res.row_loss["rows_left"].iloc[-1] == 2
    plot_row_loss(res)


def test_rules_switch_off():
    rules = Cleaning(
        missing_customer_id=False, duplicates=False, non_positive_price=False, future=False
    )
    res = clean_transactions(frame(), rules, now="2025-01-01")
    assert "duplicates" not in removed(res) and "window" not in removed(res)
    assert res.rows_kept == 9 - 1 - 1  # missing value and the return line


def test_returns_net_keeps_negative_lines_flagged():
    res = clean_transactions(frame(), Cleaning(returns="net"), now="2025-01-01")
    ret = res.data[res.data["is_return"]]
    assert len(ret) == 1 and ret["amount"].iloc[0] == -5.0
    assert removed(res)["returns"] == 0 and "netted" in res.notes[0]


def test_cancellation_prefix_drops_positive_lines_of_cancelled_orders():
    df = frame()
    df.loc[7, "order_id"] = "C7"
    res = clean_transactions(df, Cleaning(), now="2025-01-01")
    assert removed(res)["returns"] == 2
    res = clean_transactions(df, Cleaning(cancellation_prefix=None), now="2025-01-01")
    assert removed(res)["returns"] == 1


def test_nothing_left_names_the_rule():
    df = frame()
    df["customer_id"] = pd.Series([None] * len(df), dtype="string")
    with pytest.raises(
        InputDataError, match="no transactions left.*`missing_customer_id` removed 8 of 9"
    ):
        clean_transactions(df, Cleaning(), now="2025-01-01")


def test_one_customer_only():
    df = frame()
    df["customer_id"] = "same"
    with pytest.raises(InputDataError, match=r"only one customer \(same\).*customer_id"):
        clean_transactions(df, Cleaning(), now="2025-01-01")


@pytest.mark.shared_data
def test_online_retail_published_counts(online_retail_csv, repo):
    """541,909 rows; 397,884 kept for 4,338 customers; 5,192 exact duplicates more (SOURCE.md, issue)."""
    from seglab.config import load_config

    cfg = load_config(repo / "configs" / "online-retail.yaml")
    src = TransactionsSource(
        **{**cfg.data.transactions.model_dump(), "path": str(online_retail_csv)}
    )
    raw, info = read_source(src)
    tx = to_transactions(raw, src)
    assert info.rows == 541_909
    assert tx["customer_id"].nunique() == 4_372
    assert int(tx["quantity"].sum()) == 5_176_450
    base = clean_transactions(tx, cfg.cleaning.model_copy(update={"duplicates": False}))
    assert base.rows_kept == 397_884 and base.customers == 4_338
    assert removed(base)["missing_customer_id"] == 135_080
    dedup = clean_transactions(tx, cfg.cleaning)
    assert removed(dedup)["duplicates"] == 5_192
    assert dedup.rows_kept == 392_692


def _window_duplicate_mask(df, keep):
    """The one-pass DuckDB check the two-pass one replaced (a window over every kept row)."""
    import duckdb
    import numpy as np

    from seglab.cleaning import DERIVED

    cols = [c for c in df.columns if c not in DERIVED]
    frame = df[cols].assign(_rn=np.arange(len(df)), _keep=keep)
    by = ", ".join('"' + str(c).replace('"', '""') + '"' for c in cols)
    sql = f"SELECT _rn FROM frame WHERE _keep QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY _rn) > 1"
    with duckdb.connect() as con:
        con.register("frame", frame)
        repeated = con.sql(sql).fetchnumpy()["_rn"]
    out = np.zeros(len(df), dtype=bool)
    out[repeated.astype(int)] = True
    return out


def _awkward_frame(n, seed):
    """Missing values of every kind, -0.0 beside 0.0, empty strings, mixed types, odd names."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice(["a", "", "é", None], n), dtype="string"),
            "order_id": pd.array(rng.choice(["1", "C2", " 1"], n), dtype="string"),
            "timestamp": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(rng.choice([0.0, 1.0, np.nan], n), "D"),
            "quantity": rng.choice([1.0, 0.0, -0.0, np.nan], n),
            "unit_price": rng.choice([5.0, np.nan], n),
            'store "name"': rng.choice(["x", None, "", "y z"], n).astype(object),
            "mixed": pd.Series(rng.choice(4, n)).map({0: 1, 1: "1", 2: None, 3: np.nan}),
            "amount": rng.random(n),  # derived: never compared
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_pass_duplicate_check_equals_one_pass(seed):
    """Hash candidates then exact check: the same rows as the single window over all rows."""
    import numpy as np

    from seglab.cleaning import _duplicate_mask

    df = _awkward_frame(4_000, seed)
    keep = np.random.default_rng(seed + 10).random(len(df)) > 0.2
    got = _duplicate_mask(df, keep)
    assert got.sum() > 100
    np.testing.assert_array_equal(got, _window_duplicate_mask(df, keep))
    assert not got[~keep].any()
    # the whole table kept, and pandas' own rule (missing values equal each other); not on
    # the mixed column: DuckDB reads an object column of 1 and "1" as text, equal
    df = df.drop(columns="mixed")
    every = np.ones(len(df), dtype=bool)
    cols = [c for c in df.columns if c != "amount"]
    np.testing.assert_array_equal(_duplicate_mask(df, every), df[cols].duplicated().to_numpy())


def test_duplicate_check_with_no_repeats_or_no_rows():
    import numpy as np

    from seglab.cleaning import _duplicate_mask

    df = frame().drop_duplicates()
    keep = np.ones(len(df), dtype=bool)
    assert not _duplicate_mask(df, keep).any()
    assert len(_duplicate_mask(df.iloc[:0], keep[:0])) == 0
    assert not _duplicate_mask(frame(), np.zeros(len(frame()), dtype=bool)).any()


def test_customer_count_is_counted_once_per_table(monkeypatch):
    res = clean_transactions(frame(), Cleaning(), now="2025-01-01")
    counted = []
    nunique = pd.Series.nunique
    monkeypatch.setattr(pd.Series, "nunique", lambda s, *a, **k: counted.append(1) or nunique(s))
    assert res.customers == res.customers == res.data["customer_id"].nunique() == 3
    assert len(counted) == 1  # the two reads of res.customers reused the count made in cleaning
    res.data = res.data[res.data["customer_id"] == "a"]  # a new table is counted again
    assert res.customers == 1
