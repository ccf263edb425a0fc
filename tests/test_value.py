"""Value tiers, Pareto summary and plot, and the forward value against a hold-out period."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import betaln, gammaln

from seglab.errors import ConfigError, InputDataError
from seglab.features import build_customer_table
from seglab.value import (
    DEFAULT_TIERS,
    _bgnbd_loglik,
    _bgnbd_objective,
    _bgnbd_predict,
    _fit_bgnbd,
    _fit_gamma_gamma,
    _gamma_gamma_objective,
    _orders_if_alive,
    _orders_if_alive_quad,
    _pool_rows,
    forward_value,
    pareto_summary,
    plot_pareto,
    value_tiers,
)

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
        assert fv.params["dropout_chance"] < 1e-3 and fv.values["p_alive"].min() > 0.95
    else:
        # about 12 orders in a mean lifetime of a year at one order a month: ~1/13 per order
        assert 0.03 < fv.params["dropout_chance"] < 0.2
        assert fv.values["p_alive"].min() < 0.5  # long-silent customers are probably gone
    assert (fv.values["expected_orders"] >= 0).all()


def test_forward_value_fitted_on_a_sample_scores_everyone():
    """Large bases fit on a sample: still the planted churn, every buyer scored, and told so."""
    tx, ref, actual, horizon = simulate_log(seed=11, lifetime=365.0)
    table = build_customer_table(tx, reference_date=ref)
    n_buyers = int((table["frequency"] > 0).sum())
    full = forward_value(table, horizon_days=horizon, fit_sample=None)
    part = forward_value(table, horizon_days=horizon, fit_sample=n_buyers // 3, random_state=1)
    assert full.params["fit_rows"] == n_buyers and part.params["fit_rows"] == n_buyers // 3
    assert len(part.values) == n_buyers
    assert 0.03 < part.params["dropout_chance"] < 0.2
    pred = part.values["forward_value"]
    assert stats.spearmanr(pred, actual.reindex(pred.index, fill_value=0.0)).statistic > 0.5
    assert part.params["r"] != full.params["r"]  # really fitted on other rows
    assert part.params["r"] == pytest.approx(full.params["r"], rel=0.35)


def test_forward_value_without_churn_and_errors(table):
    t = table.assign(recency_days=10.0, tenure_days=200.0, avg_order_value=table["monetary"])
    t.loc["P", ["recency_days", "tenure_days", "avg_order_value"]] = np.nan
    fv = forward_value(t, 90, churn=False)
    assert "P" not in fv.values.index
    assert (fv.values["p_alive"] == 1).all() and fv.params["dropout_chance"] == 0
    # nobody came back: every customer gets the same small rate
    assert fv.values["rate_per_day"].nunique() == 1
    with pytest.raises(InputDataError, match="horizon_days"):
        forward_value(t, 0)
    with pytest.raises(InputDataError, match="lacks"):
        forward_value(table, 30)


# --------------------------------------------------------------------------- BG/NBD reference
TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}  # weeks, close to CDNOW's published fit


def simulate_bgnbd(
    seed: int, n: int = 20_000, horizon: float = 39.0, offset: int = 0
) -> tuple[np.ndarray, ...]:
    """The BG/NBD generative process (``offset`` 1: the modified model).

    Each customer is born with a first purchase at 0 and observed until ``T``
    (uniform over 26-78 weeks); the same process runs on for ``horizon``
    weeks to give the hold-out counts.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    big_t = rng.uniform(26.0, 78.0, n)
    x, t_x, hold = np.zeros(n), np.zeros(n), np.zeros(n)
    now = np.zeros(n)
    alive = rng.random(n) >= p if offset else np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0, idx.size) / lam[idx]
        inside = now[idx] <= big_t[idx]
        later = ~inside & (now[idx] <= big_t[idx] + horizon)
        x[idx[inside]] += 1
        t_x[idx[inside]] = now[idx[inside]]
        hold[idx[later]] += 1
        ended = now[idx] > big_t[idx] + horizon
        alive[idx[ended]] = False
        # a purchase (in either period) is followed by the dropout coin
        bought = idx[~ended]
        alive[bought] = rng.random(bought.size) >= p[bought]
    return x, t_x, big_t, hold


