"""Value-based segmentation: Pareto/ABC classes, named value tiers and a BG/NBD forward value.

Historical value is the customer table's ``monetary``. Only customers with a
purchase are ranked; prospects get no tier (their value is unknown, not
small; :mod:`seglab.lifecycle` places them). Shares of revenue are shares of
the total *positive* value, so customers whose returns exceed their
purchases bring nothing rather than a negative share.

Forward value (:func:`forward_value`)
-------------------------------------
Expected spend over the next ``horizon_days``::

    forward_value = expected_orders x avg_order_value
    expected_orders = p_alive x E[orders in the horizon | alive]

**Orders and churn: the BG/NBD model** (Fader, Hardie & Lee 2005, "Counting
your customers the easy way"). While active a customer orders as a Poisson
process with rate ``lambda``; after each repeat order they become inactive
for good with probability ``p``. Across customers ``lambda ~ Gamma(r,
alpha)`` (shape, rate) and ``p ~ Beta(a, b)``. Each customer is summarised
by ``x = frequency - 1`` repeat orders, ``t_x = tenure_days -
recency_days`` (days from the first to the last order) and ``T =
tenure_days`` (days since the first order). **Time is in days**: ``alpha``
is in days, and the rate is per day. Published values in weeks, such as
CDNOW's, convert with ``alpha_days = 7 alpha_weeks``; ``r``, ``a`` and ``b``
have no unit. ``r, alpha, a, b`` maximise the closed-form likelihood::

    L = B(a, b + x) / B(a, b) * G(r + x) alpha^r / (G(r) (alpha + T)^(r + x))
      + [x > 0] B(a + 1, b + x - 1) / B(a, b) * G(r + x) alpha^r / (G(r) (alpha + t_x)^(r + x))

The likelihood is computed on the log scale (``gammaln``, ``betaln`` and
log-sum-exp). It is maximised by L-BFGS-B with the analytic gradient on the
log-parameters, from several starting points. Then, with ``z = H / (alpha +
T + H)`` for a horizon ``H``::

    p_alive = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
    E[orders] = (a + b + x - 1) / (a - 1)
                * (1 - ((alpha + T) / (alpha + T + H))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z))
                / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))

``2F1`` is ``scipy.special.hyp2f1``. Its result is used only where it is
finite and lies in ``[0, (r + x) H / (alpha + T)]``, and ``a`` is not close
to 1. Elsewhere (for example a fit in which almost nobody drops out:
``a -> 0``, ``b`` huge) the same expectation,
``p_alive * E[(1 - (1 + p H / (alpha + T))^-(r + x)) / p]`` over the
posterior ``p ~ Beta(a, b + x)``, is integrated numerically.

**Default: the modified BG/NBD** (``model="mbgnbd"``; Batislam, Denizel &
Filiztekin 2007). In the BG/NBD a customer can drop out only *after a repeat
order*, so every one-order customer has ``p_alive = 1`` however long ago
they bought. The modified model also tosses the dropout coin right after the
first order. Its formulas are the ones above with the Beta part's ``x``
replaced by ``n = x + 1`` (``B(a, b + n)``, ``B(a + 1, b + n - 1)``,
``a / (b + n - 1)``, ``2F1(r + x, b + n; a + b + n - 1; z)`` and the factor
``(a + b + n - 1) / (a - 1)``, with the ``[x > 0]`` terms always present).
The Gamma part keeps ``x``. On the demo retailer, where most lapsed buyers
bought once, only the modified model can tell them apart from active
customers. ``model="bgnbd"`` gives the original.

With ``churn=False`` nobody drops out (the NBD model: ``r``, ``alpha``
only, ``p_alive = 1``), and ``E[orders] = (r + x) H / (alpha + T)``.
``rate_per_day`` is always the posterior mean rate while active,
``(r + x) / (alpha + T)``.

**Spend per order: the Gamma-Gamma model** (Fader, Hardie & Lee 2005, "RFM
and CLV: using iso-value curves"). Order values are Gamma(p, nu), and
``nu ~ Gamma(q, gamma)`` across customers. It is fitted by maximum likelihood
on the mean order value ``m`` (``avg_order_value``) and order count ``n``
(``frequency``, *all* orders, since the table does not separate the first)
of repeat customers with ``m > 0``. The model's expected spend per order
is then::

    avg_order_value = p (gamma + n m) / (p n + q - 1)

This is a weighted mean of the base's mean ``p gamma / (q - 1)`` and the
customer's own ``m`` floored at 0. The model assumes spend per order is
unrelated to frequency. When the fit is unstable (``q <= 1.05``, or an
implied base mean more than twice or less than half the observed one),
``params["gamma_gamma"]`` is 0 and a simpler documented shrinkage is used
instead::

    avg_order_value = (m_base + n m) / (1 + n)

Here ``m_base`` is the base's spend per order (total spend / total orders
of customers with a positive mean): the base's average counts as one extra
order. On the demo retailer, where big baskets go with rare orders,
Gamma-Gamma is unstable and the shrinkage is used.

Limits: these models ignore seasonality, trends and covariates. One gamma
distribution of rates cannot represent very different segments (on the demo
it overstates the orders of rare big spenders), and the estimates carry no
uncertainty. The forecast is an *expectation*, good for totals and
rankings. For one customer's spend, which is usually 0 or a whole order,
a naive forecast that is simply lower can have a smaller mean absolute
error. Check it against a hold-out period before trusting totals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from seglab._ranks import tie_bounds
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
        Per customer with a purchase: ``rate_per_day`` (posterior mean
        order rate while active), ``p_alive``, ``expected_orders`` (in the
        horizon, churn included), ``avg_order_value`` (the model's expected
        spend per order, not the observed mean) and ``forward_value``.
    params : dict
        ``horizon_days``; the (M)BG/NBD ``r``, ``alpha`` (in days), ``a``,
        ``b`` (NaN without churn), the mean dropout chance per order
        ``dropout_chance = a / (a + b)`` and the ``loglik`` (times in
        days) of the ``fit_rows`` buyers the models were fitted on; ``gamma_gamma`` (1 when the Gamma-Gamma model was used, 0
        for the shrinkage), its ``gg_p``, ``gg_q``, ``gg_gamma`` (NaN when
        not used) and the ``base_avg_order_value`` shrunk towards.
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
    pos_values = positive.to_numpy()
    csum = np.cumsum(np.sort(pos_values)[::-1])
    below, at_or_below = tie_bounds(pos_values)
    n_ge = len(pos_values) - below
    held_ge = csum[n_ge - 1] if len(pos_values) else np.array([])
    held_gt = held_ge - pos_values * (at_or_below - below)
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
Model = Literal["bgnbd", "mbgnbd"]
MonetaryModel = Literal["gamma-gamma", "shrinkage"]

_LOG_BOUND = 15.0  # log-parameters (on the rescaled time axis) are kept in [-15, 15]
_N_QUANTILE = 96  # Gauss-Legendre nodes of the fallback integral over the dropout probability


def _minimize(fun, x0: np.ndarray) -> optimize.OptimizeResult:
    """L-BFGS-B with the analytic gradient on bounded log-parameters.

    BLAS is held to one thread during the search: L-BFGS-B makes many tiny
    BLAS calls, and waking a second thread for each made fits 10-20 times
    slower on a 2-core machine.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return optimize.minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(x0),
            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 5000},
        )


