"""Value-based segmentation: Pareto/ABC classes, named value tiers and a simple forward value.

Historical value is the customer table's ``monetary``. Only customers with a
purchase are ranked; prospects get no tier (their value is unknown, not
small; :mod:`seglab.lifecycle` places them). Shares of revenue are shares of
the total *positive* value, so customers whose returns exceed their
purchases bring nothing rather than a negative share.

Forward value (:func:`forward_value`)
-------------------------------------
A deliberately simple, explainable estimate of next-period value::

    forward_value = p_alive x expected_orders_if_alive x avg_order_value

* **purchase rate** ``rate``: repeat orders per day of active life, shrunk
  towards the customer base: ``(a + x) / (b + E)`` with ``x = frequency - 1``
  repeat orders and ``E`` the days the customer was active since the first
  purchase (``tenure_days`` when nobody churns; see below); ``a``, ``b`` are
  the gamma prior of rates fitted to all customers by maximum likelihood
  (Poisson counts, gamma-distributed rates: the NBD model). A one-order customer gets
  roughly the base's average rate instead of zero or infinity.
* **survival** ``p_alive``: customers stop buying at a common daily rate
  ``mu``. Given the rate and the silence since the last order
  (``recency_days``),
  ``p_alive = 1 / (1 + mu / (rate + mu) * (exp((rate + mu) * recency) - 1))``:
  close to 1 after a silence that is short for this customer's rhythm,
  falling as the silence grows. ``mu`` is fitted by maximum likelihood with
  the rates held fixed, then ``E`` is updated to the expected active time
  (``last purchase - first purchase`` plus the expected part of the silence
  spent alive), and the two steps alternate until ``mu`` settles. With
  ``churn=False``, ``mu = 0`` and ``p_alive = 1``.
* **expected orders if alive** over ``horizon_days = H``:
  ``rate * (1 - exp(-mu * H)) / mu`` (``rate * H`` when ``mu`` is 0).
* **average order value**: the customer's own ``avg_order_value`` (net or
  gross, as the table was built), floored at 0.

It is the individual-level Pareto/NBD model with one churn rate shared by
all customers and plug-in rates, not a fully fitted BTYD model: it ignores
seasonality, trends, differences in churn between customers and the
uncertainty of the estimates. On simulated Poisson buyers (the tests) it
ranks customers well and gets next-period totals within a few per cent,
with or without churn; on real data, check it against a hold-out period
before trusting totals, and treat it as a ranking and an order of magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import optimize, special

from seglab.errors import ConfigError, InputDataError

__all__ = [
    "DEFAULT_TIERS",
    "ForwardValue",
    "forward_value",
    "pareto_summary",
    "plot_pareto",
    "value_tiers",
]

#: Default named tiers: lower bound of each tier as a share of ranked customers.
DEFAULT_TIERS: dict[str, float] = {"regular": 0.0, "silver": 0.5, "gold": 0.8, "VIP": 0.95}


class ForwardValue(NamedTuple):
    """Result of :func:`forward_value`.

    Attributes
    ----------
    values : DataFrame
        Per customer with a purchase: ``rate_per_day``, ``p_alive``,
        ``expected_orders``, ``avg_order_value``, ``forward_value``.
    params : dict
        ``horizon_days``, the gamma prior ``a``, ``b``, the daily churn rate
        ``mu`` and the implied mean customer lifetime in days.
    """

    values: pd.DataFrame
    params: dict[str, float]


def _purchasers(table: pd.DataFrame, value_col: str) -> pd.Series:
    for col in (value_col, "frequency"):
        if col not in table.columns:
            raise InputDataError(
                f"the customer table lacks `{col}`; build it with build_customer_table"
            )
    buyers = table["frequency"].fillna(0) > 0
    values = table.loc[buyers, value_col].astype("float64")
    if values.isna().any():
        raise InputDataError(
            f"column `{value_col}` has {int(values.isna().sum()):,} missing values among customers "
            "with purchases"
        )
    return values


def value_tiers(
    table: pd.DataFrame,
    method: Literal["pareto", "tiers"] = "pareto",
    abc: tuple[float, float] = (0.8, 0.95),
    tiers: Mapping[str, float] | None = None,
    *,
    basis: Literal["quantile", "amount"] = "quantile",
    value_col: str = "monetary",
) -> pd.DataFrame:
    """Pareto/ABC classes or named value tiers per customer.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency`` and ``value_col``.
    method : {"pareto", "tiers"}, default "pareto"
        ``"pareto"``: rank customers by value; class A while the customers
        ranked above hold less than ``abc[0]`` of revenue (so A is the
        smallest group of top customers reaching it), B up to ``abc[1]``, C
        the rest. ``"tiers"``: named tiers from ``tiers``.
    abc : (float, float), default (0.8, 0.95)
        Cumulative revenue shares closing classes A and B.
    tiers : dict, optional
        ``{name: lower bound}`` in increasing order, lowest tier first
        (default :data:`DEFAULT_TIERS`: regular, silver from the median,
        gold from the 80th percentile, VIP from the 95th). The first tier
        also takes anything below its bound.
    basis : {"quantile", "amount"}, default "quantile"
        Whether tier bounds are shares of ranked customers (a customer's
        position is the share of customers with a strictly lower value, so
        ties share a tier) or amounts of ``value_col``.
    value_col : str, default "monetary"
        Column holding the value.

    Returns
    -------
    DataFrame
        Indexed like the table (customers with a purchase only): ``value``,
        ``revenue_share`` (of the positive total), ``cum_share`` (share of
        revenue held by this customer and every customer with a larger or
        equal value) and ``tier`` (ordered categorical, lowest first).

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [1, 2, 5, 1], "monetary": [10.0, 30.0, 150.0, 10.0]})
    >>> value_tiers(t)["tier"].tolist()
    ['B', 'A', 'A', 'B']
    """
    values = _purchasers(table, value_col)
    positive = values.clip(lower=0.0)
    total = float(positive.sum())
    out = pd.DataFrame({"value": values})
    out["revenue_share"] = positive / total if total > 0 else np.nan
    # revenue held by customers with a value >= this one (ties share everything)
    ordered = np.sort(positive.to_numpy())[::-1]
    csum = np.cumsum(ordered)
    n_ge = len(ordered) - np.searchsorted(np.sort(positive.to_numpy()), positive.to_numpy(), "left")
    held_ge = csum[n_ge - 1] if len(ordered) else np.array([])
    held_gt = held_ge - positive.to_numpy() * _tie_counts(positive.to_numpy())
    out["cum_share"] = held_ge / total if total > 0 else np.nan

    if method == "pareto":
        a, b = abc
        if not 0 < a < b <= 1:
            raise ConfigError(f"`abc`={abc!r} must satisfy 0 < A share < B share <= 1")
        before = held_gt / total if total > 0 else np.ones(len(values))
        pos = positive.to_numpy() > 0
        labels = np.where(pos & (before < a), "A", np.where(pos & (before < b), "B", "C"))
        out["tier"] = pd.Categorical(labels, categories=["C", "B", "A"], ordered=True)
        return out
    if method != "tiers":
        raise InputDataError(f"`method`={method!r}; use 'pareto' or 'tiers'")
    spec = dict(DEFAULT_TIERS if tiers is None else tiers)
    names, bounds = list(spec), [float(v) for v in spec.values()]
    if not names or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
        raise ConfigError(f"`tiers`={spec!r} must list tiers with strictly increasing bounds")
    if basis == "quantile":
        if bounds[0] != 0 or bounds[-1] >= 1:
            raise ConfigError(
                f"quantile tier bounds {bounds} must start at 0 and stay below 1 "
                "(e.g. {'regular': 0, 'silver': 0.5, 'gold': 0.8, 'VIP': 0.95})"
            )
        v = values.to_numpy()
        position = np.searchsorted(np.sort(v), v, side="left") / len(v)
    elif basis == "amount":
        position = values.to_numpy()
    else:
        raise InputDataError(f"`basis`={basis!r}; use 'quantile' or 'amount'")
    idx = np.searchsorted(np.asarray(bounds), position, side="right") - 1
    idx = np.clip(idx, 0, len(names) - 1)
    out["tier"] = pd.Categorical.from_codes(idx, categories=names, ordered=True)
    return out


def _tie_counts(x: np.ndarray) -> np.ndarray:
    """How many elements of ``x`` equal each element."""
    s = np.sort(x)
    return np.searchsorted(s, x, "right") - np.searchsorted(s, x, "left")


def pareto_summary(
    table: pd.DataFrame,
    tops: Sequence[float] = (0.01, 0.05, 0.2),
    *,
    value_col: str = "monetary",
) -> pd.DataFrame:
    """Share of revenue brought by the top 1%, 5% and 20% of customers.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency`` and ``value_col``.
    tops : sequence of float
        Shares of customers (those with a purchase), ranked by value.
    value_col : str, default "monetary"

    Returns
    -------
    DataFrame
        One row per top share: ``top_share`` of customers, ``n_customers``
        (rounded up, at least 1), their ``revenue`` and ``revenue_share`` of
        the positive total.
    """
    positive = np.sort(_purchasers(table, value_col).clip(lower=0.0).to_numpy())[::-1]
    total = positive.sum()
    rows = []
    for top in tops:
        if not 0 < top <= 1:
            raise InputDataError(f"top share {top!r} must be in (0, 1]")
        k = max(1, math.ceil(top * len(positive) - 1e-9))
        rev = float(positive[:k].sum())
        rows.append(
            {
                "top_share": top,
                "n_customers": k,
                "revenue": rev,
                "revenue_share": rev / total if total > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def plot_pareto(
    table: pd.DataFrame, ax: plt.Axes | None = None, *, value_col: str = "monetary"
) -> plt.Axes:
    """Concentration curve: cumulative share of revenue against share of customers.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency`` and ``value_col``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    value_col : str, default "monetary"

    Returns
    -------
    matplotlib.axes.Axes
    """
    positive = np.sort(_purchasers(table, value_col).clip(lower=0.0).to_numpy())[::-1]
    total = positive.sum()
    y = np.concatenate([[0.0], np.cumsum(positive) / total * 100]) if total > 0 else None
    x = np.linspace(0, 100, len(positive) + 1)
    if ax is None:
        _fig, ax = plt.subplots(figsize=(6, 4.5))
    if y is not None:
        ax.plot(x, y, lw=2, label="customers ranked by value")
        top20 = np.interp(20, x, y)
        ax.axvline(20, color="grey", ls=":", lw=1)
        ax.annotate(
            f"top 20% bring {top20:.0f}% of revenue",
            xy=(20, top20),
            xytext=(30, max(top20 - 25, 5)),
            arrowprops={"arrowstyle": "->", "color": "grey"},
        )
    ax.plot([0, 100], [0, 100], color="grey", ls="--", lw=1, label="equal value")
    ax.axhline(80, color="grey", ls=":", lw=1)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_xlabel("% of customers (highest value first)")
    ax.set_ylabel("cumulative % of revenue")
    ax.set_title("Revenue concentration (Pareto curve)")
    ax.legend(loc="lower right")
    return ax


# --------------------------------------------------------------------------- forward value
def _gamma_prior(x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Gamma prior (shape a, rate b) of Poisson purchase rates seen over exposures ``t``.

    Maximum likelihood of the negative binomial (NBD) marginal of the counts
    ``x``, started from the method-of-moments solution.
    """
    r = x / t
    m = float(r.mean())
    if m <= 0:
        # nobody came back: a weak prior with a small mean keeps the rates finite
        m = 0.5 / float(t.mean())
        return 0.5, 0.5 / m
    v = max(float(r.var()) - m * float((1.0 / t).mean()), m * m / 100.0)
    start = np.log([m * m / v, m / v])

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(theta)
        ll = (
            special.gammaln(a + x)
            - special.gammaln(a)
            + a * np.log(b / (b + t))
            + x * np.log(t / (b + t))
        )
        return -float(ll.sum())

    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6}
    )
    a, b = np.exp(res.x if np.isfinite(res.fun) else start)
    return float(a), float(b)