@pytest.mark.parametrize("offset", [0, 1], ids=["bgnbd", "mbgnbd"])
def test_bgnbd_recovers_simulated_parameters_and_hold_out(offset):
    x, t_x, big_t, hold = simulate_bgnbd(seed=5, offset=offset)
    params, ll = _fit_bgnbd(x, t_x, big_t, offset=offset)
    for got, (name, want) in zip(params, TRUE.items(), strict=True):
        assert got == pytest.approx(want, rel=0.15), name
    assert ll == pytest.approx(_bgnbd_loglik(params, x, t_x, big_t, offset=offset).sum())
    p_alive, expected, _ = _bgnbd_predict(params, x, t_x, big_t, 39.0, offset=offset)
    assert expected.sum() == pytest.approx(hold.sum(), rel=0.05)
    # conditional expectations track the hold-out within groups of past frequency
    for lo, hi in [(0, 0), (1, 2), (3, 6), (7, np.inf)]:
        sel = (x >= lo) & (x <= hi)
        assert expected[sel].sum() == pytest.approx(hold[sel].sum(), rel=0.12), (lo, hi)
    if offset == 0:
        assert (p_alive[x == 0] == 1).all()  # BG/NBD: no dropout before a repeat purchase
    else:
        assert p_alive[x == 0].max() < 1
    # the same summary through the customer table, in days: alpha scales by 7, the rest not
    table = pd.DataFrame(
        {
            "frequency": x + 1,
            "tenure_days": big_t * 7,
            "recency_days": (big_t - t_x) * 7,
            "avg_order_value": 50.0,
        }
    )
    model = "mbgnbd" if offset else "bgnbd"
    fv = forward_value(table, horizon_days=39 * 7, model=model, n_starts=2)
    days = [fv.params[k] for k in ("r", "alpha", "a", "b")]
    assert days == pytest.approx(params * [1, 7, 1, 1], rel=1e-3)
    assert fv.values["expected_orders"].to_numpy() == pytest.approx(expected, rel=1e-3)


def test_closed_form_matches_numerical_integral():
    x = np.arange(0.0, 60.0, 3.0)
    for a in (0.05, 0.3, 0.8, 1.5, 3.0, 10.0):
        for b in (0.1, 1.0, 2.5, 10.0, 100.0):
            for t in (5.0, 39.0, 200.0):
                closed = _orders_if_alive(0.5 + x, np.full_like(x, 20.0), a, b + x, t)
                quad = _orders_if_alive_quad(0.5 + x, np.full_like(x, 20.0), a, b + x, t)
                assert closed == pytest.approx(quad, rel=2e-4)
    # near-degenerate dropout (a -> 0, b huge): the no-churn limit (r + x) t / (alpha + T)
    e = _orders_if_alive(np.array([2.0]), np.array([100.0]), 3e-7, np.array([4e5]), 180.0)
    assert e[0] == pytest.approx(3.6, rel=1e-4)


def test_gamma_gamma_recovers_simulated_parameters():
    rng = np.random.default_rng(2)
    p, q, gamma = 6.0, 4.0, 15.0
    n = rng.integers(2, 15, 8000)
    nu = rng.gamma(q, 1.0 / gamma, n.size)
    m = rng.gamma(p * n, 1.0 / (nu * n))  # the mean of n Gamma(p, nu) order values
    fitted = _fit_gamma_gamma(n.astype(float), m)
    assert fitted is not None
    assert fitted == pytest.approx([p, q, gamma], rel=0.15)


def test_one_order_customers_differ_between_bgnbd_and_modified(table):
    t = table.assign(recency_days=10.0, tenure_days=200.0, avg_order_value=table["monetary"])
    t.loc[::3, ["frequency", "recency_days"]] = [4, 150.0]  # some came back, then went quiet
    t.loc["P", ["recency_days", "tenure_days", "avg_order_value"]] = np.nan
    t.loc["P", "frequency"] = 0
    bg = forward_value(t, 90, model="bgnbd")
    mbg = forward_value(t, 90)
    one = t.loc[bg.values.index, "frequency"] == 1
    assert (bg.values.loc[one, "p_alive"] == 1).all()
    assert (mbg.values.loc[one, "p_alive"] < 1).all()
    assert (bg.values["forward_value"] >= 0).all() and (mbg.values["expected_orders"] >= 0).all()
    with pytest.raises(ConfigError, match="model"):
        forward_value(t, 90, model="pareto")


