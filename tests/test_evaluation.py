"""Tests of seglab.evaluation: bootstrap CIs, lift, KPIs, uplift, rules, likelihood, scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seglab import evaluation as ev
from seglab.datasets import make_retail
from seglab.errors import InputDataError
from seglab.features import build_customer_table

CUTOFF_TRAIN = "2024-07-01"
CUTOFF_EVAL = "2025-01-01"
HORIZON = 181
RFM = ["recency_days", "frequency", "monetary", "avg_order_value"]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo():
    """Planted demo, cleaned with pandas, with customer tables and outcomes at two cutoffs."""
    d = make_retail(n_customers=6000, n_lines=120_000, random_state=2)
    tx = d.transactions.dropna(subset=["customer_id"])
    tx = tx[(tx["quantity"] > 0) & (tx["unit_price"] > 0)].drop_duplicates()
    tx = tx.assign(amount=tx["quantity"] * tx["unit_price"], is_return=False)
    seg = d.truth.set_index("customer_id")["segment"]
    out = {"d": d, "tx": tx, "seg": seg}
    for name, cutoff in (("train", CUTOFF_TRAIN), ("eval", CUTOFF_EVAL)):
        hist, fut = ev.time_split(tx, cutoff, HORIZON)
        table = build_customer_table(hist, d.customers, reference_date=cutoff)
        out[name] = (table, ev.next_period_outcomes(seg, fut, table))
    return out


# ----------------------------------------------------------------------------- bootstrap_ci
def test_bootstrap_mean_matches_normal_theory():
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(10, 2, 4000), rng.exponential(3, 4000)]
    groups = np.repeat(["a", "b"], 4000)
    ci = ev.bootstrap_ci(values, groups, "mean", n_boot=1000, random_state=1)
    for g in ("a", "b"):
        x = values[groups == g]
        half = stats.norm.ppf(0.975) * x.std(ddof=1) / np.sqrt(len(x))
        assert ci.loc[g, "estimate"] == pytest.approx(x.mean())
        assert ci.loc[g, "low"] == pytest.approx(x.mean() - half, abs=0.15 * half)
        assert ci.loc[g, "high"] == pytest.approx(x.mean() + half, abs=0.15 * half)
    assert (ci["n"] == 4000).all()


@pytest.mark.parametrize("stat", ["mean", "share", "sum_share"])
def test_large_base_shortcut_gives_the_resampling_interval(monkeypatch, stat):
    """Beyond EXACT_CELLS the normal-limit replicates give the intervals resampling gives."""
    rng = np.random.default_rng(8)
    groups = rng.choice(["x", "y", "z"], size=20_000, p=[0.1, 0.3, 0.6])
    values = rng.lognormal(3, 1.2, size=20_000) * np.where(groups == "x", 3, 1)  # skewed spend
    exact = ev.bootstrap_ci(values, groups, stat, n_boot=1000, random_state=2)
    monkeypatch.setattr(ev, "EXACT_CELLS", 1_000)
    fast = ev.bootstrap_ci(values, groups, stat, n_boot=1000, random_state=2)
    assert not np.allclose(fast["low"], exact["low"], rtol=1e-9)  # really the other path
    pd.testing.assert_series_equal(fast["estimate"], exact["estimate"])
    width = exact["high"] - exact["low"]
    np.testing.assert_allclose(fast["low"], exact["low"], atol=0.1 * width.max())
    np.testing.assert_allclose(fast["high"] - fast["low"], width, rtol=0.12)


def test_bootstrap_share_matches_binomial_theory():
    rng = np.random.default_rng(3)
    groups = rng.choice(["x", "y", "z"], size=5000, p=[0.2, 0.3, 0.5])
    ci = ev.bootstrap_ci(None, groups, "share", n_boot=1000, random_state=4)
    p = ci["estimate"]
    half = stats.norm.ppf(0.975) * np.sqrt(p * (1 - p) / 5000)
    np.testing.assert_allclose(ci["high"] - ci["low"], 2 * half, rtol=0.15)
    assert p.sum() == pytest.approx(1.0)


def test_bootstrap_sum_share_and_determinism():
    rng = np.random.default_rng(5)
    values = rng.gamma(2, 50, 3000)
    groups = rng.integers(0, 4, 3000)
    a = ev.bootstrap_ci(values, groups, "sum_share", n_boot=300, random_state=7)
    b = ev.bootstrap_ci(values, groups, "sum_share", n_boot=300, random_state=7)
    c = ev.bootstrap_ci(values, groups, "sum_share", n_boot=300, random_state=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["low"].equals(c["low"])
    expected = pd.Series(values).groupby(groups).sum() / values.sum()
    np.testing.assert_allclose(a["estimate"], expected)
    assert ((a["low"] < a["estimate"]) & (a["estimate"] < a["high"])).all()


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="stat"):
        ev.bootstrap_ci([1.0], ["a"], "median")
    with pytest.raises(ValueError, match="differ in length"):
        ev.bootstrap_ci([1.0, 2.0], ["a"])


def test_bootstrap_mean_in_chunks_draws_as_one_array(monkeypatch):
    """Exact "mean" replicates drawn in chunks equal those of one (n_boot, n) draw."""
    rng = np.random.default_rng(3)
    values = np.r_[rng.normal(5, 1, 701), rng.exponential(2, 333)]
    groups = np.r_[["a"] * 701, ["b"] * 333]
    monkeypatch.setattr(ev, "_CHUNK_CELLS", 7_010)  # chunks of 10 and 21 replicates
    chunked = ev.bootstrap_ci(values, groups, "mean", n_boot=97, random_state=5)
    monkeypatch.setattr(ev, "_CHUNK_CELLS", 10**9)  # one chunk: the plain single draw
    whole = ev.bootstrap_ci(values, groups, "mean", n_boot=97, random_state=5)
    pd.testing.assert_frame_equal(chunked, whole)
    # and the plain draw itself, written out
    draw = np.random.default_rng(5)
    reps = [
        x[draw.integers(0, len(x), size=(97, len(x)))].mean(axis=1)
        for x in (values[:701], values[701:])
    ]
    assert np.percentile(reps[1], 2.5) == chunked.loc["b", "low"]


@pytest.mark.parametrize("stat", ["mean", "share", "sum_share"])
def test_bootstrap_same_result_whatever_the_label_container(stat):
    """Text, categorical (categories in another order), object array and list agree; labels sorted."""
    rng = np.random.default_rng(4)
    labels = rng.choice(["b", "a", "c"], 900).astype(object)
    labels[::50] = None
    values = rng.normal(3, 1, 900)
    values[::37] = np.nan
    runs = [
        ev.bootstrap_ci(values, g, stat, n_boot=60, random_state=1)
        for g in (
            labels,
            list(labels),
            pd.Series(labels, dtype="str"),
            pd.Series(labels, dtype=pd.CategoricalDtype(["c", "b", "z", "a"])),
            pd.Index(labels),
        )
    ]
    assert runs[0].index.tolist() == ["a", "b", "c"]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(other, runs[0], check_index_type=False)
    ints = ev.bootstrap_ci(values, np.r_[[10, 2, 1] * 300], stat, n_boot=20, random_state=1)
    assert ints.index.tolist() == [1, 2, 10]


# ----------------------------------------------------------------------------- outcomes & lift
def test_time_split_bounds():
    tx = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2024-12-31 23:59", "2025-01-01 00:00", "2025-01-10 23:00", "2025-01-11 00:00"]
            )
        }
    )
    hist, fut = ev.time_split(tx, "2025-01-01", 10)
    assert len(hist) == 1 and len(fut) == 2


def test_next_period_outcomes_counts_returns_in_revenue_only():
    seg = pd.Series({"a": 1, "b": 2, "c": 1})
    fut = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "amount": [10.0, -4.0, -5.0],
            "is_return": [False, True, True],
        }
    )
    out = ev.next_period_outcomes(seg, fut)
    assert out["bought_next"].tolist() == [True, False, False]
    assert out["revenue_next"].tolist() == [6.0, -5.0, 0.0]
    # the same from the window's customer table, built by the engine (large-data path)
    fut = fut.assign(order_id=["1", "2", "3"], timestamp=pd.Timestamp("2025-01-05"))
    table = build_customer_table(fut, reference_date="2025-02-01", monetary="gross")
    pd.testing.assert_frame_equal(ev.outcomes_from_table(seg, table), out)


@pytest.fixture(scope="module")
def demo_lines(demo):
    """The demo's priced lines with a return flag, the outcome window's lines and its end."""
    tx = demo["d"].transactions.dropna(subset=["customer_id"])
    tx = tx[tx["unit_price"] > 0].assign(amount=lambda t: t["quantity"] * t["unit_price"])
    tx = tx.assign(is_return=tx["quantity"] < 0)
    _hist, fut = ev.time_split(tx, CUTOFF_EVAL, HORIZON)
    return tx, fut, pd.Timestamp(CUTOFF_EVAL) + pd.Timedelta(days=HORIZON)


def test_outcomes_from_window_table_match_lines(demo, demo_lines):
    """Engine path (customer table of the window) == line path, on the demo with returns."""
    tx, fut, end = demo_lines
    window = build_customer_table(tx, reference_date=end, window=(CUTOFF_EVAL, end))
    assert fut["is_return"].any()
    lines = ev.next_period_outcomes(demo["seg"], fut)
    pd.testing.assert_frame_equal(ev.outcomes_from_table(demo["seg"], window), lines, atol=1e-6)


def test_outcomes_between_two_cumulative_tables_match_lines(demo, demo_lines):
    """Difference of the tables at the cutoff and at the end == the window's own lines."""
    tx, fut, end = demo_lines
    before = build_customer_table(tx, reference_date=CUTOFF_EVAL)
    after = build_customer_table(tx, reference_date=end)
    lines = ev.next_period_outcomes(demo["seg"], fut)
    got = ev.outcomes_between(demo["seg"], before, after)
    assert got["bought_next"].any() and not got["bought_next"].all()
    pd.testing.assert_frame_equal(got, lines, atol=1e-6)
    # the customers argument is honoured as in the line path
    some = list(demo["seg"].index[:50]) + ["nobody"]
    pd.testing.assert_frame_equal(
        ev.outcomes_between(demo["seg"], before, after.reset_index(), customers=some),
        ev.next_period_outcomes(demo["seg"], fut, customers=some),
        atol=1e-6,
    )


