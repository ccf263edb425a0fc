"""Forward value on the demo retailer: a hold-out half-year against a naive baseline.

The history is everything before 2025-01-01; the actual value is each customer's
spend from 2025-01-01 to 2025-06-30 (181 days). The planted segments
(``make_retail(...).truth``) are read here only, to check P(alive) by segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seglab.cleaning import clean_transactions
from seglab.config import load_config
from seglab.datasets import make_retail
from seglab.features import build_customer_table
from seglab.intake import to_transactions
from seglab.value import forward_value

from .conftest import REPO

CUTOFF, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01")
HORIZON = (END - CUTOFF).days  # 181


def holdout(seed: int) -> dict:
    """Forecast, naive baseline, actual spend and planted segment per customer with a purchase."""
    cfg = load_config(REPO / "configs" / "demo-retail.yaml")
    demo = make_retail(n_customers=6000, n_lines=120_000, random_state=seed)
    tx = to_transactions(demo.transactions, cfg.data.transactions)
    tx = clean_transactions(tx, cfg.cleaning, now=END).data
    history = tx[tx["timestamp"] < CUTOFF]
    table = build_customer_table(history, reference_date=CUTOFF)
    nxt = tx[(tx["timestamp"] >= CUTOFF) & (tx["timestamp"] < END)]
    fv = forward_value(table, horizon_days=HORIZON)
    idx = fv.values.index
    history_days = (CUTOFF - history["timestamp"].min().normalize()).days
    return {
        "fv": fv,
        "table": table,
        "actual": nxt.groupby("customer_id")["amount"].sum().reindex(idx, fill_value=0.0),
        "naive": table.loc[idx, "monetary"] / history_days * HORIZON,
        "segment": demo.truth.set_index("customer_id")["segment"].reindex(idx),
    }


@pytest.fixture(scope="module", params=[3, 11], ids=["seed3", "seed11"])
def run(request) -> dict:
    return holdout(request.param)


def mae(pred: pd.Series, actual: pd.Series) -> float:
    return float((pred - actual).abs().mean())


def test_prospects_are_left_out(run):
    table, values = run["table"], run["fv"].values
    assert values.index.equals(table.index[table["frequency"] > 0])


def test_forecast_ranks_better_than_naive_and_total_is_close(run):
    pred, naive, actual = run["fv"].values["forward_value"], run["naive"], run["actual"]
    rho = stats.spearmanr(pred, actual).statistic
    rho_naive = stats.spearmanr(naive, actual).statistic
    assert rho > rho_naive + 0.05  # 0.63 vs 0.50 (seed 3), 0.60 vs 0.46 (seed 11)
    assert pred.sum() == pytest.approx(actual.sum(), rel=0.2)  # 1.10 and 1.12
    # MAE: close to the baseline, not below it (see the xfail test below)
    assert mae(pred, actual) < 1.07 * mae(naive, actual)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "an expectation forecast of zero-inflated spend loses on MAE to the lower naive "
        "forecast (81.2 vs 79.2, 83.5 vs 79.7), mostly on the rare big spenders, whose order "
        "rate one gamma distribution of rates overstates"
    ),
)
def test_forecast_beats_naive_on_mae(run):
    pred, naive, actual = run["fv"].values["forward_value"], run["naive"], run["actual"]
    assert mae(pred, actual) < mae(naive, actual)


def test_p_alive_by_planted_segment(run):
    values, segment, actual = run["fv"].values, run["segment"], run["actual"]
    p_alive = values["p_alive"].groupby(segment).mean()
    assert p_alive["Lapsed one-timers"] < 0.5  # 0.45 and 0.47
    assert p_alive["VIP loyalists"] > 0.9  # 1.00
    assert p_alive["Lapsed one-timers"] == p_alive.min()
    lapsed = segment == "Lapsed one-timers"
    assert actual[lapsed].sum() == 0  # they never come back
    # their forecast is much smaller than the naive one (and than the old model's 32k)
    assert values.loc[lapsed, "forward_value"].sum() < 0.65 * run["naive"][lapsed].sum()
    assert np.isfinite(values.to_numpy()).all()