def _per_x(fun, x: np.ndarray) -> np.ndarray:
    """``fun(x)`` evaluated once per distinct value of ``x`` (order counts repeat a lot)."""
    xs, inv = np.unique(x, return_inverse=True)
    return np.asarray(fun(xs))[inv]


def _bgnbd_loglik(
    params: Sequence[float],
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    *,
    offset: int = 0,
    churn: bool = True,
) -> np.ndarray:
    """Per-customer log-likelihood of the (M)BG/NBD model.

    ``params`` is ``(r, alpha, a, b)`` (``(r, alpha)`` when ``churn`` is
    False: the NBD model, nobody drops out); ``alpha`` is in the unit of the
    times. ``offset`` 0 is the BG/NBD (a dropout chance after each repeat
    purchase), 1 the MBG/NBD (also right after the first purchase). With
    ``n = x + offset`` dropout chances::

        log L = log G(r + x) - log G(r) + r log(alpha)
                + logaddexp( log B(a, b + n) - log B(a, b) - (r + x) log(alpha + T),
                             [n > 0] (log B(a + 1, b + n - 1) - log B(a, b)
                                      - (r + x) log(alpha + t_x)) )
    """
    r, alpha = float(params[0]), float(params[1])
    base = _per_x(lambda v: special.gammaln(r + v), x) - special.gammaln(r) + r * math.log(alpha)
    if not churn:
        return base - (r + x) * np.log(alpha + big_t)
    a, b = float(params[2]), float(params[3])
    n = x + offset
    bab = special.betaln(a, b)
    alive = _per_x(lambda v: special.betaln(a, b + v), n) - bab - (r + x) * np.log(alpha + big_t)
    dead = _per_x(lambda v: special.betaln(a + 1.0, b + np.maximum(v, 1.0) - 1.0), n) - bab
    dead = np.where(n > 0, dead - (r + x) * np.log(alpha + t_x), -np.inf)
    return base + np.logaddexp(alive, dead)