def test_outcomes_between_counts_lines_not_orders():
    """An order spanning the cutoff still makes its customer a buyer in the period."""
    cutoff = pd.Timestamp("2025-01-10")
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d"],
            "order_id": ["1", "1", "2", "3", "4", "5"],
            "timestamp": [cutoff - pd.Timedelta(hours=1), cutoff + pd.Timedelta(hours=1)]
            + [pd.Timestamp("2025-01-02"), pd.Timestamp("2025-01-12")]
            + [pd.Timestamp("2025-01-15"), pd.Timestamp("2025-01-03")],
            "amount": [10.0, 2.5, 8.0, -3.0, 7.0, 4.0],
            "is_return": [False, False, False, True, False, False],
        }
    )
    end = cutoff + pd.Timedelta(days=30)
    seg = pd.Series({"a": 1, "b": 1, "d": 2, "e": 2})
    got = ev.outcomes_between(
        seg,
        build_customer_table(tx, reference_date=cutoff),
        build_customer_table(tx, reference_date=end),
    )
    # by hand: a bought 2.5 in the period, b only returned 3, d and e did nothing (c is new)
    assert got["bought_next"].to_dict() == {"a": True, "b": False, "d": False, "e": False}
    assert got["revenue_next"].to_dict() == {"a": 2.5, "b": -3.0, "d": 0.0, "e": 0.0}
    window = build_customer_table(tx, reference_date=end, window=(cutoff, end))
    pd.testing.assert_frame_equal(got, ev.outcomes_from_table(seg, window))


