"""Customer features on the demo data: the DuckDB engine equals the pandas reference."""

import pandas as pd
import pytest

from seglab.cleaning import clean_transactions
from seglab.config import load_config
from seglab.datasets import make_retail, write_demo
from seglab.features import build_customer_table, build_customer_table_pandas
from seglab.intake import read_source, to_customers, to_transactions

from .conftest import REPO
from .test_features import assert_tables_equal

END = pd.Timestamp("2025-07-01")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo retailer as the pipeline sees it: written as CSV, read, mapped by the bundled config, cleaned."""
    cfg = load_config(REPO / "configs" / "demo-retail.yaml")
    folder = tmp_path_factory.mktemp("demo")
    write_demo(make_retail(n_customers=6000, n_lines=120_000, random_state=3), folder)
    raw_tx, _ = read_source(
        cfg.data.transactions.model_copy(update={"path": str(folder / "transactions.csv")})
    )
    raw_cu, _ = read_source(
        cfg.data.customers.model_copy(update={"path": str(folder / "customers.csv")})
    )
    tx = clean_transactions(
        to_transactions(raw_tx, cfg.data.transactions), cfg.cleaning, now=END
    ).data
    return tx, to_customers(raw_cu, cfg.data.customers), cfg


@pytest.mark.parametrize("monetary", ["net", "gross"])
def test_engine_equals_pandas_reference_on_demo(demo, monetary):
    tx, customers, cfg = demo
    kwargs = {"reference_date": cfg.reference_date, "monetary": monetary}
    engine = build_customer_table(tx, customers, **kwargs)
    assert_tables_equal(engine, build_customer_table_pandas(tx, customers, **kwargs))
    assert len(engine) == 6000 and engine["is_prospect"].sum() > 0