#: A search objective: log-parameters -> (value, gradient)
_Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


class _Distinct(NamedTuple):
    """The distinct values of an array, found once, to compute a function once per value."""

    values: np.ndarray
    index: np.ndarray  # per element, the position of its value in `values`
    runs: np.ndarray | None  # when equal elements sit next to each other: their run lengths

    def expand(self, per_value: np.ndarray) -> np.ndarray:
        """Per element, the entry of ``per_value`` (one per distinct value) for its value."""
        if self.runs is not None:
            return np.repeat(per_value, self.runs)  # a contiguous copy: faster than a gather
        return np.take(per_value, self.index)


def _distinct(x: np.ndarray) -> _Distinct:
    """Find the distinct values of ``x`` once (``np.unique``), for :meth:`_Distinct.expand`."""
    values, index = np.unique(x, return_inverse=True)
    index = index.reshape(-1)
    runs = np.bincount(index, minlength=len(values)) if np.all(index[1:] >= index[:-1]) else None
    return _Distinct(values, index, runs)


def _pool_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``columns``, sorted, and how often each occurs.

    The same as ``np.unique(np.column_stack(columns), axis=0,
    return_counts=True)``, about four times faster: one ``lexsort``.
    """
    rows = np.column_stack(columns)[np.lexsort(columns[::-1])]
    new = np.ones(len(rows), dtype=bool)
    np.any(rows[1:] != rows[:-1], axis=1, out=new[1:])
    starts = np.flatnonzero(new)
    return rows[starts], np.diff(np.append(starts, len(rows)))


def _bgnbd_objective(
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    *,
    offset: int,
    churn: bool,
) -> tuple[_Objective, float]:
    """Negative log-likelihood of the (M)BG/NBD per customer and its gradient, for the search.

    Returns ``(nll, scale)``. ``nll(theta)`` gives ``(value, gradient)`` at
    the log-parameters ``theta = log(r, alpha / scale, a, b)`` (without
    ``a, b`` when ``churn`` is False): minus the mean over customers of
    :func:`_bgnbd_loglik` with the times divided by ``scale``, their mean
    ``T``. The value is ``1e10`` (gradient 0) where a customer's
    log-likelihood is not finite.

    Identical customers are pooled with weights (their share of the
    customers), and everything that depends on a customer only through
    ``x``, ``t_x`` or ``T`` (the gamma, beta and digamma terms,
    ``log(alpha + T)``, ``log(alpha + t_x)``) is computed once per distinct
    value and then looked up; the distinct values are found here, once per
    fit. Every customer's terms go through the same floating-point
    operations as in :func:`_bgnbd_loglik`, so the results do not depend on
    the pooling beyond the order of the final sums.
    """
    uniq, counts = _pool_rows(x, t_x, big_t)
    scale = float(big_t.mean())
    ux, utx, ut = uniq[:, 0], uniq[:, 1] / scale, uniq[:, 2] / scale
    w = counts / counts.sum()
    dx, dtx, dt = _distinct(ux), _distinct(utx), _distinct(ut)
    xs, ns = dx.values, dx.values + offset
    has_dead = dx.expand(ns > 0)  # n > 0: the customer may have dropped out
    k = 4 if churn else 2
    psi = special.digamma

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        r, alpha = params[0], params[1]
        with np.errstate(all="ignore"):
            rx = r + ux
            la_t = dt.expand(np.log(alpha + dt.values))
            base = dx.expand(special.gammaln(r + xs) - special.gammaln(r) + r * math.log(alpha))
            d_r = dx.expand(psi(r + xs) - psi(r) + math.log(alpha))
            if not churn:
                ll = base - rx * la_t
                if not np.all(np.isfinite(ll)):
                    return 1e10, np.zeros(k)
                terms = [d_r - la_t, r / alpha - rx / (alpha + ut)]
                return -float(np.sum(w * ll)), -np.array([np.sum(w * t) for t in terms]) * params
            a, b = params[2], params[3]
            nm1 = np.maximum(ns, 1.0) - 1.0
            bab = special.betaln(a, b)
            la_x = dtx.expand(np.log(alpha + dtx.values))
            rx_la_x = rx * la_x
            alive = dx.expand(special.betaln(a, b + ns) - bab) - rx * la_t
            beta_dead = special.betaln(a + 1.0, b + np.maximum(ns, 1.0) - 1.0)
            dead = np.where(has_dead, dx.expand(beta_dead - bab) - rx_la_x, -np.inf)
            lse = np.logaddexp(alive, dead)
            ll = base + lse
            if not np.all(np.isfinite(ll)):
                return 1e10, np.zeros(k)
            w_alive, w_dead = np.exp(alive - lse), np.exp(dead - lse)
            p_ab, p_abn = psi(a + b), psi(a + b + ns)
            terms = [
                d_r - w_alive * la_t - w_dead * la_x,
                r / alpha - rx * (w_alive / (alpha + ut) + w_dead / (alpha + utx)),
                w_alive * dx.expand(p_ab - p_abn)
                + w_dead * dx.expand(psi(a + 1.0) - psi(a) + p_ab - p_abn),
                w_alive * dx.expand(psi(b + ns) - psi(b) + p_ab - p_abn)
                + w_dead * dx.expand(psi(b + nm1) - psi(b) + p_ab - p_abn),
            ]
        return -float(np.sum(w * ll)), -np.array([np.sum(w * t) for t in terms]) * params

    return nll, scale


def _fit_bgnbd(
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    *,
    offset: int = 0,
    churn: bool = True,
    n_starts: int = 4,
) -> tuple[np.ndarray, float]:
    """Maximum-likelihood ``(r, alpha, a, b)`` (``(r, alpha)`` without churn) and the log-likelihood.

    The times are divided by their mean for the search (``alpha`` is
    rescaled back, so it is returned in the unit of the inputs), identical
    customers are pooled with weights (:func:`_bgnbd_objective`), and
    L-BFGS-B with the analytic gradient runs on the log-parameters from
    ``n_starts`` starting points; the best optimum wins.
    """
    nll, scale = _bgnbd_objective(x, t_x, big_t, offset=offset, churn=churn)
    rate = max(float(x.sum()) / float(big_t.sum()) * scale, 1e-3)  # repeat orders per unit
    starts = [(1.0, 1.0, 1.0), (0.25, 0.8, 2.5), (3.0, 3.0, 10.0), (0.5, 0.2, 0.5), (2.0, 0.5, 5.0)]
    k = 4 if churn else 2
    best = None
    for r0, a0, b0 in starts[: max(1, n_starts)]:
        res = _minimize(nll, np.log([r0, r0 / rate, a0, b0][:k]))
        if best is None or res.fun < best.fun:
            best = res
    params = np.exp(best.x)
    params[1] *= scale
    ll = float(_bgnbd_loglik(params, x, t_x, big_t, offset=offset, churn=churn).sum())
    return params, ll


def _orders_if_alive_quad(r1, al1, a: float, b1, t: float) -> np.ndarray:
    """``E[(1 - (1 + p t / al1) ** -r1) / p]`` for ``p ~ Beta(a, b1)``, integrated numerically.

    Gauss-Legendre on the quantile scale, ``int_0^1 g(F^-1(u)) du``: the
    integrand ``g`` is bounded (between its values at p = 1 and p -> 0,
    ``r1 t / al1``) and monotone, so this stays accurate for any ``a``,
    ``b1``, including the near-degenerate Beta distributions of a fit in
    which almost nobody drops out.
    """
    u, wts = np.polynomial.legendre.leggauss(_N_QUANTILE)
    u, wts = (u + 1.0) / 2.0, wts / 2.0
    p = special.betaincinv(a, b1[:, None], u[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = -np.expm1(-r1[:, None] * np.log1p(p * t / al1[:, None])) / p
    g = np.where(p > 0, g, (r1 * t / al1)[:, None])  # the p -> 0 limit
    return (g * wts).sum(axis=1)


def _orders_if_alive(r1, al1, a: float, b1, t: float) -> np.ndarray:
    """Expected orders in the next ``t`` of a customer known to be alive.

    The rate has the posterior Gamma(r1, al1), the dropout probability
    Beta(a, b1); the Fader-Hardie-Lee closed form::

        (a + b1 - 1) / (a - 1) * (1 - (al1 / (al1 + t)) ** r1
                                  * 2F1(r1, b1; a + b1 - 1; t / (al1 + t)))

    ``scipy.special.hyp2f1`` is trusted only where the result is finite and
    lies in ``[0, r1 t / al1]`` (the bound when nobody drops out) and ``a``
    is not within 0.02 of 1 (where the ratio cancels badly); elsewhere the
    same expectation is integrated numerically (:func:`_orders_if_alive_quad`).
    """
    z = t / (al1 + t)
    c = a + b1 - 1.0
    with np.errstate(all="ignore"):
        h = special.hyp2f1(r1, b1, c, z)
        e = c / (a - 1.0) * (1.0 - np.exp(r1 * np.log1p(-z)) * h)
    upper = r1 / al1 * t
    ok = np.isfinite(e) & (e >= -1e-12 * upper) & (e <= upper * (1 + 1e-9))
    if abs(a - 1.0) < 0.02:
        ok[:] = False
    if not ok.all():
        e = e.copy()
        e[~ok] = _orders_if_alive_quad(r1[~ok], al1[~ok], a, b1[~ok], t)
    return np.clip(e, 0.0, upper)


def _bgnbd_predict(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    t: float,
    *,
    offset: int = 0,
    churn: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p_alive, expected orders in the next t, posterior mean rate while alive)``."""
    r, alpha = params[0], params[1]
    r1, al1 = r + x, alpha + big_t
    rate = r1 / al1
    if not churn:
        return np.ones_like(x), rate * t, rate
    a, b = params[2], params[3]
    n = x + offset
    log_odds = (
        math.log(a)
        - np.log(b + np.maximum(n, 1.0) - 1.0)
        + r1 * (np.log(al1) - np.log(alpha + t_x))
    )
    p_alive = np.where(n > 0, special.expit(-log_odds), 1.0)
    return p_alive, p_alive * _orders_if_alive(r1, al1, a, b + n, t), rate


