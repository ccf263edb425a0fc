"""Intake: every supported source, and a clear message for each kind of bad input."""

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from seglab.config import CustomersSource, TransactionsSource
from seglab.errors import InputDataError
from seglab.intake import (
    customer_coverage,
    normalise_ids,
    read_source,
    to_customers,
    to_transactions,
)

COLUMNS = {
    "customer_id": "Kunde",
    "order_id": "Beleg",
    "timestamp": "Datum",
    "quantity": "Menge",
    "unit_price": "Preis",
}
FRAME = pd.DataFrame(
    {
        "Kunde": ["1", "1", "2", "3"],
        "Beleg": ["a", "a", "b", "c"],
        "Datum": [
            "2024-01-05 10:00:00",
            "2024-01-05 10:00:00",
            "2024-02-01 09:30:00",
            "2024-03-01 12:00:00",
        ],
        "Menge": ["2", "1", "5", "1"],
        "Preis": ["3.5", "10", "1.25", "99"],
        "Land": ["DE", "DE", "FR", "FR"],
    }
)


def source(path, **kw):
    return TransactionsSource(path=str(path), columns={**COLUMNS, **kw.pop("columns", {})}, **kw)


def read_map(src):
    raw, info = read_source(src)
    return to_transactions(raw, src), info


def test_csv_with_semicolons_is_sniffed(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.to_csv(p, sep=";", index=False)
    tx, info = read_map(source(p))
    assert info.rows == 4 and info.format == "csv" and len(info.sha256) == 64
    assert tx["amount"].tolist() == [7.0, 10.0, 6.25, 99.0]
    assert str(tx["timestamp"].dtype) == "datetime64[ns]"
    assert "Land" in tx.columns  # unmapped columns are kept for duplicate detection


def test_latin1_csv_falls_back_and_says_so(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(Land=["Köln", "Köln", "Besançon", "Besançon"]).to_csv(
        p, index=False, encoding="latin-1"
    )
    tx, info = read_map(source(p))
    assert info.encoding == "latin-1" and any("latin-1" in n for n in info.notes)
    assert tx["Land"].iloc[0] == "Köln"


def test_gzip_parquet_excel_duckdb_and_sql_read_the_same(tmp_path):
    FRAME.to_csv(tmp_path / "tx.csv.gz", index=False)
    FRAME.to_parquet(tmp_path / "tx.parquet")
    FRAME.to_excel(tmp_path / "tx.xlsx", index=False)
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.register("f", FRAME)
        con.sql("CREATE TABLE sales AS SELECT * FROM f")
    with sqlite3.connect(tmp_path / "db.sqlite") as con:
        FRAME.to_sql("sales", con, index=False)
    sources = [
        source(tmp_path / "tx.csv.gz"),
        source(tmp_path / "tx.parquet"),
        source(tmp_path / "tx.xlsx"),
        source(tmp_path / "db.duckdb", table="sales"),
        source(tmp_path / "db.duckdb", query="SELECT * FROM sales WHERE Kunde <> '9'"),
        TransactionsSource(
            url=f"sqlite:///{tmp_path / 'db.sqlite'}", table="sales", columns=COLUMNS
        ),
        TransactionsSource(
            url=f"sqlite:///{tmp_path / 'db.sqlite'}", query="SELECT * FROM sales", columns=COLUMNS
        ),
    ]
    frames = [read_map(s)[0] for s in sources]
    for f in frames[1:]:
        assert f["customer_id"].tolist() == ["1", "1", "2", "3"]
        assert f["amount"].tolist() == frames[0]["amount"].tolist()
        assert f["timestamp"].tolist() == frames[0]["timestamp"].tolist()


def test_missing_table_in_databases_lists_tables(tmp_path):
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.sql("CREATE TABLE orders (x INT)")
    with pytest.raises(InputDataError, match="table `sales` not found.*orders"):
        read_source(source(tmp_path / "db.duckdb", table="sales"))
    with pytest.raises(InputDataError, match="name a `table:` or a `query:`"):
        read_source(source(tmp_path / "db.duckdb"))


def test_missing_column_lists_found_columns_and_suggests(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.rename(columns={"Kunde": "Kunden"}).to_csv(p, index=False)
    with pytest.raises(InputDataError) as exc:
        read_map(source(p))
    msg = str(exc.value)
    assert "`Kunde` (role customer_id)" in msg and "did you mean `Kunden`" in msg
    assert "columns found: Kunden, Beleg, Datum, Menge, Preis, Land" in msg
    assert "data.transactions.columns" in msg


def test_unparseable_numbers_name_column_count_examples(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(Preis=["3.5", "n/a", "1,25", "99"]).to_csv(p, index=False)
    with pytest.raises(InputDataError) as exc:
        read_map(source(p))
    msg = str(exc.value)
    assert "column `Preis` (role unit_price) has 2 of 4 values" in msg
    assert "'n/a'" in msg and "'1,25'" in msg and "decimal" in msg


def test_decimal_comma(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(Preis=["3,5", "1.000,0", "1,25", "99"]).to_csv(p, sep=";", index=False)
    tx, _ = read_map(source(p, decimal=","))
    assert tx["unit_price"].tolist() == [3.5, 1000.0, 1.25, 99.0]


def test_unparseable_dates_name_column_count_examples(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(Datum=["2024-01-05", "yesterday", "2024-02-30", "2024-03-01"]).to_csv(
        p, index=False
    )
    with pytest.raises(InputDataError) as exc:
        read_map(source(p))
    msg = str(exc.value)
    assert "column `Datum` (role timestamp) has 2 of 4 values that are not dates" in msg
    assert "'yesterday'" in msg and "timestamp_format" in msg


def test_explicit_day_first_format(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(
        Datum=["05/01/2024 10:00", "05/01/2024 10:00", "01/02/2024 09:30", "13/03/2024 12:00"]
    ).to_csv(p, index=False)
    tx, _ = read_map(source(p, timestamp_format="%d/%m/%Y %H:%M"))
    assert tx["timestamp"].dt.month.tolist() == [1, 1, 2, 3]


def test_empty_input(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.head(0).to_csv(p, index=False)
    with pytest.raises(InputDataError, match="has no data rows.*Kunde"):
        read_source(source(p))


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        read_source(source(tmp_path / "nope.csv"))
    with pytest.raises(InputDataError, match="cannot tell the format"):
        read_source(source(tmp_path / "data.bin"))


def test_float_ids_lose_trailing_zero():
    assert normalise_ids(pd.Series(["17850.0", None, "13047.0"])).tolist()[::2] == [
        "17850",
        "13047",
    ]
    assert normalise_ids(pd.Series([17850.0, 13047.0])).tolist() == ["17850", "13047"]
    assert normalise_ids(pd.Series(["A1.0", "17850.0"])).tolist() == ["A1.0", "17850.0"]


def test_amount_role_without_quantity(tmp_path):
    p = tmp_path / "tx.csv"
    FRAME.assign(Betrag=["7", "10", "6.25", "99"]).to_csv(p, index=False)
    cols = {"customer_id": "Kunde", "timestamp": "Datum", "amount": "Betrag"}
    src = TransactionsSource(path=str(p), columns=cols)
    raw, _ = read_source(src)
    tx = to_transactions(raw, src)
    assert tx["amount"].sum() == 122.25
    assert tx["order_id"].nunique() == 3  # one order per customer and timestamp


def test_customer_table_and_coverage(tmp_path):
    p = tmp_path / "customers.csv"
    pd.DataFrame({"id": ["1", "2", "4"], "since": ["2023-01-01"] * 3, "age": [30, 40, 50]}).to_csv(
        p, index=False
    )
    src = CustomersSource(
        path=str(p),
        columns={"customer_id": "id", "signup_date": "since"},
        descriptors={"demographic": ["age"]},
    )
    raw, _ = read_source(src)
    customers = to_customers(raw, src)
    tx = pd.DataFrame({"customer_id": ["1", "2", "3"]})
    cov = customer_coverage(tx, customers)["customers"]
    assert cov["buyers missing from the customer table"] == 1
    assert cov["customers without a purchase (prospects)"] == 1
    dup = raw.assign(id=["1", "1", "4"])
    with pytest.raises(InputDataError, match="repeats 1 customer ids"):
        to_customers(dup, src)


def test_every_descriptor_column_is_kept(tmp_path):
    p = tmp_path / "customers.csv"
    pd.DataFrame(
        {
            "id": ["1", "2"],
            "age": [30, 40],
            "gender": ["f", "m"],
            "income": ["low", "high"],
            "region": ["N", "S"],
            "city": ["a", "b"],
        }
    ).to_csv(p, index=False)
    src = CustomersSource(
        path=str(p),
        columns={"customer_id": "id"},
        descriptors={"demographic": ["age", "gender", "income"], "geographic": ["region", "city"]},
    )
    raw, _ = read_source(src)
    assert to_customers(raw, src).columns.tolist() == [
        "customer_id",
        "age",
        "gender",
        "income",
        "region",
        "city",
    ]
    with pytest.raises(InputDataError, match="`incme`.*did you mean `income`"):
        to_customers(raw, src.model_copy(update={"descriptors": {"demographic": ["age", "incme"]}}))


def _plain_normalise_ids(s):
    """normalise_ids before the first-id shortcut: strip, blank to missing, full regex pass."""
    import numpy as np

    if pd.api.types.is_float_dtype(s):
        whole = s.dropna()
        if (whole == np.floor(whole)).all():
            return s.astype("Int64").astype("string")
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    if text.notna().any() and text.dropna().str.fullmatch(r"-?\d+\.0+").all():
        text = text.str.replace(r"\.0+$", "", regex=True)
    return text


_ID_CASES = [
    ["17850.0", None, " 13047.00 ", ""],
    ["", None, "17850.0", "A1.0"],  # the first id present reads like a float, a later one not
    ["A1", "17850.0", None],
    [None, "", "  "],
    [None, None],
    [17850.0, None, 13047.5],
    [1, "1.0", None, 2.5],
    ["-3.0", "٣.0", "4.0"],  # a non-ASCII digit
]


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (values, dtype)
        for values in _ID_CASES
        for dtype in (object, "str", "string[python]", "string[pyarrow]")
        # numbers only in an object column: a text dtype cannot hold them
        if dtype is object or all(isinstance(v, str | None) for v in values)
    ],
)
def test_normalise_ids_equals_plain_pass(values, dtype):
    s = pd.Series(values, dtype=None if dtype is object else dtype)
    pd.testing.assert_series_equal(normalise_ids(s), _plain_normalise_ids(s))


@pytest.mark.parametrize(
    "tx_ids, customer_ids",
    [
        (
            pd.array(["1", "2", None, "3", "3"], dtype="string"),
            pd.array(["1", "4", None, ""], dtype="str"),
        ),
        (pd.array(["1", "2", "3"], dtype="string[python]"), pd.array(["2", "2x"], dtype="string")),
        (pd.array([None, None], dtype="string"), pd.array(["1"], dtype="string")),
        (pd.Series(["1", 1, None], dtype=object), pd.Series([1.0, "2"], dtype=object)),
        # look-alike ids stay apart: case, spaces, composed and decomposed accents, ""
        (
            pd.array(["A", "a", "a ", "\u00e9", "e\u0301", "", None, "A"], dtype="string"),
            pd.array(["a", "\u00e9", "", "b", "b", None], dtype="string"),
        ),
        (
            pd.array(["x", "y", None], dtype=pd.ArrowDtype(pa.string())),
            pd.array(["y", "z"], dtype=pd.ArrowDtype(pa.large_string())),
        ),
        (pd.array([], dtype="string"), pd.array(["1"], dtype="str")),
        (pd.array(["1", "2"], dtype="string"), pd.array([], dtype="string")),
        (pd.array(["1", "2"], dtype="string"), pd.Series([1, "2"], dtype=object)),
    ],
)
def test_customer_coverage_counts_like_python_sets(tx_ids, customer_ids):
    tx = pd.DataFrame({"customer_id": tx_ids})
    customers = pd.DataFrame({"customer_id": customer_ids})
    buyers = set(tx["customer_id"].dropna().unique())
    known = set(customers["customer_id"].dropna().unique())
    assert customer_coverage(tx, customers)["customers"].to_dict() == {
        "customers in the customer table": len(known),
        "buyers in the transactions": len(buyers),
        "buyers found in the customer table": len(buyers & known),
        "buyers missing from the customer table": len(buyers - known),
        "customers without a purchase (prospects)": len(known - buyers),
    }
    assert customer_coverage(tx, None)["customers"].to_dict() == {
        "buyers in the transactions": len(buyers),
        "customer table": 0,
    }


def test_customer_coverage_on_chunked_ids_equals_python_sets():
    """Ids in several Arrow chunks (as intake reads them), many repeats, some missing."""
    rng = np.random.default_rng(7)
    pieces = [
        pd.Series(
            pd.array(rng.choice([f"C{i}" for i in range(300)] + [None], 2_000), dtype="string")
        )
        for _ in range(3)
    ]
    tx = pd.DataFrame({"customer_id": pd.concat(pieces, ignore_index=True)})
    customers = pd.DataFrame(
        {"customer_id": pd.array([f"C{i}" for i in range(150, 500)], dtype="str")}
    )
    assert pa.array(tx["customer_id"].array).num_chunks == 3
    buyers = set(tx["customer_id"].dropna())
    known = set(customers["customer_id"])
    cov = customer_coverage(tx, customers)["customers"]
    assert cov["buyers in the transactions"] == len(buyers) == 300
    assert cov["buyers found in the customer table"] == len(buyers & known) == 150
    assert cov["customers without a purchase (prospects)"] == len(known - buyers) == 200
