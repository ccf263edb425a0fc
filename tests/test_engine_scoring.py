"""In-engine scoring (Ibis: DuckDB, Spark) gives the segments model.predict gives in Python."""

from __future__ import annotations

import copy
import math
import shutil
import warnings

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture

from seglab import basis
from seglab.cleaning import clean_transactions
from seglab.clustering import Segmenter
from seglab.config import load_config
from seglab.datasets import make_retail
from seglab.engine_scoring import (
    ENGINE_METHODS,
    invalid_counts,
    preprocess_expr,
    score_in_engine,
    segment_expr,
)
from seglab.errors import InputDataError
from seglab.features import build_for_config
from seglab.intake import to_customers, to_transactions
from seglab.preprocessing import BasisPreprocessor
from seglab.scoring import SegmentationModel, load_model, save_model

from .conftest import REPO

# a basis with every skew treatment: log1p, Yeo-Johnson and none (the rest "auto")
SKEW = {
    "monetary": "log1p",
    "avg_order_value": "log1p",
    "recency_days": "yeo-johnson",
    "frequency": "yeo-johnson",
    "share_fashion": "none",
    "share_grocery_household": "none",
}
# string, boolean and pandas-categorical columns
CATEGORICAL = ["preferred_device", "member", "income_band"]


@pytest.fixture(scope="module")
def demo():
    """Demo customers (notebook 03 steps) with a purchase, and their basis."""
    cfg = load_config(REPO / "configs" / "demo-retail.yaml")
    data = make_retail(n_customers=3000, n_lines=60_000, random_state=21)
    tx = clean_transactions(
        to_transactions(data.transactions, cfg.data.transactions), cfg.cleaning, now="2025-07-01"
    ).data
    table = build_for_config(tx, to_customers(data.customers, cfg.data.customers), cfg)
    population = basis.split_population(table.reset_index(), cfg.clustering.basis, CATEGORICAL)
    customers = population.clustered[["customer_id", *population.basis]].copy()
    return customers, population.numeric, population.categorical


@pytest.fixture(scope="module")
def prep(demo):
    customers, numeric, categorical = demo
    pre = BasisPreprocessor(numeric=numeric, categorical=categorical, skew=SKEW).fit(customers)
    assert set(pre.methods_.values()) == {"log1p", "yeo-johnson", "none"}
    assert pre.clip_bounds_["low"].notna().all()  # every column is clipped
    return pre


def make_model(demo, pre, method="kmeans", k=5, n_init=3, **options):
    customers, numeric, categorical = demo
    X = pre.transform(customers)
    seg = Segmenter(k, method=method, random_state=0, n_init=n_init, **options)
    seg.fit(X, order_by=customers["monetary"].to_numpy())
    names = {s: f"Segment {chr(64 + s)}" for s in range(1, seg.n_clusters_ + 1)}
    return SegmentationModel(pre, seg, numeric, categorical, names=names)


@pytest.fixture(scope="module")
def kmeans_model(demo, prep):
    return make_model(demo, prep)


@pytest.fixture(scope="module")
def gmm_model(demo, prep):
    return make_model(demo, prep, "gmm", k=4, n_init=1)


def reference(model, customers):
    """Python's own segments, indexed by customer id."""
    return model.predict(customers).set_axis(customers["customer_id"].to_numpy())


def assert_same_segments(scored, model, customers):
    ref = reference(model, customers)
    assert scored.index.is_unique and set(scored.index) == set(ref.index)
    got = scored["segment_id"].reindex(ref.index)
    mismatch = int((got.to_numpy() != ref.to_numpy()).sum())
    assert mismatch == 0, f"{mismatch} of {len(ref)} customers get another segment in the engine"


# ---------------------------------------------------------------------------
# equality with model.predict on the demo data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "options", "algorithm"),
    [
        ("kmeans", {}, "kmeans"),
        ("kmeans", {"minibatch_threshold": 1000}, "minibatch_kmeans"),
        ("ward", {}, "ward"),
        ("hdbscan", {"noise": "nearest"}, "hdbscan"),
        ("hdbscan", {"noise": "segment"}, "hdbscan"),
        ("gmm", {"k": 4, "n_init": 1}, "gmm"),
    ],
)
def test_engine_segments_equal_python_for_every_supported_method(
    demo, prep, method, options, algorithm
):
    customers = demo[0]
    model = make_model(demo, prep, method, **options)
    assert model.segmenter.algorithm_ == algorithm
    scored = score_in_engine(model, customers)
    assert list(scored.columns) == ["segment_id", "segment_name"]
    assert scored["segment_id"].dtype == np.int64
    assert_same_segments(scored, model, customers)
    expected_names = scored["segment_id"].map(model.names)
    assert (scored["segment_name"] == expected_names).all()
    # the segmentation is not trivial: customers fall in several segments
    assert scored["segment_id"].nunique() >= 2


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_gaussian_mixture_of_any_covariance_type(demo, prep, gmm_model, covariance_type):
    """The log-density argmax is written out for each covariance type sklearn has."""
    customers = demo[0]
    model = copy.deepcopy(gmm_model)
    X = prep.transform(customers)
    model.segmenter.model_ = GaussianMixture(
        4, covariance_type=covariance_type, random_state=1, n_init=1
    ).fit(X[:1000])
    scored = score_in_engine(model, customers)
    assert_same_segments(scored, model, customers)
    assert scored["segment_id"].nunique() == 4