def _gamma_gamma_objective(n: np.ndarray, m: np.ndarray) -> tuple[_Objective, float]:
    """Negative log-likelihood of the Gamma-Gamma model per customer and its gradient.

    Returns ``(nll, scale)``. ``nll(theta)`` gives ``(value, gradient)`` at
    ``theta = log(p, q, gamma / scale)``: minus the mean over customers of
    the log-likelihood of mean order value ``m / scale`` over ``n`` orders::

        log G(p n + q) - log G(p n) - log G(q) + q log(gamma) + (p n - 1) log(m)
        + p n log(n) - (p n + q) log(gamma + n m)

    with ``scale`` the mean of ``m``. The value is ``1e10`` (gradient 0)
    where a customer's log-likelihood is not finite. The gamma and digamma
    terms depend on a customer only through ``n``: they are computed once
    per distinct order count (found here, once per fit) and looked up.
    """
    scale = float(m.mean())
    ms = m / scale
    dn = _distinct(n)
    psi = special.digamma
    log_m, log_n, nm = np.log(ms), np.log(n), n * ms

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(theta)
        with np.errstate(all="ignore"):
            px, pn = p * n, p * dn.values
            lg = np.log(g + nm)
            per_n = special.gammaln(pn + q) - special.gammaln(pn) - special.gammaln(q)
            ll = (
                dn.expand(per_n + q * math.log(g)) + (px - 1.0) * log_m + px * log_n - (px + q) * lg
            )
            if not np.all(np.isfinite(ll)):
                return 1e10, np.zeros(3)
            psi_pq = psi(pn + q)
            grad = [
                (n * (dn.expand(psi_pq - psi(pn)) + log_m + log_n - lg)).mean() * p,
                (dn.expand(psi_pq - psi(q) + math.log(g)) - lg).mean() * q,
                (q / g - (px + q) / (g + nm)).mean() * g,
            ]
        return -float(ll.mean()), -np.asarray(grad)

    return nll, scale


