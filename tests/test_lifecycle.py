"""Lifecycle stages: rules, derived thresholds, reactivation from transactions, funnel."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError, InputDataError
from seglab.features import build_customer_table
from seglab.lifecycle import (
    STAGES,
    derive_thresholds,
    lifecycle_stages,
    plot_lifecycle_funnel,
    stage_counts,
)

# warnings raised inside ibis 12 about duckdb 2.0 and pandas 3 APIs, not by seglab
pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option"),
]

TH = {"new_days": 30, "active_days": 60, "at_risk_days": 120, "lapsed_days": 240}


def small_table() -> pd.DataFrame:
    rows = {
        # name: frequency, recency, tenure, max gap
        "prospect": (0, np.nan, np.nan, np.nan),
        "new": (1, 10, 20, np.nan),
        "new_repeat": (3, 2, 25, 10),
        "active": (5, 40, 400, 80),
        "reactivated": (4, 15, 500, 300),
        "at_risk": (2, 100, 300, 50),
        "lapsed": (3, 200, 400, 100),
        "churned": (6, 241, 700, 90),
        "edge_active": (2, 60, 200, 240),  # gap exactly at the threshold is not "longer"
    }
    t = pd.DataFrame.from_dict(
        rows, orient="index", columns=["frequency", "recency_days", "tenure_days", "max_gap_days"]
    )
    t["mean_interpurchase_days"] = np.nan
    return t


def test_rules_give_one_stage_each():
    res = lifecycle_stages(small_table(), TH)
    expected = {
        "prospect": "prospect",
        "new": "new",
        "new_repeat": "new",
        "active": "active",
        "reactivated": "reactivated",
        "at_risk": "at risk",
        "lapsed": "lapsed",
        "churned": "churned",
        "edge_active": "active",
    }
    assert res.stages.to_dict() == expected
    assert res.stages.cat.ordered and list(res.stages.cat.categories) == list(STAGES)
    assert res.thresholds["reactivation_gap_days"] == 240
    assert res.rule == "set by the user"
    assert res.counts["n_customers"].sum() == len(expected)
    assert res.counts.loc["at risk", "n_customers"] == 1


def test_custom_reactivation_gap():
    res = lifecycle_stages(small_table(), {**TH, "reactivation_gap_days": 70})
    assert res.stages["active"] == "reactivated"  # max gap 80 > 70


def test_derived_thresholds_follow_the_documented_rule():
    rng = np.random.default_rng(3)
    n = 500
    t = pd.DataFrame(
        {
            "frequency": rng.integers(1, 8, n),
            "recency_days": rng.integers(1, 400, n).astype(float),
            "tenure_days": 400.0,
            "max_gap_days": rng.integers(5, 200, n).astype(float),
            "mean_interpurchase_days": rng.gamma(2.0, 25.0, n),
        }
    )
    t.loc[t["frequency"] == 1, ["mean_interpurchase_days", "max_gap_days"]] = np.nan
    th, rule = derive_thresholds(t)
    gaps = t.loc[t["frequency"] >= 2, "mean_interpurchase_days"]
    assert th["active_days"] == np.ceil(gaps.quantile(0.75))
    assert th["at_risk_days"] == np.ceil(gaps.quantile(0.90))
    assert th["lapsed_days"] == np.ceil(2 * gaps.quantile(0.90))
    assert th["new_days"] == th["active_days"]
    assert "75% percentile" in rule and f"{int(th['lapsed_days'])} days" in rule
    res = lifecycle_stages(t)
    assert res.thresholds == th and res.rule == rule
    # partial override: the rest is derived
    res2 = lifecycle_stages(t, {"new_days": 7})
    assert res2.thresholds["new_days"] == 7 and res2.thresholds["active_days"] == th["active_days"]
    assert "set by the user" in res2.rule


def test_errors_are_clear():
    t = small_table()
    with pytest.raises(InputDataError, match="repeat customers"):
        lifecycle_stages(t)  # no mean_interpurchase_days to learn from
    with pytest.raises(ConfigError, match="active_days <= at_risk_days"):
        lifecycle_stages(t, {**TH, "at_risk_days": 30})
    with pytest.raises(ConfigError, match="unknown lifecycle threshold"):
        lifecycle_stages(t, {**TH, "dormant_days": 30})
    with pytest.raises(ConfigError, match="positive"):
        lifecycle_stages(t, {**TH, "new_days": -1})


def test_from_transactions_detects_reactivation_and_reference_date():
    days = {
        "steady": [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360],
        "comeback": [0, 20, 40, 350, 360],  # silent for 310 days, then back
        "gone": [0, 25, 50],
        "fresh": [355],
    }
    rows = []
    for cust, ds in days.items():
        for i, d in enumerate(ds):
            rows.append((cust, f"{cust}-{i}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=d)))
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp"])
    tx["amount"] = 10.0
    tx["is_return"] = False
    table = build_customer_table(tx, reference_date="2023-12-31")
    assert table.loc["comeback", "max_gap_days"] == 310
    res = lifecycle_stages(table, TH)
    assert res.stages.to_dict() == {
        "comeback": "reactivated",
        "fresh": "new",
        "gone": "churned",
        "steady": "active",
    }
    # a later reference date makes the steady customer at risk (recency 4 + 90 = 94 days)
    later = lifecycle_stages(table, TH, reference_date="2024-03-30")
    assert later.stages["steady"] == "at risk"
    with pytest.raises(InputDataError, match="bought on or after reference_date"):
        lifecycle_stages(table, TH, reference_date="2023-06-01")


def test_counts_and_funnel_plot():
    res = lifecycle_stages(small_table(), TH)
    counts = stage_counts(res.stages)
    assert list(counts.index) == list(STAGES)
    assert counts["share"].sum() == pytest.approx(1.0)
    ax = plot_lifecycle_funnel(res.stages)
    assert isinstance(ax, plt.Axes) and len(ax.patches) == len(STAGES)
    _fig, ax2 = plt.subplots()
    assert plot_lifecycle_funnel(res.counts, ax=ax2) is ax2