@pytest.mark.parametrize(
    "params",
    [
        {"scale": "standard"},
        {"scale": "robust"},
        {"scale": "none", "winsorize": None},
        {"scale": "standard", "categorical_weight": 3.0, "winsorize": (0.05, 0.9)},
    ],
)
def test_preprocessed_features_equal_transform(demo, params):
    customers, numeric, categorical = demo
    pre = BasisPreprocessor(numeric=numeric, categorical=categorical, skew=SKEW, **params)
    expected = pre.fit_transform(customers)
    got = preprocess_expr(pre, ibis.memtable(customers), keep=["customer_id"]).to_pandas()
    assert list(got.columns) == ["customer_id", *pre.get_feature_names_out()]
    np.testing.assert_allclose(
        got.drop(columns="customer_id").to_numpy(), expected, rtol=0, atol=1e-12
    )


def test_tables_paths_and_the_model_method_give_the_same_segments(demo, kmeans_model, tmp_path):
    customers = demo[0]
    ref = reference(kmeans_model, customers)
    src = tmp_path / "customers.parquet"
    customers.to_parquet(src)
    con = ibis.duckdb.connect()
    table = con.read_parquet(str(src))
    # an Ibis table of any backend, through the SegmentationModel delegate
    via_method = kmeans_model.to_expr(table).to_pandas().set_index("customer_id")
    assert (via_method["segment_id"].reindex(ref.index) == ref).all()
    # a Parquet path, read by the engine
    from_path = score_in_engine(kmeans_model, src)
    assert (from_path["segment_id"].reindex(ref.index) == ref).all()
    # a saved and reloaded model scores the same
    path = save_model(kmeans_model, tmp_path / "model.joblib")
    reloaded = score_in_engine(load_model(path), table)
    assert (reloaded["segment_id"].reindex(ref.index) == ref).all()
    # names are optional
    bare = segment_expr(kmeans_model, table, names=False)
    assert bare.columns == ("customer_id", "segment_id")


def test_output_is_written_by_the_engine_atomically(demo, kmeans_model, tmp_path):
    customers = demo[0]
    out = tmp_path / "scores" / "segments.parquet"
    out.parent.mkdir()
    out.write_text("an old result")  # replaced, not appended to
    path = score_in_engine(kmeans_model, customers, output=out)
    assert path == out
    written = pd.read_parquet(out).set_index("customer_id")
    assert_same_segments(written, kmeans_model, customers)
    assert [p.name for p in out.parent.iterdir()] == ["segments.parquet"]  # no temp file left
    # a failing run leaves the previous result and no temp file behind
    with pytest.raises(InputDataError, match="monetary"):
        score_in_engine(kmeans_model, customers.drop(columns="monetary"), output=out)
    assert [p.name for p in out.parent.iterdir()] == ["segments.parquet"]
    assert len(pd.read_parquet(out)) == len(customers)


# ---------------------------------------------------------------------------
# a case computed by hand
# ---------------------------------------------------------------------------


def _hand_model(spend_b: float) -> SegmentationModel:
    """Two tight groups, so the centres are known: log1p(a), b -> A (0, 0) and B (2, 4).

    No scaling; winsorize=(0, 1) clips at the training min and max: log1p(a) to
    [0, 2] and b to [0, 4]. ``spend_b`` > 1 makes group B segment 1, < 1 segment 2.
    """
    a_big = math.expm1(2.0)
    train = pd.DataFrame(
        {
            "customer_id": [f"T{i}" for i in range(10)],
            "a": [0.0] * 5 + [a_big] * 5,
            "b": [0.0] * 5 + [4.0] * 5,
            "spend": [1.0] * 5 + [spend_b] * 5,
        }
    )
    pre = BasisPreprocessor(
        numeric=["a", "b"], skew={"a": "log1p", "b": "none"}, winsorize=(0.0, 1.0), scale="none"
    )
    X = pre.fit_transform(train)
    seg = Segmenter(2, random_state=0, n_init=2).fit(X, order_by=train["spend"].to_numpy())
    b_first = [[2.0, 4.0], [0.0, 0.0]]
    np.testing.assert_allclose(
        seg.cluster_centers_, b_first if spend_b > 1 else b_first[::-1], atol=1e-12
    )
    names = {1: "B", 2: "A"} if spend_b > 1 else {1: "A", 2: "B"}
    return SegmentationModel(pre, seg, ["a", "b"], names=names)