def _fit_gamma_gamma(n: np.ndarray, m: np.ndarray, n_starts: int = 4) -> np.ndarray | None:
    """Maximum-likelihood ``(p, q, gamma)`` of the Gamma-Gamma model, or None when unstable.

    Unstable means: fewer than 20 customers, no finite optimum, ``q <= 1.05``
    (the base's mean order value ``p gamma / (q - 1)`` would be infinite or
    wildly uncertain), or an implied mean more than twice or less than half
    the observed mean of ``m`` (the model does not describe the data, for
    example when order value and frequency are strongly related).
    """
    if len(m) < 20:
        return None
    nll, scale = _gamma_gamma_objective(n, m)
    best = None
    for start in [(1.0, 3.0, 2.0), (4.0, 4.0, 0.75), (0.5, 2.0, 2.0), (10.0, 10.0, 0.9)][
        : max(1, n_starts)
    ]:
        res = _minimize(nll, np.log(start))
        if best is None or res.fun < best.fun:
            best = res
    p, q, g = np.exp(best.x)
    if not (np.isfinite(best.fun) and best.fun < 1e10 and q > 1.05):
        return None
    implied = p * g / (q - 1.0)  # in units of the observed mean
    if not 0.5 <= implied <= 2.0:
        return None
    return np.array([p, q, g * scale])


