"""Lifecycle stages (prospect, new, active, reactivated, at risk, lapsed, churned) and their funnel.

Stages are rules on the customer table, checked in this order so that each
customer gets exactly one:

1. **prospect**: no purchase (``frequency == 0``).
2. **new**: first purchase at most ``new_days`` before the reference date.
3. **reactivated**: last purchase within ``active_days`` *and* a gap between
   two purchases longer than ``reactivation_gap_days`` (default
   ``lapsed_days``: the customer had gone past the lapsed window, and came
   back). Uses ``max_gap_days`` of the customer table.
4. **active**: last purchase within ``active_days``.
5. **at risk**: last purchase within ``at_risk_days``.
6. **lapsed**: last purchase within ``lapsed_days``.
7. **churned**: longer ago.

Default thresholds (:func:`derive_thresholds`) come from the customer
base's own rhythm: the distribution of ``mean_interpurchase_days`` over
repeat customers (one value per customer, so heavy buyers do not dominate).
``active_days`` = its 75th percentile, ``at_risk_days`` = 90th percentile,
``lapsed_days`` = twice the 90th percentile, ``new_days`` = ``active_days``,
each rounded up to whole days. A customer silent for longer than 90% of
customers' usual gap is at risk; twice that and they are lapsed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab.errors import ConfigError, InputDataError

__all__ = [
    "STAGES",
    "THRESHOLD_KEYS",
    "Lifecycle",
    "derive_thresholds",
    "lifecycle_stages",
    "plot_lifecycle_funnel",
    "stage_counts",
]

#: Stages in funnel order.
STAGES: tuple[str, ...] = (
    "prospect",
    "new",
    "active",
    "reactivated",
    "at risk",
    "lapsed",
    "churned",
)
THRESHOLD_KEYS = ("new_days", "active_days", "at_risk_days", "lapsed_days", "reactivation_gap_days")


class Lifecycle(NamedTuple):
    """Result of :func:`lifecycle_stages`.

    Attributes
    ----------
    stages : Series
        Ordered categorical stage per customer, indexed like the table.
    thresholds : dict
        The thresholds used, in days (print them in the report).
    counts : DataFrame
        Customers per stage (:func:`stage_counts`).
    rule : str
        How the thresholds were obtained, in one sentence.
    """

    stages: pd.Series
    thresholds: dict[str, float]
    counts: pd.DataFrame
    rule: str


def derive_thresholds(
    table: pd.DataFrame,
    *,
    active_quantile: float = 0.75,
    at_risk_quantile: float = 0.90,
    lapsed_factor: float = 2.0,
    min_repeat_customers: int = 20,
) -> tuple[dict[str, float], str]:
    """Derive stage thresholds from the distribution of inter-purchase times.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency`` and ``mean_interpurchase_days``.
    active_quantile, at_risk_quantile : float
        Percentiles of the repeat customers' mean inter-purchase time that
        bound the active and at-risk windows.
    lapsed_factor : float
        ``lapsed_days = lapsed_factor * at_risk_days`` (before rounding).
    min_repeat_customers : int
        Fewer repeat customers than this is too little to learn a rhythm
        from: an error asks for explicit thresholds.

    Returns
    -------
    thresholds : dict
        ``new_days``, ``active_days``, ``at_risk_days``, ``lapsed_days``,
        ``reactivation_gap_days`` in whole days.
    rule : str
        The rule, with the numbers, for the report.
    """
    for col in ("frequency", "mean_interpurchase_days"):
        if col not in table.columns:
            raise InputDataError(
                f"the customer table lacks `{col}`; build it with build_customer_table"
            )
    gaps = table.loc[table["frequency"] >= 2, "mean_interpurchase_days"].dropna()
    if len(gaps) < min_repeat_customers:
        raise InputDataError(
            f"only {len(gaps):,} repeat customers (need {min_repeat_customers}) to derive "
            "lifecycle thresholds from; pass thresholds=dict(new_days=..., active_days=..., "
            "at_risk_days=..., lapsed_days=...)"
        )
    q_act = float(np.quantile(gaps, active_quantile))
    q_risk = float(np.quantile(gaps, at_risk_quantile))
    active = max(1, math.ceil(q_act))
    at_risk = max(active, math.ceil(q_risk))
    lapsed = max(at_risk, math.ceil(lapsed_factor * q_risk))
    thresholds = {
        "new_days": float(active),
        "active_days": float(active),
        "at_risk_days": float(at_risk),
        "lapsed_days": float(lapsed),
        "reactivation_gap_days": float(lapsed),
    }
    rule = (
        f"derived from the mean inter-purchase time of {len(gaps):,} repeat customers: "
        f"active up to its {active_quantile:.0%} percentile ({active} days), at risk up to its "
        f"{at_risk_quantile:.0%} percentile ({at_risk} days), lapsed up to {lapsed_factor:g}x that "
        f"({lapsed} days), churned beyond; new = first purchase within {active} days; "
        f"reactivated = active after a gap of more than {lapsed} days"
    )
    return thresholds, rule


def _check_thresholds(given: Mapping[str, Any]) -> dict[str, float]:
    unknown = set(given) - set(THRESHOLD_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown lifecycle threshold(s) {sorted(unknown)}; use {', '.join(THRESHOLD_KEYS)}"
        )
    out = {}
    for k, v in given.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"lifecycle threshold {k}={v!r} is not a number of days") from exc
        if not out[k] > 0:
            raise ConfigError(f"lifecycle threshold {k}={v!r} must be a positive number of days")
    return out


def lifecycle_stages(
    table: pd.DataFrame,
    thresholds: Mapping[str, float] | None = None,
    reference_date: Any = None,
) -> Lifecycle:
    """Assign each customer one lifecycle stage.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``frequency``, ``recency_days``, ``tenure_days``,
        ``max_gap_days`` and ``mean_interpurchase_days``.
    thresholds : dict, optional
        Days for ``new_days``, ``active_days``, ``at_risk_days``,
        ``lapsed_days`` and optionally ``reactivation_gap_days`` (default
        ``lapsed_days``). Missing keys are derived from the data with
        :func:`derive_thresholds`; None derives all of them.
    reference_date : date-like, optional
        Recompute recency and tenure against this date from
        ``last_purchase`` / ``first_purchase`` (it must not precede the last
        purchase). Default: the table's own reference date.

    Returns
    -------
    Lifecycle
        ``stages``, ``thresholds``, ``counts`` and ``rule``.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [0, 1, 3, 2, 4],
    ...     "recency_days": [np.nan, 5, 10, 50, 12], "tenure_days": [np.nan, 5, 300, 90, 400],
    ...     "max_gap_days": [np.nan, np.nan, 60, 40, 200], "mean_interpurchase_days": np.nan})
    >>> th = dict(new_days=30, active_days=30, at_risk_days=60, lapsed_days=120)
    >>> lifecycle_stages(t, th).stages.tolist()
    ['prospect', 'new', 'active', 'at risk', 'reactivated']
    """
    needed = ["frequency", "recency_days", "tenure_days", "max_gap_days"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputDataError(
            f"the customer table lacks {missing}; build it with build_customer_table"
        )
    given = _check_thresholds(thresholds or {})
    core = ("new_days", "active_days", "at_risk_days", "lapsed_days")
    if all(k in given for k in core):
        derived: dict[str, float] = {}
        rule = "set by the user"
    else:
        derived, rule = derive_thresholds(table)
        if given:
            rule = f"{sorted(given)} set by the user, the rest {rule}"
    th = {**derived, **given}
    th.setdefault("reactivation_gap_days", th["lapsed_days"])
    if not th["active_days"] <= th["at_risk_days"] <= th["lapsed_days"]:
        raise ConfigError(
            "lifecycle thresholds must satisfy active_days <= at_risk_days <= lapsed_days; got "
            f"{th['active_days']:g}, {th['at_risk_days']:g}, {th['lapsed_days']:g}"
        )

    recency = table["recency_days"].astype("float64")
    tenure = table["tenure_days"].astype("float64")
    if reference_date is not None:
        for col in ("first_purchase", "last_purchase"):
            if col not in table.columns:
                raise InputDataError(f"reference_date needs column `{col}` in the table")
        ref = pd.Timestamp(reference_date).normalize()
        last = pd.to_datetime(table["last_purchase"]).dt.normalize()
        if (last >= ref).any():
            raise InputDataError(
                f"{int((last >= ref).sum()):,} customers bought on or after reference_date "
                f"{ref.date()}; pass a later date or rebuild the table with that reference date"
            )
        recency = (ref - last).dt.days.astype("float64")
        tenure = (ref - pd.to_datetime(table["first_purchase"]).dt.normalize()).dt.days.astype(
            "float64"
        )

    freq = table["frequency"].fillna(0)
    gap = table["max_gap_days"].astype("float64")
    conditions = [
        freq.eq(0) | recency.isna(),
        tenure.le(th["new_days"]),
        recency.le(th["active_days"]) & gap.gt(th["reactivation_gap_days"]),
        recency.le(th["active_days"]),
        recency.le(th["at_risk_days"]),
        recency.le(th["lapsed_days"]),
    ]
    choices = ["prospect", "new", "reactivated", "active", "at risk", "lapsed"]
    values = np.select([c.to_numpy() for c in conditions], choices, default="churned")
    stages = pd.Series(
        pd.Categorical(values, categories=list(STAGES), ordered=True),
        index=table.index,
        name="lifecycle_stage",
    )
    return Lifecycle(stages, th, stage_counts(stages), rule)


def stage_counts(stages: pd.Series) -> pd.DataFrame:
    """Customers per stage, in funnel order (empty stages included).

    Returns
    -------
    DataFrame
        Indexed by stage: ``n_customers`` and ``share``.
    """
    counts = pd.Series(stages).value_counts().reindex(list(STAGES), fill_value=0)
    total = counts.sum()
    out = pd.DataFrame({"n_customers": counts.astype("int64")})
    out["share"] = out["n_customers"] / total if total else np.nan
    out.index.name = "stage"
    return out


def plot_lifecycle_funnel(stages: pd.Series | pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Funnel of customers per lifecycle stage (centred bars, funnel order).

    Parameters
    ----------
    stages : Series or DataFrame
        Stage per customer, or the ``counts`` frame of :class:`Lifecycle`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts = stages if isinstance(stages, pd.DataFrame) else stage_counts(stages)
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 4))
    n = counts["n_customers"].to_numpy(dtype="float64")
    y = np.arange(len(counts))
    ax.barh(y, n, left=-n / 2, color=plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(n))))
    width = n.max() if len(n) and n.max() > 0 else 1.0
    for yi, (cnt, share) in enumerate(zip(n, counts["share"], strict=True)):
        ax.text(width / 2 * 1.05, yi, f"{cnt:,.0f} ({share:.0%})", va="center", fontsize=9)
    ax.set_yticks(y, labels=list(counts.index))
    ax.invert_yaxis()
    ax.set_xlim(-width / 2 * 1.05, width / 2 * 1.6)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("Customers by lifecycle stage")
    return ax