@pytest.fixture(scope="module")
def hand_model():
    return _hand_model(spend_b=9.0)


def test_a_case_computed_by_hand(hand_model):
    new = pd.DataFrame(
        {
            "customer_id": ["n1", "n2", "n3", "n4", "n5", "n6"],
            # features (log1p(a) clipped to [0, 2], b clipped to [0, 4]) and squared distances
            # to A = (0, 0) and B = (2, 4):
            "a": [
                0.0,  # (0, 1.5): A 2.25, B 4 + 6.25                              -> A
                math.expm1(1.5),  # (1.5, 2.5): A 8.5, B 2.5                      -> B
                1e6,  # log1p 13.8 clipped to 2: (2, 0): A 4, B 16                 -> A
                #       (unclipped (13.8, 0) would be B: A 190.9, B 139.4 + 16)
                1e6,  # (2, 3): A 13, B 1                                          -> B
                math.expm1(0.5),  # (0.5, 0.5): A 0.5, B 2.25 + 12.25             -> A
                0.0,  # b -10 clipped to 0: (0, 0): A 0, B 20                      -> A
            ],
            "b": [1.5, 2.5, 0.0, 3.0, 0.5, -10.0],
        }
    )
    scored = score_in_engine(hand_model, new)
    assert scored["segment_id"].to_dict() == {"n1": 2, "n2": 1, "n3": 2, "n4": 1, "n5": 2, "n6": 2}
    assert scored["segment_name"].tolist() == ["A", "B", "A", "B", "A", "A"]
    assert scored["segment_id"].tolist() == hand_model.predict(new).tolist()


@pytest.mark.parametrize("spend_b", [9.0, 0.1])
def test_an_exact_tie_goes_where_python_sends_it(spend_b):
    """(0, 2.5) is 6.25 from both centres: the centre the fitted model lists first wins.

    That is numpy's argmin over the underlying model's centres, i.e. *before* the
    segments were renumbered by value; with both numberings one of the two models
    has its raw order different from its segment order.
    """
    model = _hand_model(spend_b)
    new = pd.DataFrame({"customer_id": ["tie"], "a": [0.0], "b": [2.5]})
    first_raw = int(model.segmenter._mapping[0]) + 1
    assert model.predict(new).tolist() == [first_raw]
    assert score_in_engine(model, new)["segment_id"].tolist() == [first_raw]


# ---------------------------------------------------------------------------
# unknown levels, missing values, bad inputs
# ---------------------------------------------------------------------------


def test_unknown_categorical_levels_get_no_level_as_in_python(demo, kmeans_model):
    customers = demo[0].head(400).astype({"income_band": str})
    customers.loc[customers.index[:40], "preferred_device"] = "smartwatch"
    customers.loc[customers.index[40:60], "income_band"] = "unknown"
    with pytest.warns(UserWarning, match="levels not seen in fit"):
        ref = kmeans_model.predict(customers)
    scored = score_in_engine(kmeans_model, customers)
    assert (scored["segment_id"].to_numpy() == ref.to_numpy()).all()
    # and the unknown level really changes the features (all its dummies 0)
    feats = preprocess_expr(kmeans_model.preprocessor, ibis.memtable(customers)).to_pandas()
    dummies = [c for c in feats.columns if c.startswith("preferred_device_")]
    assert (feats.loc[:39, dummies] == 0).all().all()
    assert (feats.loc[40:, dummies] != 0).any(axis=1).all()