_MU_MIN = 1e-7  # smallest daily churn rate tried (a mean lifetime of 27,000 years)


def _alive_time(lam: np.ndarray, mu: float, silence: np.ndarray) -> np.ndarray:
    """Expected days alive during the silence after the last purchase.

    Alive all along with probability ``p_alive``; otherwise the customer died
    during the silence, at a time whose density falls like
    ``exp(-(lam + mu) * u)`` (no purchase before dying), whose mean on
    ``[0, silence]`` is ``1/s - silence / (exp(s * silence) - 1)``.
    """
    if mu <= 0:
        return silence.copy()
    s = lam + mu
    sr = np.minimum(s * silence, 700.0)
    p_alive = 1.0 / (1.0 + mu / s * np.expm1(sr))
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = np.where(sr > 1e-9, 1.0 / s - silence / np.expm1(sr), silence / 2.0)
    return p_alive * silence + (1.0 - p_alive) * dead


def _neg_loglik(log_mu: float, lam: np.ndarray, tx: np.ndarray, t: np.ndarray) -> float:
    """Negative log-likelihood of a shared churn rate, rates held fixed (Pareto/NBD, x terms dropped)."""
    mu = math.exp(log_mu)
    s = lam + mu
    ll = -s * tx + np.log(mu / s + lam / s * np.exp(-s * (t - tx)))
    return -float(ll.sum())