def forward_value(
    table: pd.DataFrame,
    horizon_days: float = 365.0,
    *,
    churn: bool = True,
    model: Model = "mbgnbd",
    monetary: MonetaryModel = "gamma-gamma",
    n_starts: int = 4,
    fit_sample: int | None = 100_000,
    random_state: int | None = 0,
) -> ForwardValue:
    """Estimate each customer's value over the next ``horizon_days``.

    The models, their formulas and limits are in the module docstring
    (``help(seglab.value)``).

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency``, ``recency_days``, ``tenure_days``
        and ``avg_order_value``. Prospects (``frequency`` 0) are left out.
    horizon_days : float, default 365
        Length of the next period in days.
    churn : bool, default True
        Model customers stopping (``p_alive``); False fits the NBD model
        (gamma-distributed Poisson rates, nobody drops out, ``p_alive`` 1).
    model : {"mbgnbd", "bgnbd"}, default "mbgnbd"
        ``"bgnbd"``: Fader, Hardie & Lee's BG/NBD, where a customer can drop
        out only after a repeat purchase, so every one-order customer has
        ``p_alive`` 1. ``"mbgnbd"``: the modified BG/NBD, which also allows
        dropping out right after the first purchase.
    monetary : {"gamma-gamma", "shrinkage"}, default "gamma-gamma"
        Spend per order: the Gamma-Gamma model (falls back to
        ``"shrinkage"`` when its fit is unstable; ``params["gamma_gamma"]``
        says which was used) or the shrinkage towards the base's mean.
    n_starts : int, default 4
        Starting points of each likelihood search (1 to 5).
    fit_sample : int or None, default 100_000
        With more buyers than this, both models' parameters are fitted on a
        uniform random sample of this many buyers (maximum-likelihood
        estimates from 100,000 customers are already precise to about 1 %),
        and every buyer is then scored with them; ``params["fit_rows"]`` says
        how many were used. None: fit on every buyer.
    random_state : int or None, default 0
        Seed of that sample.

    Returns
    -------
    ForwardValue
        ``values`` per customer with a purchase and the fitted ``params``.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [1, 3, 6, 2] * 25, "recency_days": [300, 20, 5, 200] * 25,
    ...                   "tenure_days": [400, 380, 390, 350] * 25,
    ...                   "avg_order_value": [40.0, 55.0, 30.0, 80.0] * 25})
    >>> fv = forward_value(t, horizon_days=180)
    >>> bool(fv.values["p_alive"].iloc[2] > fv.values["p_alive"].iloc[3])
    True
    """
    needed = ["frequency", "recency_days", "tenure_days", "avg_order_value"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputDataError(
            f"the customer table lacks {missing}; build it with build_customer_table"
        )
    if not horizon_days > 0:
        raise InputDataError(f"`horizon_days`={horizon_days!r} must be positive")
    if model not in ("bgnbd", "mbgnbd"):
        raise ConfigError(f"`model`={model!r}; use 'mbgnbd' or 'bgnbd'")
    if monetary not in ("gamma-gamma", "shrinkage"):
        raise ConfigError(f"`monetary`={monetary!r}; use 'gamma-gamma' or 'shrinkage'")
    buyers = table[table["frequency"].fillna(0) > 0]
    if buyers.empty:
        raise InputDataError("no customer has a purchase, so there is no value to project")
    orders = buyers["frequency"].to_numpy(dtype="float64")
    x = np.clip(orders - 1.0, 0, None)  # repeat orders
    big_t = buyers["tenure_days"].to_numpy(dtype="float64")  # days since the first purchase
    rec = buyers["recency_days"].to_numpy(dtype="float64")
    if np.isnan(big_t).any() or (big_t <= 0).any():
        raise InputDataError("`tenure_days` must be positive for every customer with a purchase")
    if np.isnan(rec).any():
        raise InputDataError("`recency_days` is missing for some customers with a purchase")
    t_x = np.clip(big_t - rec, 0, big_t)  # days from the first to the last purchase
    offset = 1 if model == "mbgnbd" else 0

    fit = np.arange(len(x))
    if fit_sample is not None and len(x) > fit_sample:
        rng = np.random.default_rng(random_state)
        fit = np.sort(rng.choice(len(x), size=int(fit_sample), replace=False))
    fitted, loglik = _fit_bgnbd(
        x[fit], t_x[fit], big_t[fit], offset=offset, churn=churn, n_starts=n_starts
    )
    p_alive, expected, rate = _bgnbd_predict(
        fitted, x, t_x, big_t, float(horizon_days), offset=offset, churn=churn
    )

    m = buyers["avg_order_value"].to_numpy(dtype="float64")
    if np.isnan(m).any():
        raise InputDataError("`avg_order_value` is missing for some customers with a purchase")
    m0 = np.clip(m, 0.0, None)
    repeat = fit[(orders[fit] >= 2) & (m[fit] > 0)]
    gg = (
        _fit_gamma_gamma(orders[repeat], m[repeat], n_starts) if monetary == "gamma-gamma" else None
    )
    if gg is not None:
        gp, gq, gg_scale = gg
        aov = gp * (gg_scale + orders * m0) / (gp * orders + gq - 1.0)
        base_aov = gp * gg_scale / (gq - 1.0)
    else:
        gp = gq = gg_scale = math.nan
        pos = m0 > 0
        base_aov = float((orders[pos] * m0[pos]).sum() / orders[pos].sum()) if pos.any() else 0.0
        aov = (base_aov + orders * m0) / (1.0 + orders)

    values = pd.DataFrame(
        {
            "rate_per_day": rate,
            "p_alive": p_alive,
            "expected_orders": expected,
            "avg_order_value": aov,
            "forward_value": expected * aov,
        },
        index=buyers.index,
    )
    nan = math.nan
    params = {
        "horizon_days": float(horizon_days),
        "r": float(fitted[0]),
        "alpha": float(fitted[1]),
        "a": float(fitted[2]) if churn else nan,
        "b": float(fitted[3]) if churn else nan,
        "dropout_chance": float(fitted[2] / (fitted[2] + fitted[3])) if churn else 0.0,
        "loglik": loglik,
        "fit_rows": len(fit),
        "gamma_gamma": float(gg is not None),
        "gg_p": float(gp),
        "gg_q": float(gq),
        "gg_gamma": float(gg_scale),
        "base_avg_order_value": float(base_aov),
    }
    return ForwardValue(values, params)