def test_unscorable_rows_get_a_null_segment_and_are_reported(demo, kmeans_model):
    customers = demo[0].head(500).reset_index(drop=True)
    bad = customers.astype({"member": object})
    bad.loc[[0, 1], "monetary"] = np.nan  # missing
    bad.loc[2, "avg_order_value"] = -3.0  # <= -1 in a log1p column
    bad.loc[3, "recency_days"] = np.inf
    bad.loc[4, "preferred_device"] = None  # missing category
    bad.loc[5, "member"] = None
    with pytest.raises(InputDataError):  # Python refuses the whole table
        kmeans_model.predict(bad)
    with pytest.warns(UserWarning, match=r"6 of 500 customers could not be scored") as rec:
        scored = score_in_engine(kmeans_model, bad)
    (message,) = [str(w.message) for w in rec if "could not be scored" in str(w.message)]
    for detail in (
        "`monetary` 2",
        "`avg_order_value` 1",
        "`recency_days` 1",
        "`preferred_device` 1",
    ):
        assert detail in message
    assert scored["segment_id"].dtype == "Int64"
    null_ids = set(scored.index[scored["segment_id"].isna()])
    assert null_ids == set(customers.loc[:5, "customer_id"])
    assert scored.loc[list(null_ids), "segment_name"].isna().all()
    # every other customer is scored exactly as Python scores it
    ok = customers.iloc[6:]
    assert (
        scored["segment_id"].reindex(ok["customer_id"]).to_numpy()
        == kmeans_model.predict(ok).to_numpy()
    ).all()
    counts = invalid_counts(kmeans_model, ibis.memtable(bad))
    assert counts.to_dict() == {
        "recency_days": 1,
        "monetary": 2,
        "avg_order_value": 1,
        "preferred_device": 1,
        "member": 1,
    }
    with pytest.raises(InputDataError, match=r"6 of 500 customers could not be scored.*impute"):
        score_in_engine(kmeans_model, bad, invalid="raise")
    # a clean table raises no such warning
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        score_in_engine(kmeans_model, customers)
    assert not [w for w in rec if "could not be scored" in str(w.message)]


def test_missing_and_mistyped_columns_fail_clearly(demo, kmeans_model):
    customers = demo[0].head(50)
    with pytest.raises(InputDataError, match=r"lacks 1 basis column.*`monetary`.*notebook 03"):
        segment_expr(kmeans_model, ibis.memtable(customers.drop(columns="monetary")))
    with pytest.raises(InputDataError, match=r"id column `client`.*id_column="):
        score_in_engine(kmeans_model, customers, id_column="client")
    texty = customers.astype({"frequency": str})
    with pytest.raises(InputDataError, match=r"`frequency` has type string.*try_cast"):
        score_in_engine(kmeans_model, texty)
    dated = customers.assign(member=pd.Timestamp("2024-01-01"))
    with pytest.raises(
        InputDataError, match=r"categorical basis column `member` has type timestamp"
    ):
        score_in_engine(kmeans_model, dated)
    with pytest.raises(InputDataError, match="not found"):
        score_in_engine(kmeans_model, "/nonexistent/customers.parquet")
    with pytest.raises(ValueError, match="needs a connection"):
        score_in_engine(kmeans_model, customers, engine="pyspark")


def test_kprototypes_is_refused_with_the_fallback(kmeans_model):
    seg = Segmenter(3, method="kprototypes", categorical=[0])
    seg.labels_ = np.zeros(3, dtype=np.intp)
    model = SegmentationModel(
        kmeans_model.preprocessor, seg, kmeans_model.numeric, kmeans_model.categorical
    )
    table = ibis.table({c: "float64" for c in ["customer_id", *model.features]}, name="t")
    with pytest.raises(
        InputDataError, match=r"'kprototypes'.*kmeans, ward, hdbscan, gmm.*model\.predict"
    ):
        segment_expr(model, table)
    assert "kprototypes" not in ENGINE_METHODS


# ---------------------------------------------------------------------------
# Spark
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java: no `java` on PATH")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("seglab-engine-scoring-test")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.mark.slow
def test_spark_gives_the_same_segments(spark, demo, prep, kmeans_model, gmm_model):
    customers = demo[0].copy().reset_index(drop=True)
    customers.loc[:9, "preferred_device"] = "smartwatch"  # unknown level
    customers.loc[10:11, "monetary"] = np.nan  # unscorable: NULL segment
    con = ibis.pyspark.connect(spark)
    ok = customers.drop(index=[10, 11])
    with pytest.warns(UserWarning, match="levels not seen"):
        expected = reference(kmeans_model, ok)
    # a diagonal-covariance mixture keeps Spark's generated code small (a full-covariance
    # one also gives the same segments, but Spark's code generator then falls back to
    # slower interpreted evaluation, which would make this test long)
    gmm_diag = copy.deepcopy(gmm_model)
    gmm_diag.segmenter.model_ = GaussianMixture(4, covariance_type="diag", random_state=1).fit(
        prep.transform(demo[0])[:1000]
    )
    for model in (kmeans_model, gmm_diag):
        with pytest.warns(
            UserWarning, match=r"2 of [\d,]+ customers could not be scored.*`monetary` 2"
        ):
            # the frame goes to Spark as a temporary view; Spark does all the scoring
            scored = score_in_engine(model, customers, connection=con)
        assert scored.loc[customers.loc[10:11, "customer_id"], "segment_id"].isna().all()
        if model is kmeans_model:
            got = scored["segment_id"].reindex(expected.index)
            assert (got.to_numpy() == expected.to_numpy()).all()
        else:
            with pytest.warns(UserWarning, match="levels not seen"):
                ref = reference(model, ok)
            assert (scored["segment_id"].reindex(ref.index).to_numpy() == ref.to_numpy()).all()
