"""Value tiers, Pareto summary and plot, and the forward value against a hold-out period."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seglab.errors import ConfigError, InputDataError
from seglab.features import build_customer_table
from seglab.value import DEFAULT_TIERS, forward_value, pareto_summary, plot_pareto, value_tiers

# warnings raised inside ibis 12 about duckdb 2.0 and pandas 3 APIs, not by seglab
pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option"),
]


@pytest.fixture
def table() -> pd.DataFrame:
    values = np.arange(1.0, 101.0)  # customer i is worth i; total 5,050
    t = pd.DataFrame({"frequency": 1, "monetary": values}, index=[f"C{i:03d}" for i in range(100)])
    prospect = pd.DataFrame({"frequency": [0], "monetary": [0.0]}, index=["P"])
    return pd.concat([t, prospect])


def test_pareto_classes_are_the_smallest_top_group(table):
    out = value_tiers(table)
    assert "P" not in out.index  # prospects are not ranked
    a = out[out["tier"] == "A"]
    # A = top customers until the ones above hold 80%: their share reaches 80%,
    # and without the smallest A customer it would not
    assert a["value"].sum() / 5050 >= 0.8
    assert (a["value"].sum() - a["value"].min()) / 5050 < 0.8
    ab = out[out["tier"].isin(["A", "B"])]
    assert ab["value"].sum() / 5050 >= 0.95
    assert out["tier"].cat.ordered and list(out["tier"].cat.categories) == ["C", "B", "A"]
    assert out["cum_share"].max() == pytest.approx(1.0)
    assert out.loc["C099", "cum_share"] == pytest.approx(100 / 5050)


def test_ties_share_a_class_and_negative_value_is_c():
    t = pd.DataFrame({"frequency": [1] * 5, "monetary": [50.0, 50.0, 10.0, 5.0, -3.0]})
    out = value_tiers(t)
    assert out["tier"].tolist() == ["A", "A", "B", "C", "C"]
    assert out.loc[4, "revenue_share"] == 0.0  # returns beyond purchases bring nothing


def test_named_tiers_by_quantile_and_amount(table):
    out = value_tiers(table, method="tiers")
    counts = out["tier"].value_counts()
    assert list(out["tier"].cat.categories) == list(DEFAULT_TIERS)
    assert counts.to_dict() == {"regular": 50, "silver": 30, "gold": 15, "VIP": 5}
    amounts = value_tiers(table, "tiers", tiers={"low": 0, "mid": 25.5, "high": 90}, basis="amount")
    assert amounts["tier"].value_counts().to_dict() == {"low": 25, "mid": 64, "high": 11}
    tied = pd.DataFrame({"frequency": 1, "monetary": [1.0] * 60 + [5.0] * 40})
    assert value_tiers(tied, "tiers")["tier"].value_counts().to_dict() == {
        "regular": 60,
        "silver": 40,
        "gold": 0,
        "VIP": 0,
    }
    with pytest.raises(ConfigError, match="increasing"):
        value_tiers(table, "tiers", tiers={"a": 0, "b": 0.5, "c": 0.4})
    with pytest.raises(ConfigError, match="start at 0"):
        value_tiers(table, "tiers", tiers={"a": 0.1, "b": 0.5})
    with pytest.raises(ConfigError, match="abc"):
        value_tiers(table, abc=(0.9, 0.8))


def test_pareto_summary(table):
    s = pareto_summary(table).set_index("top_share")
    assert s.loc[0.01, "n_customers"] == 1 and s.loc[0.01, "revenue"] == 100
    assert s.loc[0.05, "revenue"] == sum(range(96, 101))
    assert s.loc[0.2, "revenue_share"] == pytest.approx(sum(range(81, 101)) / 5050)
    ax = plot_pareto(table)
    assert isinstance(ax, plt.Axes)
    assert "20%" in " ".join(t.get_text() for t in ax.texts)


def simulate_log(seed: int, n: int = 1500, lifetime: float | None = None):
    """Poisson buyers with a fixed order value; split at a cutoff into history and next period."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 1 / 60, n)  # orders per day, one every 30 days on average
    aov = rng.lognormal(3.5, 0.5, n)
    start = rng.uniform(0, 300, n)
    cutoff, horizon = 365.0, 180.0
    end = np.full(n, cutoff + horizon)
    if lifetime is not None:
        end = np.minimum(end, start + rng.exponential(lifetime, n))
    # Poisson process after the first purchase at `start`: count, then uniform times
    k = rng.poisson(rate * np.clip(end - start, 0, None))
    cust = np.concatenate([np.arange(n), np.repeat(np.arange(n), k)])
    t = np.concatenate(
        [start, start[np.repeat(np.arange(n), k)] + rng.random(k.sum()) * np.repeat(end - start, k)]
    )
    base = pd.Timestamp("2022-01-01")
    tx = pd.DataFrame(
        {
            "customer_id": [f"C{c:05d}" for c in cust],
            "order_id": [f"O{i:07d}" for i in range(len(cust))],
            "timestamp": base + pd.to_timedelta(t * 86400, unit="s"),
            "amount": aov[cust],
            "is_return": False,
        }
    )
    ref = base + pd.Timedelta(days=cutoff)
    nxt = tx[(tx["timestamp"] >= ref) & (tx["timestamp"] < ref + pd.Timedelta(days=horizon))]
    return tx, ref, nxt.groupby("customer_id")["amount"].sum(), horizon


@pytest.mark.parametrize("lifetime", [None, 365.0], ids=["no-churn", "mean-lifetime-1y"])
def test_forward_value_predicts_the_next_period(lifetime):
    tx, ref, actual, horizon = simulate_log(seed=11, lifetime=lifetime)
    table = build_customer_table(tx, reference_date=ref)
    assert table["last_purchase"].max() < ref  # the history stops at the cutoff
    fv = forward_value(table, horizon_days=horizon)
    pred = fv.values["forward_value"]
    act = actual.reindex(pred.index, fill_value=0.0)
    rho = stats.spearmanr(pred, act).statistic
    assert rho > 0.5
    assert pred.sum() == pytest.approx(act.sum(), rel=0.25)
    if lifetime is None:
        assert fv.params["mu"] < 1e-4 and fv.values["p_alive"].min() > 0.95
    else:
        assert 0.5 / lifetime < fv.params["mu"] < 2 / lifetime
        assert fv.values["p_alive"].min() < 0.5  # long-silent customers are probably gone
    assert (fv.values["expected_orders"] >= 0).all()


def test_forward_value_without_churn_and_errors(table):
    t = table.assign(recency_days=10.0, tenure_days=200.0, avg_order_value=table["monetary"])
    t.loc["P", ["recency_days", "tenure_days", "avg_order_value"]] = np.nan
    fv = forward_value(t, 90, churn=False)
    assert "P" not in fv.values.index
    assert (fv.values["p_alive"] == 1).all() and fv.params["mu"] == 0
    # nobody came back: every customer gets the same small rate
    assert fv.values["rate_per_day"].nunique() == 1
    with pytest.raises(InputDataError, match="horizon_days"):
        forward_value(t, 0)
    with pytest.raises(InputDataError, match="lacks"):
        forward_value(table, 30)
