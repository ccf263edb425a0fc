"""Tests for the synthetic demo data generator and its planted structure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from seglab.datasets import (
    DIRTY_RATES,
    RETAIL_SEGMENTS,
    DemoData,
    load_demo,
    make_b2b,
    make_retail,
    read_demo,
    write_demo,
)
from seglab.errors import ConfigError, InputDataError

START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2025-06-30")
WINDOW_END = END + pd.Timedelta(days=1)  # exclusive bound; also the recency reference date
SMALL = {"n_customers": 3_000, "n_lines": 60_000}
VIP = "VIP loyalists"


# ------------------------------------------------------------------------------------------
# fixtures and helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Run KMeans single-threaded: on a busy 2-core machine OpenMP threads oversubscribe
    and a fit takes ten times longer."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def retail() -> DemoData:
    """The default-size retail demo (what ``make report`` runs on)."""
    return make_retail()


@pytest.fixture(scope="module")
def small() -> DemoData:
    return make_retail(**SMALL, random_state=7)


@pytest.fixture(scope="module")
def b2b() -> DemoData:
    return make_b2b()


def _clean(tx: pd.DataFrame, id_col: str = "customer_id") -> pd.DataFrame:
    """Plain-pandas cleaning: drop missing ids, non-positive qty/price, duplicates, out of window."""
    out = tx.dropna(subset=[id_col])
    out = out[(out["quantity"] > 0) & (out["unit_price"] > 0)]
    out = out[(out["timestamp"] >= START) & (out["timestamp"] < WINDOW_END)]
    out = out.drop_duplicates()
    return out.assign(amount=out["quantity"] * out["unit_price"])


def _rfm(clean: pd.DataFrame, id_col: str = "customer_id") -> pd.DataFrame:
    g = clean.groupby(id_col)
    rfm = pd.DataFrame(
        {
            "recency": (WINDOW_END - g["timestamp"].max()).dt.days,
            "frequency": g["order_id"].nunique(),
            "monetary": g["amount"].sum(),
        }
    )
    rfm["aov"] = rfm["monetary"] / rfm["frequency"]
    return rfm


@pytest.fixture(scope="module")
def retail_features(retail: DemoData) -> tuple[np.ndarray, pd.Series]:
    """Standardised log RFM + AOV + category spend shares per purchasing customer."""
    clean = _clean(retail.transactions)
    rfm = _rfm(clean)
    spend = clean.pivot_table(
        index="customer_id", columns="category", values="amount", aggfunc="sum", fill_value=0.0
    )
    shares = spend.div(spend.sum(axis=1), axis=0)
    features = pd.concat([np.log1p(rfm), shares], axis=1)
    z = StandardScaler().fit_transform(features)
    truth = retail.truth.set_index("customer_id").loc[features.index, "segment"]
    return z, truth


def _segment_of(demo: DemoData) -> pd.Series:
    return demo.truth.set_index(demo.id_column)["segment"]


# ------------------------------------------------------------------------------------------
# determinism, sizes, schema
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(small: DemoData) -> None:
    again = make_retail(**SMALL, random_state=7)
    for name, frame in small.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name], obj=name)
    assert small.meta == again.meta


def test_different_seed_gives_different_data(small: DemoData) -> None:
    other = make_retail(**SMALL, random_state=8)
    assert not small.transactions.head(1_000).equals(other.transactions.head(1_000))
    assert not small.truth["segment"].equals(other.truth["segment"])


def test_b2b_same_seed_identical_and_seed_matters(b2b: DemoData) -> None:
    again = make_b2b()
    for name, frame in b2b.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name], obj=name)
    other = make_b2b(random_state=1)
    assert not b2b.transactions.head(500).equals(other.transactions.head(500))


@pytest.mark.parametrize(
    ("n_customers", "n_lines"), [(20_000, 400_000), (3_000, 60_000), (500, 8_000)]
)
def test_sizes_close_to_request(n_customers: int, n_lines: int, retail: DemoData) -> None:
    demo = retail if n_customers == 20_000 else make_retail(n_customers, n_lines, random_state=3)
    assert len(demo.customers) == n_customers
    assert len(demo.truth) == n_customers
    assert abs(len(demo.transactions) / n_lines - 1) <= 0.10


def test_b2b_size_close_to_request(b2b: DemoData) -> None:
    assert len(b2b.customers) == 2_000
    assert abs(len(b2b.transactions) / 120_000 - 1) <= 0.10


def test_retail_columns_and_dtypes(retail: DemoData) -> None:
    tx = retail.transactions
    assert list(tx.columns) == [
        "order_id",
        "customer_id",
        "timestamp",
        "category",
        "product_id",
        "quantity",
        "unit_price",
        "channel",
    ]
    for col in ("order_id", "customer_id", "category", "product_id", "channel"):
        assert pd.api.types.is_string_dtype(tx[col]), col
    assert tx["timestamp"].dtype == "datetime64[ns]"
    assert tx["quantity"].dtype == np.int64
    assert tx["unit_price"].dtype == np.float64
    assert (tx["unit_price"] >= 0).all()
    assert (tx["quantity"] != 0).all()
    assert 6 <= tx["category"].nunique() <= 8
    assert set(tx["channel"]) == {"online", "store", "app"}

    cu = retail.customers
    assert list(cu.columns) == [
        "customer_id",
        "signup_date",
        "age",
        "gender",
        "income_band",
        "region",
        "city",
        "acquisition_channel",
        "preferred_device",
        "member",
    ]
    assert cu["customer_id"].is_unique
    assert cu["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert cu["signup_date"].dtype == "datetime64[ns]"
    assert cu["age"].between(18, 85).all()
    assert isinstance(cu["income_band"].dtype, pd.CategoricalDtype)
    assert cu["income_band"].cat.ordered
    assert cu["member"].dtype == bool
    assert set(cu["preferred_device"]) == {"mobile", "desktop", "tablet", "store"}
    assert {"organic search", "paid social", "referral", "store", "email"} == set(
        cu["acquisition_channel"]
    )

    assert list(retail.truth.columns) == ["customer_id", "segment", "segment_id"]
    assert retail.truth["segment_id"].dtype == np.int64
    assert list(retail.campaigns.columns) == [
        "customer_id",
        "campaign_id",
        "sent_date",
        "treated",
        "responded",
    ]
    assert retail.contacts is None
    json.dumps(retail.meta)  # meta is plain JSON


def test_cities_nested_in_regions(retail: DemoData) -> None:
    regions_per_city = retail.customers.groupby("city")["region"].nunique()
    assert (regions_per_city == 1).all()
    assert retail.customers.groupby("region")["city"].nunique().between(2, 6).all()


def test_timestamps_have_season_and_weekday_pattern(retail: DemoData) -> None:
    clean = _clean(retail.transactions)
    daily = clean.groupby(clean["timestamp"].dt.normalize())["order_id"].nunique()
    month = daily.index.month
    assert daily[np.isin(month, [11, 12])].mean() > 1.25 * daily[~np.isin(month, [11, 12])].mean()
    dow = daily.index.day_of_week
    assert daily[dow == 5].mean() > 1.15 * daily[dow == 1].mean()


# ------------------------------------------------------------------------------------------
# dirty rows
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["retail", "b2b"])
def test_planted_dirty_rates(flavour: str, retail: DemoData, b2b: DemoData) -> None:
    demo = retail if flavour == "retail" else b2b
    tx = demo.transactions
    n = len(tx)
    observed = {
        "missing_customer_id": int(tx[demo.id_column].isna().sum()),
        "zero_unit_price": int((tx["unit_price"] == 0).sum()),
        "duplicate_lines": int(tx.duplicated().sum()),
        "return_lines": int((tx["quantity"] < 0).sum()),
        "future_timestamps": int((tx["timestamp"] >= WINDOW_END).sum()),
    }
    for rule, rate in DIRTY_RATES.items():
        assert abs(observed[rule] / n - rate) <= 0.25 * rate, rule
    assert 10 <= observed["future_timestamps"] <= 31
    assert observed == demo.meta["dirty"]["counts"]
    assert (tx["timestamp"] >= START).all()


def test_returns_are_cancellations_of_earlier_purchases(retail: DemoData) -> None:
    tx = retail.transactions
    is_return = tx["quantity"] < 0
    assert tx.loc[is_return, "order_id"].str.startswith("C").all()
    assert not tx.loc[~is_return, "order_id"].str.startswith("C").any()
    returns = tx[is_return].drop_duplicates()
    sales = tx[~is_return & tx["customer_id"].notna()]
    first_sale = (
        sales.groupby(["customer_id", "product_id"], as_index=False)["timestamp"]
        .min()
        .rename(columns={"timestamp": "first_bought"})
    )
    matched = returns.merge(first_sale, on=["customer_id", "product_id"], how="left")
    assert returns["customer_id"].notna().all()
    assert matched["first_bought"].notna().all()
    assert (matched["first_bought"] < matched["timestamp"]).all()


def test_duplicates_are_exact_copies(small: DemoData) -> None:
    tx = small.transactions
    dup = tx.duplicated(keep=False)
    assert dup.any()
    # apart from planted copies, an order never lists the same product twice
    once = tx.drop_duplicates()
    sales = once[once["quantity"] > 0]
    assert not sales.duplicated(subset=["order_id", "product_id"]).any()


# ------------------------------------------------------------------------------------------
# planted segments (B2C)
# ------------------------------------------------------------------------------------------


def test_segment_shares_and_prospects(retail: DemoData) -> None:
    share = retail.truth["segment"].value_counts(normalize=True)
    for seg in RETAIL_SEGMENTS:
        assert share[seg.name] == pytest.approx(seg.share, abs=0.005)
    prospects = retail.truth.loc[retail.truth["segment"] == "Prospect", "customer_id"]
    assert share["Prospect"] == pytest.approx(0.10, abs=0.005)
    assert not retail.transactions["customer_id"].isin(prospects).any()
    assert prospects.isin(retail.customers["customer_id"]).all()
    buyers = retail.transactions["customer_id"].dropna().unique()
    assert set(retail.truth.loc[retail.truth["customer_id"].isin(buyers), "segment"]) == {
        s.name for s in RETAIL_SEGMENTS
    }


def test_signup_precedes_first_purchase(retail: DemoData) -> None:
    clean = _clean(retail.transactions)
    first = clean.groupby("customer_id")["timestamp"].min()
    signup = retail.customers.set_index("customer_id").loc[first.index, "signup_date"]
    assert (signup <= first).all()


def test_kmeans_recovers_planted_segments(retail_features: tuple[np.ndarray, pd.Series]) -> None:
    z, truth = retail_features
    labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(z)
    assert adjusted_rand_score(truth, labels) >= 0.85


def test_silhouette_prefers_five_clusters(retail_features: tuple[np.ndarray, pd.Series]) -> None:
    z, _truth = retail_features
    sample = z[np.random.default_rng(0).choice(len(z), size=5_000, replace=False)]
    scores = {}
    for k in (3, 4, 5, 6, 7):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(sample)
        scores[k] = silhouette_score(sample, labels)
    assert max(scores, key=scores.get) == 5, scores


def test_vip_is_most_valuable_and_stays_active(retail: DemoData) -> None:
    clean = _clean(retail.transactions)
    seg = _segment_of(retail)
    clean = clean.assign(segment=clean["customer_id"].map(seg))
    revenue_share = clean.groupby("segment")["amount"].sum() / clean["amount"].sum()
    assert revenue_share.idxmax() == VIP
    monetary = clean.groupby("customer_id")["amount"].sum()
    index = monetary.groupby(seg.loc[monetary.index]).mean() / monetary.mean() * 100
    assert index.idxmax() == VIP
    assert index[VIP] > 300

    cutoff = END - pd.DateOffset(months=6)
    buyers = pd.Series(clean["customer_id"].unique())
    recent = clean[clean["timestamp"] > cutoff]
    orders_recent = recent.groupby("customer_id")["order_id"].nunique()
    per_customer = (
        orders_recent.reindex(buyers, fill_value=0).groupby(seg.loc[buyers].values).mean()
    )
    others = per_customer.drop(VIP)
    assert per_customer[VIP] >= 1.5 * others.max()
    assert per_customer["Lapsed one-timers"] == 0


def test_segments_differ_in_behaviour(retail: DemoData) -> None:
    rfm = _rfm(_clean(retail.transactions))
    med = rfm.groupby(_segment_of(retail).loc[rfm.index]).median()
    assert med["frequency"].idxmax() == VIP
    assert med["aov"].idxmax() == "Occasional big spenders"
    assert med["aov"].idxmin() == "Bargain hunters"
    assert med["recency"].idxmax() == "Lapsed one-timers"
    assert med.loc["Lapsed one-timers", "frequency"] <= 2


def test_descriptors_correlate_mildly_with_segment(retail: DemoData) -> None:
    df = retail.customers.merge(retail.truth, on="customer_id")
    member = df.groupby("segment")["member"].mean()
    assert member.idxmax() == VIP
    assert 0.4 < member[VIP] < 0.95
    mobile = df.groupby("segment")["preferred_device"].apply(lambda s: (s == "mobile").mean())
    assert mobile["Bargain hunters"] > mobile["Regular shoppers"] + 0.1
    # mild: no descriptor value identifies a segment
    top_share = pd.crosstab(df["preferred_device"], df["segment"], normalize="index").max(axis=1)
    assert (top_share < 0.6).all()


# ------------------------------------------------------------------------------------------
# survey
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey_items(retail: DemoData) -> pd.DataFrame:
    """Item answers with reverse-keyed items recoded (6 - x)."""
    meta = retail.meta["survey"]
    items = retail.survey[list(meta["item_factor"])].copy()
    for item in meta["reverse_keyed"]:
        items[item] = 6 - items[item]
    return items


def test_survey_shape_and_values(retail: DemoData) -> None:
    survey = retail.survey
    meta = retail.meta["survey"]
    items = list(meta["item_factor"])
    assert 16 <= len(items) <= 20
    assert 3 <= len(meta["reverse_keyed"]) <= 5
    assert set(meta["item_factor"].values()) == set(meta["factors"])
    assert len(meta["factors"]) == 4
    assert list(survey.columns) == ["customer_id", *items]
    values = survey[items].to_numpy()
    assert set(np.unique(values[~np.isnan(values)])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    buyers = set(retail.transactions["customer_id"].dropna())
    n_buyers = int((retail.truth["segment"] != "Prospect").sum())
    assert survey["customer_id"].is_unique
    assert (
        survey["customer_id"]
        .isin(retail.truth.loc[retail.truth["segment"] != "Prospect", "customer_id"])
        .all()
    )
    assert len(set(survey["customer_id"]) & buyers) > 0.95 * len(survey)
    assert 0.25 <= len(survey) / n_buyers <= 0.35
    missing = survey[items].isna()
    assert 0.02 <= missing.to_numpy().mean() <= 0.04
    assert (missing.sum(axis=1) >= len(items) // 3).sum() >= 10


def test_survey_has_four_factors_by_parallel_analysis(survey_items: pd.DataFrame) -> None:
    observed = np.sort(np.linalg.eigvalsh(survey_items.corr().to_numpy()))[::-1]
    rng = np.random.default_rng(0)
    n, p = survey_items.shape
    random_eigs = np.array(
        [
            np.sort(np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False)))[
                ::-1
            ]
            for _ in range(20)
        ]
    )
    threshold = np.percentile(random_eigs, 95, axis=0)
    above = observed > threshold
    n_factors = int(np.argmin(above)) if not above.all() else p
    assert n_factors == 4


def test_items_correlate_most_with_own_factor(retail: DemoData, survey_items: pd.DataFrame) -> None:
    item_factor = retail.meta["survey"]["item_factor"]
    for item, factor in item_factor.items():
        corr = {}
        for f in retail.meta["survey"]["factors"]:
            members = [i for i, g in item_factor.items() if g == f and i != item]
            corr[f] = survey_items[item].corr(survey_items[members].mean(axis=1))
        assert max(corr, key=corr.get) == factor, (item, corr)


def test_factor_scores_differ_by_segment(retail: DemoData, survey_items: pd.DataFrame) -> None:
    item_factor = retail.meta["survey"]["item_factor"]
    scores = pd.DataFrame(
        {
            f: survey_items[[i for i, g in item_factor.items() if g == f]].mean(axis=1)
            for f in retail.meta["survey"]["factors"]
        }
    )
    seg = _segment_of(retail).loc[retail.survey["customer_id"]].to_numpy()
    means = scores.groupby(seg).mean()
    assert means["price_sensitivity"].idxmax() == "Bargain hunters"
    assert means["quality_brand"].idxmax() == VIP


# ------------------------------------------------------------------------------------------
# campaigns
# ------------------------------------------------------------------------------------------


def test_campaigns_randomised_with_uplift(retail: DemoData) -> None:
    camp = retail.campaigns
    assert camp["sent_date"].between(START, END).all()
    assert 2 <= camp["campaign_id"].nunique() <= 3
    assert 0.20 <= 1 - camp["treated"].mean() <= 0.30
    assert not camp.duplicated(subset=["customer_id", "campaign_id"]).any()
    seg = camp["customer_id"].map(_segment_of(retail))
    treated_share = camp.groupby(seg)["treated"].mean()
    assert treated_share.max() - treated_share.min() < 0.05  # randomised within segments
    rate = camp.groupby([seg, "treated"])["responded"].mean().unstack()
    uplift = rate[True] - rate[False]
    assert uplift["Bargain hunters"] > 0.05
    assert uplift["Bargain hunters"] > uplift[VIP]
    assert rate[False].idxmax() == VIP


# ------------------------------------------------------------------------------------------
# B2B
# ------------------------------------------------------------------------------------------


def test_b2b_schema(b2b: DemoData) -> None:
    assert b2b.id_column == "account_id"
    assert list(b2b.customers.columns) == [
        "account_id",
        "industry",
        "employee_count",
        "annual_revenue",
        "region",
        "technology",
        "signup_date",
    ]
    assert list(b2b.transactions.columns) == [
        "order_id",
        "account_id",
        "contact_id",
        "timestamp",
        "category",
        "product_id",
        "quantity",
        "unit_price",
        "channel",
    ]
    assert list(b2b.truth.columns) == ["account_id", "segment", "segment_id"]
    assert b2b.survey.empty
    assert b2b.transactions["timestamp"].dtype == "datetime64[ns]"
    assert b2b.truth["segment"].nunique() == 5  # four planted segments + prospects
    json.dumps(b2b.meta)


def test_b2b_contacts_and_roles(b2b: DemoData) -> None:
    contacts = b2b.contacts
    assert contacts is not None
    assert set(contacts["role"]) == {"decision maker", "manager", "user"}
    assert contacts["contact_id"].is_unique
    per_account = contacts.groupby("account_id").size()
    assert per_account.between(1, 8).all()
    assert set(per_account.index) == set(b2b.customers["account_id"])
    has_dm = contacts.groupby("account_id")["role"].apply(lambda r: (r == "decision maker").any())
    assert has_dm.all()
    size = b2b.customers.set_index("account_id")["employee_count"]
    assert np.corrcoef(np.log(size.loc[per_account.index]), per_account)[0, 1] > 0.3
    assert contacts["email_opt_in"].dtype == bool


def test_b2b_orders_are_placed_by_account_contacts(b2b: DemoData) -> None:
    tx = b2b.transactions.dropna(subset=["account_id"])
    owner = b2b.contacts.set_index("contact_id")["account_id"]
    assert (tx["contact_id"].map(owner) == tx["account_id"]).all()
    assert b2b.transactions["contact_id"].isna().equals(b2b.transactions["account_id"].isna())


def test_b2b_orders_fewer_and_larger_than_retail(b2b: DemoData, small: DemoData) -> None:
    def order_value(demo: DemoData) -> float:
        clean = _clean(demo.transactions, demo.id_column)
        return float(clean.groupby("order_id")["amount"].sum().median())

    assert order_value(b2b) > 10 * order_value(small)


def test_b2b_kmeans_on_log_rfm_recovers_segments(b2b: DemoData) -> None:
    rfm = _rfm(_clean(b2b.transactions, "account_id"), "account_id")
    z = StandardScaler().fit_transform(np.log1p(rfm[["recency", "frequency", "monetary"]]))
    labels = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(z)
    truth = _segment_of(b2b).loc[rfm.index]
    assert adjusted_rand_score(truth, labels) >= 0.7
    size = b2b.customers.set_index("account_id")["employee_count"]
    by_segment = size.groupby(_segment_of(b2b)).median()
    assert by_segment.idxmax() == "Strategic key accounts"


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_and_read_round_trip(fmt: str, tmp_path: Path) -> None:
    demo = make_retail(n_customers=400, n_lines=6_000, random_state=5)
    paths = write_demo(demo, tmp_path, fmt=fmt)
    assert set(paths) == {"transactions", "customers", "survey", "campaigns", "truth", "meta"}
    assert paths["truth"] == tmp_path / "truth" / f"segments.{fmt}"
    assert all(p.exists() for p in paths.values())
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    back = read_demo(tmp_path)
    for name, frame in demo.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, obj=name)
    assert back.meta == json.loads(json.dumps(demo.meta))


def test_write_b2b_includes_contacts(tmp_path: Path) -> None:
    demo = make_b2b(n_accounts=200, n_lines=12_000, random_state=5)
    paths = write_demo(demo, tmp_path)
    assert paths["contacts"] == tmp_path / "contacts.csv"
    back = load_demo(tmp_path)
    for name, frame in demo.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, obj=name)


def test_failed_write_leaves_old_file_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = make_retail(n_customers=300, n_lines=4_000, random_state=2)
    write_demo(demo, tmp_path)
    before = (tmp_path / "transactions.csv").read_bytes()
    other = make_retail(n_customers=300, n_lines=4_000, random_state=3)

    def broken(self: pd.DataFrame, path: object, **kwargs: object) -> None:
        Path(str(path)).write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_demo(other, tmp_path)
    assert (tmp_path / "transactions.csv").read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_load_demo_by_flavour() -> None:
    demo = load_demo("b2b", n_customers=150, n_lines=9_000, random_state=4)
    assert len(demo.customers) == 150
    assert demo.meta["flavour"] == "b2b"
    assert load_demo("b2c", n_customers=150, n_lines=3_000).meta["flavour"] == "retail"


def test_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n_lines"):
        make_retail(n_customers=1_000, n_lines=2_000)
    with pytest.raises(ConfigError, match="fmt"):
        write_demo(make_retail(n_customers=100, n_lines=2_000), tmp_path, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="folder"):
        load_demo(tmp_path / "nowhere")
    with pytest.raises(InputDataError, match="write_demo"):
        read_demo(tmp_path)