def test_outcomes_between_refuses_swapped_or_partial_tables():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "2", "3"],
            "timestamp": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-01-03"]),
            "amount": [5.0, 6.0, 7.0],
        }
    )
    early = build_customer_table(tx, reference_date="2025-01-10")
    late = build_customer_table(tx, reference_date="2025-02-01")
    seg = pd.Series({"a": 1, "b": 2})
    with pytest.raises(InputDataError, match="1 customers have fewer lines"):
        ev.outcomes_between(seg, late, early)
    with pytest.raises(InputDataError, match="1 customers have fewer lines"):
        ev.outcomes_between(seg, early, late.drop(index="b"))
    with pytest.raises(InputDataError, match="n_return_lines"):
        ev.outcomes_between(seg, early.drop(columns="n_return_lines"), late)


def test_vip_lift_above_one_with_ci(demo):
    _, outcomes = demo["eval"]
    lift = ev.segment_lift(outcomes, n_boot=300, random_state=0)
    vip = lift.loc["VIP loyalists"]
    assert vip["lift"] > 1 and vip["lift_low"] > 1 and vip["ci_excludes_1"]
    assert lift.loc["Lapsed one-timers", "lift"] < 1
    assert lift["base_rate"].iloc[0] == pytest.approx(outcomes["bought_next"].mean())


