"""The Spark engine: the same customer tables as DuckDB from the same files (pyspark, local mode)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from seglab import engines
from seglab.cleaning import clean_transactions
from seglab.config import Spark, load_config
from seglab.datasets import make_b2b, make_retail, write_demo
from seglab.errors import ConfigError
from seglab.features import build_for_config
from seglab.intake import read_source, to_customers, to_transactions
from seglab.io import write_frame

from .conftest import REPO
from .test_features import assert_tables_equal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_settings():
    pytest.importorskip("pyspark", reason="the Spark engine needs `pip install 'seglab[spark]'`")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17+ on PATH")
    # two cores, few shuffle partitions: small data, quick tasks
    return Spark(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"})


def _handoff(config_name: str, make, tmp_path) -> tuple[str, str, object]:
    """Demo data through intake and cleaning, written as notebook 02's Parquet hand-off."""
    cfg = load_config(REPO / "configs" / config_name)
    raw_dir = tmp_path / "raw"
    write_demo(make(), raw_dir)
    raw_tx, _ = read_source(
        cfg.data.transactions.model_copy(update={"path": str(raw_dir / "transactions.csv")})
    )
    raw_cu, _ = read_source(
        cfg.data.customers.model_copy(update={"path": str(raw_dir / "customers.csv")})
    )
    tx = clean_transactions(
        to_transactions(raw_tx, cfg.data.transactions), cfg.cleaning, now=cfg.reference_date
    )
    tx_path = write_frame(tx.data, tmp_path / "transactions.parquet")
    cu_path = write_frame(to_customers(raw_cu, cfg.data.customers), tmp_path / "customers.parquet")
    return str(tx_path), str(cu_path), cfg


@pytest.mark.parametrize(
    ("config_name", "make"),
    [
        ("demo-retail.yaml", lambda: make_retail(n_customers=1500, n_lines=25_000, random_state=5)),
        ("demo-b2b.yaml", lambda: make_b2b(n_accounts=300, n_lines=15_000, random_state=5)),
    ],
    ids=["retail", "b2b-accounts"],
)
def test_spark_builds_the_same_customer_table_as_duckdb(
    spark_settings, tmp_path, config_name, make
):
    tx, customers, cfg = _handoff(config_name, make, tmp_path)
    on_duckdb = build_for_config(tx, customers, cfg)
    on_spark = build_for_config(
        tx, customers, cfg.model_copy(update={"engine": "spark", "spark": spark_settings})
    )
    assert_tables_equal(on_spark, on_duckdb)
    assert on_duckdb["is_prospect"].any()  # prospects come through the join on both engines
    if cfg.brief.business == "b2b":
        assert "n_buying_contacts" in on_spark.columns
    # the time-split windows of notebook 07 too
    window = build_for_config(
        tx,
        None,
        cfg.model_copy(update={"engine": "spark", "spark": spark_settings}),
        reference_date="2025-01-01",
        window=("2024-07-01", "2025-01-01"),
    )
    assert_tables_equal(
        window,
        build_for_config(
            tx, None, cfg, reference_date="2025-01-01", window=("2024-07-01", "2025-01-01")
        ),
    )
    assert window["last_purchase"].max() < pd.Timestamp("2025-01-01")


def test_spark_needs_java(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="Java 17"):
        engines.spark_session(Spark())


@pytest.mark.parametrize(
    ("config_name", "make"),
    [("demo-b2b.yaml", lambda: make_b2b(n_accounts=200, n_lines=8_000, random_state=6))],
    ids=["b2b-accounts"],
)
def test_frames_and_files_give_the_same_table(tmp_path, config_name, make):
    """DuckDB, no Spark: in-memory frames take the same engine path as the hand-off files."""
    tx, customers, cfg = _handoff(config_name, make, tmp_path)
    from_files = build_for_config(tx, customers, cfg)
    from_frames = build_for_config(pd.read_parquet(tx), pd.read_parquet(customers), cfg)
    assert_tables_equal(from_frames, from_files)
    assert from_files["n_buying_contacts"].gt(0).any()