def forward_value(
    table: pd.DataFrame,
    horizon_days: float = 365.0,
    *,
    churn: bool = True,
    max_iter: int = 50,
) -> ForwardValue:
    """Estimate each customer's value over the next ``horizon_days``.

    The formula and its limits are in the module docstring
    (``help(seglab.value)``).

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency``, ``recency_days``, ``tenure_days``
        and ``avg_order_value``.
    horizon_days : float, default 365
        Length of the next period in days.
    churn : bool, default True
        Model customers stopping (``p_alive``); False assumes everyone keeps
        buying at their rate.
    max_iter : int, default 50
        Most rounds of the rate / churn-rate fit (it usually settles in 10 to 20).

    Returns
    -------
    ForwardValue
        ``values`` per customer with a purchase and the fitted ``params``.
    """
    needed = ["frequency", "recency_days", "tenure_days", "avg_order_value"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputDataError(
            f"the customer table lacks {missing}; build it with build_customer_table"
        )
    if not horizon_days > 0:
        raise InputDataError(f"`horizon_days`={horizon_days!r} must be positive")
    buyers = table[table["frequency"].fillna(0) > 0]
    if buyers.empty:
        raise InputDataError("no customer has a purchase, so there is no value to project")
    x = (buyers["frequency"].to_numpy(dtype="float64") - 1.0).clip(min=0)
    t = buyers["tenure_days"].to_numpy(dtype="float64")
    rec = buyers["recency_days"].to_numpy(dtype="float64")
    if np.isnan(t).any() or (t <= 0).any():
        raise InputDataError("`tenure_days` must be positive for every customer with a purchase")
    tx = np.clip(t - rec, 0, None)  # days from first to last purchase

    silence = t - tx
    exposure = t.copy()
    mu, n_iter = 0.0, 0
    if churn:
        for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
            a, b = _gamma_prior(x, exposure)
            lam = (a + x) / (b + exposure)
            res = optimize.minimize_scalar(
                _neg_loglik,
                bounds=(math.log(_MU_MIN), 0.0),
                args=(lam, tx, t),
                method="bounded",
            )
            new_mu = math.exp(res.x)
            if new_mu < 1.1 * _MU_MIN:  # at the lower bound: no detectable churn
                new_mu = 0.0
            exposure = tx + _alive_time(lam, new_mu, silence)
            converged = abs(new_mu - mu) <= 1e-4 * max(new_mu, 1e-9)
            mu = new_mu
            if converged:
                break
    a, b = _gamma_prior(x, exposure)
    lam = (a + x) / (b + exposure)
    if mu > 0:
        s = lam + mu
        p_alive = 1.0 / (1.0 + mu / s * np.expm1(np.minimum(s * silence, 700.0)))
        orders_if_alive = lam * (-np.expm1(-mu * horizon_days)) / mu
    else:
        p_alive = np.ones_like(lam)
        orders_if_alive = lam * horizon_days
    aov = buyers["avg_order_value"].to_numpy(dtype="float64").clip(min=0)
    expected = p_alive * orders_if_alive
    values = pd.DataFrame(
        {
            "rate_per_day": lam,
            "p_alive": p_alive,
            "expected_orders": expected,
            "avg_order_value": aov,
            "forward_value": expected * aov,
        },
        index=buyers.index,
    )
    params = {
        "horizon_days": float(horizon_days),
        "a": a,
        "b": b,
        "mu": mu,
        "mean_lifetime_days": (1.0 / mu) if mu > 0 else math.inf,
        "iterations": float(n_iter),
    }
    return ForwardValue(values, params)