def test_lift_ci_includes_one_when_segments_are_random():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"segment": rng.integers(0, 3, 3000), "bought_next": rng.random(3000) < 0.4})
    lift = ev.segment_lift(df, n_boot=300, random_state=0)
    assert not lift["ci_excludes_1"].any()


# ----------------------------------------------------------------------------- id lookups
def _ids_as(kind: str, ids: list) -> pd.Index:
    return pd.Index(ids, dtype="str") if kind == "arrow" else pd.Index(ids, dtype=object)


@pytest.mark.parametrize("kind", ["arrow", "object"])
@pytest.mark.parametrize(
    "values",
    [
        [1.5, np.nan, 3.0, 4.0],
        [True, False, True, False],
        [1, 2, 3, 4],
        pd.array(["w", "x", None, "z"], dtype="str"),
        pd.Categorical(["p", "q", "p", None]),
    ],
    ids=["float", "bool", "int", "str", "category"],
)
def test_reindex_matches_pandas(kind, values):
    s = pd.Series(values, index=_ids_as(kind, ["a", "b", "c", "d"]), name="v")
    for labels in (["d", "zz", "a", "a", "c"], ["a", "b", "c", "d"], []):
        target = _ids_as(kind, labels)
        pd.testing.assert_series_equal(ev._reindex(s, target), s.reindex(target))
    # a Series of labels (e.g. campaign contacts) and an equal copy of the index
    contacts = pd.Series(["c", "c", "x"], dtype="str" if kind == "arrow" else object)
    pd.testing.assert_series_equal(ev._reindex(s, contacts), s.reindex(contacts))
    copy = _ids_as(kind, ["a", "b", "c", "d"])
    pd.testing.assert_series_equal(ev._reindex(s, copy), s.reindex(copy))


@pytest.mark.parametrize("kind", ["arrow", "object"])
def test_reindex_refuses_duplicate_ids_as_pandas(kind):
    s = pd.Series([1.0, 2.0, 3.0], index=_ids_as(kind, ["a", "a", "b"]))
    with pytest.raises((ValueError, pd.errors.InvalidIndexError)):
        ev._reindex(s, _ids_as(kind, ["b", "a"]))
    same = _ids_as(kind, ["a", "a", "b"])  # pandas accepts ids equal to the index
    pd.testing.assert_series_equal(ev._reindex(s, same), s.reindex(same))