def test_cdnow_published_fit_and_lifetimes():
    """CDNOW sample (2,357 customers, weeks) shipped with ``lifetimes``: published values and fits."""
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    d = load_cdnow_summary_data_with_monetary_value()
    x, t_x, big_t = (d[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    # Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4
    published = [0.243, 4.414, 0.793, 2.426]
    assert _bgnbd_loglik(published, x, t_x, big_t).sum() == pytest.approx(-9582.4, abs=0.1)
    params, ll = _fit_bgnbd(x, t_x, big_t)
    assert params == pytest.approx(published, abs=1e-3)
    assert ll == pytest.approx(-9582.4, abs=0.1)
    for offset, fitter in [(0, lifetimes.BetaGeoFitter), (1, lifetimes.ModifiedBetaGeoFitter)]:
        ours, _ = _fit_bgnbd(x, t_x, big_t, offset=offset)
        ref = fitter().fit(d["frequency"], d["recency"], d["T"])
        assert ours == pytest.approx(ref.params_[["r", "alpha", "a", "b"]].to_numpy(), rel=1e-3)
        p_alive, expected, _ = _bgnbd_predict(ours, x, t_x, big_t, 39.0, offset=offset)
        want = ref.conditional_expected_number_of_purchases_up_to_time(
            39.0, d["frequency"], d["recency"], d["T"]
        )
        assert expected == pytest.approx(np.asarray(want, dtype=float), rel=1e-3)
        want = ref.conditional_probability_alive(d["frequency"], d["recency"], d["T"])
        assert p_alive == pytest.approx(np.asarray(want, dtype=float), abs=1e-4)
    # the paper's customer: 2 repeat purchases, t_x=30.43, T=38.86 -> 1.226 in the next 39 weeks
    _, one, _ = _bgnbd_predict(
        np.array(published), np.array([2.0]), np.array([30.43]), np.array([38.86]), 39.0
    )
    assert one[0] == pytest.approx(1.226, abs=1e-3)
    # Gamma-Gamma on repeat customers (Fader, Hardie & Lee 2005b: p=6.25, q=3.74, gamma=15.44);
    # their mean value excludes the first order, so n = repeat orders here
    rep = d[d["frequency"] > 0]
    gg = _fit_gamma_gamma(rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float))
    assert gg == pytest.approx([6.25, 3.74, 15.44], abs=0.01)


# --------------------------------------------------------------------------- pooled likelihoods
def plain_bgnbd_loglik(params, x, t_x, big_t, offset=0, churn=True):
    """Per-customer (M)BG/NBD log-likelihood, straight from the module docstring's formula."""
    r, alpha = params[0], params[1]
    gamma_part = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    if not churn:
        return gamma_part - (r + x) * np.log(alpha + big_t)
    a, b = params[2], params[3]
    n = x + offset
    alive = betaln(a, b + n) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    with np.errstate(invalid="ignore"):
        dead = betaln(a + 1, b + n - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    return gamma_part + np.logaddexp(alive, np.where(n > 0, dead, -np.inf))


def plain_gamma_gamma_loglik(params, n, m):
    """Log-density of the mean ``m`` of ``n`` Gamma(p, nu) values, ``nu ~ Gamma(q, gamma)``."""
    p, q, g = params
    return (
        gammaln(p * n + q)
        - gammaln(p * n)
        - gammaln(q)
        + q * np.log(g)
        + (p * n - 1) * np.log(m)
        + p * n * np.log(n)
        - (p * n + q) * np.log(g + n * m)
    )


def numerical_gradient(fun, theta, h=1e-6):
    steps = np.eye(len(theta)) * h
    return np.array([(fun(theta + s) - fun(theta - s)) / (2 * h) for s in steps])


@pytest.fixture(scope="module")
def repeated_rows():
    """Simulated BG/NBD customers in whole fortnights, so that many share (x, t_x, T)."""
    x, t_x, big_t, _ = simulate_bgnbd(seed=3, n=3000)
    big_t = np.ceil(big_t / 2)
    t_x = np.minimum(np.round(t_x / 2), big_t)
    rows, counts = _pool_rows(x, t_x, big_t)
    want_rows, want_counts = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
    assert np.array_equal(rows, want_rows) and np.array_equal(counts, want_counts)
    assert len(rows) < len(x) / 2  # really repeated
    return x, t_x, big_t


@pytest.mark.parametrize(
    ("offset", "churn"), [(0, True), (1, True), (1, False)], ids=["bgnbd", "mbgnbd", "nbd"]
)
def test_pooled_bgnbd_objective_is_the_per_customer_likelihood(repeated_rows, offset, churn):
    """The search's pooled, per-distinct-value objective and gradient equal the plain ones."""
    x, t_x, big_t = repeated_rows
    nll, scale = _bgnbd_objective(x, t_x, big_t, offset=offset, churn=churn)
    assert scale == pytest.approx(big_t.mean())

    def plain(theta):
        ll = plain_bgnbd_loglik(np.exp(theta), x, t_x / scale, big_t / scale, offset, churn)
        return -ll.mean()

    k = 4 if churn else 2
    rng = np.random.default_rng(0)
    for theta in [np.log([0.25, 4.0 / scale, 0.8, 2.5][:k]), *rng.normal(0, 1.5, (4, k))]:
        value, grad = nll(theta)
        assert value == pytest.approx(plain(theta), rel=1e-12)
        assert grad == pytest.approx(numerical_gradient(plain, theta), rel=1e-6, abs=1e-9)


def plain_fit(nll, theta0):
    """Nelder-Mead on a plain per-customer objective: no gradient, no pooling."""
    res = optimize.minimize(
        nll,
        theta0,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-13, "maxfev": 20_000},
    )
    assert res.success
    return np.exp(res.x)


def test_pooled_fits_equal_plain_per_customer_fits(repeated_rows):
    """Fits on many repeated rows: the optimum of the plain per-customer likelihood.

    The fitted parameters are a stationary point of the plain mean
    log-likelihood and match a gradient-free search on it (to its precision:
    the Gamma-Gamma parameters are strongly correlated, so its optimum is flat).
    """
    x, t_x, big_t = repeated_rows
    for offset in (0, 1):
        params, ll = _fit_bgnbd(x, t_x, big_t, offset=offset)

        def plain(theta, offset=offset):
            return -plain_bgnbd_loglik(np.exp(theta), x, t_x, big_t, offset).mean()

        assert np.abs(numerical_gradient(plain, np.log(params))).max() < 1e-7
        want_params = plain_fit(plain, np.zeros(4))
        assert params == pytest.approx(want_params, rel=1e-6)
        assert ll == pytest.approx(-plain(np.log(params)) * len(x), rel=1e-12)
        got = _bgnbd_predict(params, x, t_x, big_t, 39.0, offset=offset)
        want = _bgnbd_predict(want_params, x, t_x, big_t, 39.0, offset=offset)
        for g, w in zip(got, want, strict=True):
            assert g == pytest.approx(w, rel=1e-6)

    # Gamma-Gamma: mean order values in whole currency units, so (n, m) pairs repeat
    rng = np.random.default_rng(4)
    n = rng.integers(2, 9, 3000).astype(float)
    nu = rng.gamma(4.0, 1.0 / 15.0, n.size)
    m = np.maximum(np.round(rng.gamma(6.0 * n, 1.0 / (nu * n))), 1.0)
    assert len(np.unique(np.column_stack([n, m]), axis=0)) < len(n) / 3
    nll, scale = _gamma_gamma_objective(n, m)

    def plain_gg(theta, scale=1.0):
        return -plain_gamma_gamma_loglik(np.exp(theta), n, m / scale).mean()

    for theta in [np.log([6.0, 4.0, 15.0 / scale]), *rng.normal(0, 1.5, (4, 3))]:
        value, grad = nll(theta)
        assert value == pytest.approx(plain_gg(theta, scale), rel=1e-12)
        want = numerical_gradient(lambda th: plain_gg(th, scale), theta)
        assert grad == pytest.approx(want, rel=1e-6, abs=1e-9)
    fitted = _fit_gamma_gamma(n, m)
    assert np.abs(numerical_gradient(plain_gg, np.log(fitted))).max() < 1e-6
    assert fitted == pytest.approx(plain_fit(plain_gg, np.log([1.0, 3.0, m.mean()])), rel=1e-5)
