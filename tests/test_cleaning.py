"""Cleaning rules: counts on a hand-made table, and the published UCI Online Retail figures."""

import pandas as pd
import pyarrow as pa
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
    from seglab import cleaning

    res = clean_transactions(frame(), Cleaning(), now="2025-01-01")
    counted = []
    count = cleaning.distinct_count
    monkeypatch.setattr(cleaning, "distinct_count", lambda s: counted.append(1) or count(s))
    assert res.customers == res.customers == res.data["customer_id"].nunique() == 3
    assert not counted  # the two reads of res.customers reused the count made in cleaning
    res.data = res.data[res.data["customer_id"] == "a"]  # a new table is counted again
    assert res.customers == res.customers == 1
    assert len(counted) == 1


# the whole cleaning against plain pandas ------------------------------------------------


def _messy_transactions(n, seed, extra):
    """Transactions with every kind of trouble, the text columns in several Arrow chunks.

    Rows are drawn from a small pool, so exact duplicates are common; missing ids and
    values, empty and look-alike ids ("A"/"a", composed and decomposed "é"), returns,
    cancellations, zero and negative prices, -0.0 beside 0.0, dates before the window
    and in the future. ``extra`` adds columns of other types: "arrow" (types DuckDB reads
    from Arrow) or "object" (a mixed object column and a category: DuckDB reads the frame).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    pool = 500
    odd = ["A", "a", "", "\u00e9", "e\u0301", "b ", "b", None]
    ids = rng.choice(odd + [f"c{i}" for i in range(60)], pool)
    ts = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 5, pool), "D")
    ts = ts.where(rng.random(pool) > 0.05)
    ts = ts.where(rng.random(pool) > 0.05, pd.Timestamp("2025-03-01"))  # after `now`
    ts = ts.where(rng.random(pool) > 0.05, pd.Timestamp("2022-06-01"))  # before the window
    base = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "timestamp": ts,
            "order_id": pd.array(
                rng.choice(["1", "2", "C3", "c4", None], pool, p=[0.4, 0.3, 0.1, 0.1, 0.1]),
                dtype="string",
            ),
            "quantity": rng.choice(
                [1.0, 2.0, 0.0, -0.0, -1.0, np.nan], pool, p=[0.5, 0.3, 0.05, 0.05, 0.05, 0.05]
            ),
            "unit_price": rng.choice(
                [5.0, 2.5, 0.0, -1.0, np.nan], pool, p=[0.5, 0.35, 0.05, 0.05, 0.05]
            ),
            "category": pd.array(rng.choice(["x", "y", None], pool), dtype="str"),
        }
    )
    if extra == "arrow":
        base["flag"] = rng.random(pool) > 0.5
        base["units"] = pd.array(rng.choice([1, 2, None], pool), dtype=pd.ArrowDtype(pa.int64()))
        base["label"] = pd.array(
            rng.choice(["p", "q", None], pool), dtype=pd.ArrowDtype(pa.string())
        )
    elif extra == "object":
        base["mixed"] = pd.Series(rng.choice(4, pool)).map({0: 2, 1: "two", 2: None, 3: 3.5})
        base["tier"] = pd.Categorical(rng.choice(["gold", "silver"], pool))
    df = base.iloc[rng.integers(0, pool, n)]
    # three pieces: the text columns become chunked Arrow arrays, as intake reads them
    df = pd.concat(
        [df.iloc[: n // 3], df.iloc[n // 3 : n // 2], df.iloc[n // 2 :]], ignore_index=True
    )
    df["amount"] = df["quantity"] * df["unit_price"]
    return df


def _reference_clean(df, rules, now):
    """The rules as their docs define them, one at a time on a shrinking pandas copy."""
    import numpy as np

    now = pd.Timestamp(now)
    flag = df["quantity"] < 0
    if rules.cancellation_prefix:
        starts = [
            isinstance(o, str) and o.startswith(rules.cancellation_prefix) for o in df["order_id"]
        ]
        flag |= np.array(starts, dtype=bool)
    kept = df.assign(is_return=flag.to_numpy(bool))
    compared = [c for c in df.columns if c != "amount"]
    start = pd.Timestamp(rules.window.start) if rules.window.start else None
    end = pd.Timestamp(rules.window.end) + pd.Timedelta(days=1) if rules.window.end else None
    rows = []
    for rule in RULE_ORDER:
        drop = None
        if rule == "missing_values" and rules.missing_values:
            drop = kept[["timestamp", "quantity", "unit_price", "amount"]].isna().any(axis=1)
        elif rule == "missing_customer_id" and rules.missing_customer_id:
            drop = kept["customer_id"].isna()
        elif rule == "returns":
            q = kept["quantity"]
            drop = (q <= 0) | kept["is_return"] if rules.returns == "drop" else q == 0
        elif rule == "non_positive_price" and rules.non_positive_price:
            drop = kept["unit_price"] <= 0
        elif rule == "duplicates" and rules.duplicates:
            drop = kept.duplicated(subset=compared)
        elif rule == "window" and (start is not None or end is not None):
            t = kept["timestamp"]
            drop = ((t < start) if start is not None else False) | (
                (t >= end) if end is not None else False
            )
            drop = pd.Series(drop, index=kept.index)
        elif rule == "future" and rules.future:
            drop = kept["timestamp"] > now
        if drop is None:
            rows.append((rule, False, 0, 0, len(kept)))
            continue
        drop = drop.fillna(False).astype(bool)
        affected = len({c for c in kept.loc[drop, "customer_id"] if not pd.isna(c)})
        kept = kept[~drop]
        rows.append((rule, True, int(drop.sum()), affected, len(kept)))
    table = pd.DataFrame(
        rows, columns=["rule", "active", "rows_removed", "customers_affected", "rows_left"]
    )
    return kept.reset_index(drop=True), table


RULE_SETS = {
    "defaults": {"window": {"start": "2023-01-01", "end": "2025-06-30"}},
    "net returns, no prefix": {"returns": "net", "cancellation_prefix": None},
    "keep missing values and duplicates": {"missing_values": False, "duplicates": False},
    "only duplicates": {
        "missing_values": False,
        "missing_customer_id": False,
        "non_positive_price": False,
        "returns": "net",
        "future": False,
    },
}


@pytest.mark.parametrize("extra", ["arrow", "object"])
@pytest.mark.parametrize("rule_set", list(RULE_SETS))
@pytest.mark.parametrize("seed", [0, 1])
def test_cleaning_equals_plain_pandas(seed, rule_set, extra):
    """Row-loss table, kept rows (values, types, order, index) and customers as pandas has them."""
    df = _messy_transactions(3_000, seed, extra)
    rules = Cleaning(**RULE_SETS[rule_set])
    res = clean_transactions(df, rules, now="2025-01-01")
    kept, table = _reference_clean(df, rules, "2025-01-01")
    got = res.row_loss[table.columns].astype({c: int for c in table.columns[2:]})
    pd.testing.assert_frame_equal(got, table.astype({c: int for c in table.columns[2:]}))
    assert table["rows_removed"].iloc[4] > (100 if rules.duplicates else -1)  # duplicates found
    pd.testing.assert_frame_equal(res.data, kept)
    assert res.customers == kept["customer_id"].nunique()
    assert res.rows_read == len(df)


def test_duplicates_read_from_arrow_or_pandas_agree(monkeypatch):
    """The Arrow scan (fast) and the pandas-frame scan (other types) find the same rows."""
    import numpy as np

    from seglab import cleaning

    df = _messy_transactions(4_000, 3, "arrow")
    df["when"] = df["timestamp"].astype("datetime64[us]")
    keep = np.random.default_rng(0).random(len(df)) > 0.1
    assert isinstance(cleaning._duckdb_rows(df), pa.Table)
    via_arrow = cleaning._duplicate_mask(df, keep)
    monkeypatch.setattr(cleaning, "_duckdb_rows", lambda frame: frame)
    via_pandas = cleaning._duplicate_mask(df, keep)
    assert via_arrow.sum() > 1_000
    np.testing.assert_array_equal(via_arrow, via_pandas)
    np.testing.assert_array_equal(via_arrow, _window_duplicate_mask(df, keep))


def test_frames_duckdb_cannot_read_as_arrow_stay_in_pandas():
    from seglab.cleaning import _duckdb_rows

    df = _messy_transactions(50, 0, "arrow")
    assert isinstance(_duckdb_rows(df), pa.Table)
    for other in (
        df.assign(tier=pd.Categorical(["a"] * len(df))),
        df.assign(mixed=pd.Series([1, "1"] * (len(df) // 2), dtype=object)),
        df.assign(n=pd.array([1] * len(df), dtype="Int64")),
        df.assign(t=df["timestamp"].dt.tz_localize("UTC")),
        df.assign(text=pd.array(["a"] * len(df), dtype="string[python]")),
        df.set_axis([*df.columns[:-1], 0], axis=1),
    ):
        assert _duckdb_rows(other) is other


def _many_types(n):
    import numpy as np

    rng = np.random.default_rng(5)
    chunked = pd.concat([pd.Series(pd.array(["a", None, "é"] * n, dtype="string"))] * 2)
    return pd.DataFrame(
        {
            "string": chunked.iloc[:n].to_numpy(),
            "str": pd.array(rng.choice(["x", None], n), dtype="str"),
            "python": pd.array(rng.choice(["x", None], n), dtype="string[python]"),
            "arrow int": pd.array(rng.choice([1, None], n), dtype=pd.ArrowDtype(pa.int64())),
            "object": pd.Series(rng.choice(3, n)).map({0: 1, 1: "1", 2: None}).to_numpy(),
            "category": pd.Categorical(rng.choice(["p", "q"], n)),
            "Int64": pd.array(rng.choice([1, None], n), dtype="Int64"),
            "float": rng.choice([1.5, np.nan], n),
            "bool": rng.random(n) > 0.5,
            "utc": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "naive": pd.date_range("2024-01-01", periods=n, freq="h"),
            "delta": pd.to_timedelta(rng.integers(0, 9, n), "D"),
        }
    )


@pytest.mark.parametrize("share", [0.0, 0.3, 0.9, 1.0])
def test_kept_rows_equal_pandas_take(share):
    import numpy as np

    from seglab.cleaning import _kept_rows

    df = _many_types(200)
    df.index = np.arange(1000, 1200)  # a non-default index is dropped, as before
    df.attrs["source"] = "test"
    keep = np.random.default_rng(1).random(len(df)) < share
    got = _kept_rows(df, keep)
    pd.testing.assert_frame_equal(got, df.take(np.flatnonzero(keep)).reset_index(drop=True))
    assert got.attrs == {"source": "test"}
    twice = df.iloc[:, [0, 0, 7]]  # repeated column names
    pd.testing.assert_frame_equal(
        _kept_rows(twice, keep), twice.take(np.flatnonzero(keep)).reset_index(drop=True)
    )


def test_customers_are_counted_like_nunique():
    from seglab._ids import distinct_count

    df = _many_types(300)
    for column in df.columns:
        assert distinct_count(df[column]) == df[column].nunique(), column
    for values in (["A", "a", "", " a", "\u00e9", "e\u0301", None], [None, None], []):
        for dtype in (
            "string",
            "str",
            pd.ArrowDtype(pa.string()),
            pd.ArrowDtype(pa.large_string()),
        ):
            s = pd.Series(values, dtype=dtype)
            assert distinct_count(s) == s.nunique(), (values, dtype)


@pytest.mark.parametrize("bits", [2, 8, 32])
def test_duplicates_are_decided_by_the_exact_check(monkeypatch, bits):
    """Shorter hashes make most rows candidates; the exact comparison keeps the answer."""
    import numpy as np

    from seglab import cleaning

    monkeypatch.setattr(cleaning, "_HASH_BITS", bits)
    df = _messy_transactions(3_000, 4, "arrow")
    keep = np.random.default_rng(2).random(len(df)) > 0.1
    cols = [c for c in df.columns if c != "amount"]
    expected = np.zeros(len(df), dtype=bool)
    expected[keep] = df[keep].duplicated(subset=cols).to_numpy()
    np.testing.assert_array_equal(cleaning._duplicate_mask(df, keep), expected)