def test_outcomes_kpis_and_uplift_alike_for_arrow_and_object_ids(demo):
    """Arrow-string ids (the fast lookups) give exactly what object ids (pandas' lookups) give."""
    table, outcomes = demo["eval"]
    t = table.assign(segment=demo["seg"].reindex(table.index))
    campaigns = demo["d"].campaigns

    def as_object(df):
        return df.set_axis(df.index.astype(object)) if df.index.name == "customer_id" else df

    assert t.index.dtype == "str" and outcomes.index.dtype == "str"
    kw = {"n_boot": 50, "random_state": 0}
    fast = ev.kpi_table(t, outcomes=outcomes, campaigns=campaigns, **kw)
    plain = ev.kpi_table(
        as_object(t),
        outcomes=as_object(outcomes),
        campaigns=campaigns.astype({"customer_id": object}),
        **kw,
    )
    pd.testing.assert_frame_equal(fast, plain)
    seg = demo["seg"]
    pd.testing.assert_frame_equal(
        ev.campaign_uplift(campaigns, seg, **kw),
        ev.campaign_uplift(
            campaigns.astype({"customer_id": object}), seg.set_axis(seg.index.astype(object)), **kw
        ),
    )
    # categorical segments are grouped as before: by value, in text order
    cat = seg.astype(pd.CategoricalDtype(sorted(seg.unique(), reverse=True)))
    up = ev.campaign_uplift(campaigns, cat, **kw)
    pd.testing.assert_frame_equal(up, ev.campaign_uplift(campaigns, seg, **kw))
    window = t[["frequency", "gross_value", "returned_value"]].iloc[::2]
    fast_out = ev.outcomes_from_table(seg, window, customers=t)
    plain_out = ev.outcomes_from_table(
        seg.set_axis(seg.index.astype(object)), as_object(window), customers=as_object(t)
    )
    pd.testing.assert_frame_equal(fast_out, plain_out, check_index_type=False)
    assert fast_out["bought_next"].sum() == (window["frequency"] > 0).sum()


# ----------------------------------------------------------------------------- KPIs, separation
def test_kpi_table_on_demo(demo):
    table, outcomes = demo["eval"]
    t = table.assign(segment=demo["seg"].reindex(table.index))
    kpis = ev.kpi_table(
        t, outcomes=outcomes, campaigns=demo["d"].campaigns, n_boot=200, random_state=0
    )
    assert set(kpis["kpi"]) == {
        "customer_share",
        "revenue_share",
        "avg_order_value",
        "churn_rate",
        "response_rate",
    }
    assert (
        (kpis["low"] <= kpis["estimate"] + 1e-12) & (kpis["estimate"] <= kpis["high"] + 1e-12)
    ).all()
    wide = kpis.pivot(index="segment", columns="kpi", values="estimate")
    assert wide["revenue_share"].sum() == pytest.approx(1.0)
    assert wide["revenue_share"].idxmax() == "VIP loyalists"
    assert wide.loc["VIP loyalists", "churn_rate"] < wide.loc["Lapsed one-timers", "churn_rate"]


def test_separation_planted_beats_random(demo):
    table, outcomes = demo["eval"]
    data = outcomes.assign(random=np.random.default_rng(0).integers(0, 6, len(outcomes)))
    sep = ev.separation(data, "revenue_next", by=["segment", "random"])
    assert sep.loc["segment", "eta_squared"] > 0.2
    assert sep.loc["segment", "eta_squared"] > 10 * sep.loc["random", "eta_squared"]
    assert sep.index[0] == "segment"


def test_eta_squared_known_value():
    data = pd.DataFrame(
        {"y": [1.0, 1.0, 3.0, 3.0], "g": ["a", "a", "b", "b"], "h": ["a", "b", "a", "b"]}
    )
    sep = ev.separation(data, "y", by=["g", "h"])
    assert sep.loc["g", "eta_squared"] == pytest.approx(1.0)
    assert sep.loc["h", "eta_squared"] == pytest.approx(0.0)


# ----------------------------------------------------------------------------- uplift
def test_campaign_uplift_on_demo(demo):
    up = ev.campaign_uplift(demo["d"].campaigns, demo["seg"], n_boot=500, random_state=0)
    assert set(up.index) == set(demo["seg"].unique())
    assert ((up["uplift_low"] <= up["uplift"]) & (up["uplift"] <= up["uplift_high"])).all()
    # planted: bargain hunters respond most to treatment (+10 points), big spenders barely (+1)
    assert up.loc["Bargain hunters", "ci_excludes_0"]
    assert up.loc["Bargain hunters", "uplift"] > up.loc["Occasional big spenders", "uplift"]
    again = ev.campaign_uplift(demo["d"].campaigns, demo["seg"], n_boot=500, random_state=0)
    pd.testing.assert_frame_equal(up, again)


# ----------------------------------------------------------------------------- surrogate rules
def test_surrogate_rules_on_rfm(demo):
    table, _ = demo["eval"]
    labels = demo["seg"].reindex(table.index)
    rules, fidelity = ev.surrogate_rules(table[RFM], labels, max_depth=3, random_state=0)
    assert fidelity > 0.7
    flat = [r for rs in rules.values() for r in rs]
    assert 1 <= len(flat) <= 8
    assert all(r.startswith("if ") and "% of such customers" in r for r in flat)


def test_surrogate_rules_categorical_readable():
    rng = np.random.default_rng(0)
    region = rng.choice(["North", "South"], 500)
    X = pd.DataFrame({"region": region, "spend": rng.normal(0, 1, 500)})
    rules, fidelity = ev.surrogate_rules(X, np.where(region == "North", "A", "B"), max_depth=1)
    assert fidelity == 1.0
    text = " ".join(rules["A"] + rules["B"])
    assert "region is North" in text or "region is not North" in text or "region is South" in text


def test_surrogate_rules_same_tree_as_fitting_on_label_text():
    """Fitting on class codes gives the tree (fidelity, leaves) of fitting on the label texts."""
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(7)
    X = pd.DataFrame({"x": rng.normal(size=3000), "z": rng.exponential(size=3000)})
    # integer labels whose text order (10 < 2 < 3) differs from their numeric order
    y = np.where(X["x"] > 0.5, 10, np.where(X["z"] > 1, 2, 3))
    flip = rng.random(3000) < 0.1
    y[flip] = rng.choice([2, 3, 10], flip.sum())
    rules, fidelity = ev.surrogate_rules(X, y, max_depth=3, min_samples_leaf=0.01, random_state=0)
    plain = DecisionTreeClassifier(max_depth=3, min_samples_leaf=0.01, random_state=0)
    plain.fit(X.to_numpy(), y.astype(str))
    assert fidelity == float((plain.predict(X.to_numpy()) == y.astype(str)).mean())
    leaves = pd.crosstab(plain.apply(X.to_numpy()), y.astype(str))
    expected = sorted((row.idxmax(), int(row.sum())) for _, row in leaves.iterrows())
    found = sorted(
        (str(seg), int(r.rsplit("n=", 1)[1].rstrip(")"))) for seg, rs in rules.items() for r in rs
    )
    assert found == expected
    assert set(rules) == {2, 3, 10}


def test_surrogate_rules_fit_on_sample_describe_everyone():
    """Above ``max_fit`` the tree learns from a sample; counts and fidelity cover all rows."""
    rng = np.random.default_rng(3)
    n = 20_000
    X = pd.DataFrame({"x": rng.uniform(size=n), "noise": rng.normal(size=n)})
    y = np.where(X["x"] > 0.3, "A", "B")  # planted: one threshold separates the segments
    rules, fidelity = ev.surrogate_rules(X, y, max_depth=1, random_state=0, max_fit=1_000)
    counts = [int(r.rsplit("n=", 1)[1].rstrip(")")) for rs in rules.values() for r in rs]
    assert sum(counts) == n  # every customer is counted, not only the 1,000 fitted
    assert fidelity > 0.99  # the sample's threshold sits next to the planted 0.3
    assert "x > 0.3" in rules["A"][0] or "x > 0.29" in rules["A"][0]
    again = ev.surrogate_rules(X, y, max_depth=1, random_state=0, max_fit=1_000)
    assert again == (rules, fidelity)
    # a limit above the row count fits on everyone: the same as no limit
    assert ev.surrogate_rules(X, y, max_depth=1, random_state=0, max_fit=n) == ev.surrogate_rules(
        X, y, max_depth=1, random_state=0, max_fit=None
    )


# ----------------------------------------------------------------------------- likelihood to buy
def test_likelihood_out_of_time(demo):
    table1, outcomes1 = demo["train"]
    table2, outcomes2 = demo["eval"]
    feats = RFM + ["tenure_days", "mean_interpurchase_days"]
    model = ev.likelihood_to_buy(table1, outcomes1, feats, random_state=0)
    res = ev.evaluate_out_of_time(model, table2, outcomes2)
    assert res.auc > 0.7
    assert len(res.calibration) == 10
    assert res.rank_correlation > 0.8
    ax = ev.plot_calibration(res.calibration)
    assert ax.get_xlabel().startswith("mean predicted")
    # fitted on a sample of large tables: still ranks the later period well, and says so
    small = ev.likelihood_to_buy(table1, outcomes1, feats, random_state=0, max_train=1_500)
    assert small.meta["n_train"] == 1_500 and small.meta["n_available"] == len(table1)
    assert ev.evaluate_out_of_time(small, table2, outcomes2).auc > 0.7


def test_likelihood_auc_near_half_on_noise():
    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(2000)]
    t1 = pd.DataFrame({"customer_id": ids, "x": rng.normal(size=2000)})
    o1 = pd.DataFrame({"customer_id": ids, "bought_next": rng.random(2000) < 0.5})
    t2 = t1.assign(x=rng.normal(size=2000))
    o2 = o1.assign(bought_next=rng.random(2000) < 0.5)
    model = ev.likelihood_to_buy(t1, o1, ["x"], random_state=0)
    assert abs(ev.evaluate_out_of_time(model, t2, o2).auc - 0.5) < 0.06


def test_likelihood_requires_outcome_for_every_customer():
    t = pd.DataFrame({"customer_id": ["a", "b"], "x": [1.0, 2.0]})
    o = pd.DataFrame({"customer_id": ["a"], "bought_next": [True]})
    with pytest.raises(ValueError, match="no `bought_next`"):
        ev.likelihood_to_buy(t, o, ["x"])


# ----------------------------------------------------------------------------- scorecard
GOOD = {
    "basis_available": 1.0,
    "assigned_share": 0.97,
    "min_segment_share": 0.06,
    "min_share": 0.05,
    "silhouette": 0.3,
    "max_eta2": 0.2,
    "min_jaccard": 0.75,
    "reachable_share": 0.9,
    "rule_fidelity": 0.8,
}


def test_scorecard_all_pass_at_thresholds():
    card = ev.scorecard(GOOD)
    assert list(card.index) == [
        "measurable",
        "substantial",
        "distinct",
        "stable",
        "reachable",
        "actionable",
    ]
    assert (card["status"] == "pass").all()
    assert "0.75" in card.loc["stable", "figure"]


@pytest.mark.parametrize(
    ("key", "value", "criterion", "status"),
    [
        ("min_jaccard", 0.7499, "stable", "warn"),
        ("min_jaccard", 0.60, "stable", "warn"),
        ("min_jaccard", 0.5999, "stable", "fail"),
        ("rule_fidelity", 0.79, "actionable", "warn"),
        ("rule_fidelity", 0.5, "actionable", "fail"),
        ("min_segment_share", 0.03, "substantial", "warn"),
        ("min_segment_share", 0.02, "substantial", "fail"),
        ("basis_available", 0.9, "measurable", "fail"),
        ("assigned_share", 0.85, "measurable", "warn"),
        ("reachable_share", 0.3, "reachable", "fail"),
        ("silhouette", 0.05, "distinct", "fail"),
        ("silhouette", 0.15, "distinct", "warn"),
    ],
)
def test_scorecard_statuses(key, value, criterion, status):
    card = ev.scorecard({**GOOD, key: value})
    assert card.loc[criterion, "status"] == status


def test_scorecard_distinct_takes_better_grade_and_flags_missing():
    card = ev.scorecard({**GOOD, "silhouette": 0.05, "max_eta2": 0.6})
    assert card.loc["distinct", "status"] == "pass"
    card = ev.scorecard({k: v for k, v in GOOD.items() if k != "rule_fidelity"})
    assert card.loc["actionable", "status"] == "warn"
    assert "not supplied" in card.loc["actionable", "figure"]
