"""RFM scoring (tie-aware quantiles or cut points), named RFM segments and their plots.

Scores run from 1 to ``bins``; a high score is good on every axis (recent,
frequent, big spender). ``FM`` combines frequency and monetary value as
``ceil((F + M) / 2)``, the usual second axis of the R x FM segment grid.

Why not ``pandas.qcut``
-----------------------
Frequency is mostly 1 (one-time buyers), so plain quantile edges repeat and
``qcut`` fails, while a rank-based fix (``rank(method="first")``) gives
identical customers different scores. Here a customer's score depends only
on the share of scored customers with a strictly worse value:
``score = 1 + floor(bins * n_worse / n)``. Identical values always share a
score; equal-size bins come out when there are no ties; when one value
holds more than ``1 / bins`` of the customers, the quantile bins it spans
merge into one, labelled by the lowest of them, and the scores in between
stay empty. :func:`rfm_scores` reports every score with its count and the
actual range of values, and flags the empty ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab import _ids
from seglab._ranks import tie_bounds
from seglab.errors import ConfigError, InputDataError

__all__ = [
    "RFM_SEGMENTS",
    "SEGMENT_DESCRIPTIONS",
    "RFMScores",
    "SegmentAssignment",
    "assign_rfm_segments",
    "plot_rfm_grid",
    "plot_segment_bars",
    "rfm_scores",
    "segment_summary",
    "validate_segment_map",
]

METRICS = {"R": "recency_days", "F": "frequency", "M": "monetary"}

#: Rule format: segment name -> list of conditions; a condition maps a score
#: ("R", "F", "M" or "FM") to an inclusive (low, high) range or one value. A
#: customer belongs to a segment when any of its conditions holds. Every
#: combination of scores must match exactly one segment (see
#: :func:`validate_segment_map`). Defaults are given for 3, 4 and 5 bins on
#: the R x FM grid; some segments do not exist on the coarser grids.
RFM_SEGMENTS: dict[int, dict[str, list[dict[str, tuple[int, int]]]]] = {
    5: {
        "Champions": [{"R": (4, 5), "FM": (4, 5)}],
        "Loyal": [{"R": (3, 3), "FM": (4, 5)}],
        "Potential loyalist": [{"R": (4, 5), "FM": (2, 3)}],
        "New": [{"R": (5, 5), "FM": (1, 1)}],
        "Promising": [{"R": (4, 4), "FM": (1, 1)}],
        "Need attention": [{"R": (3, 3), "FM": (3, 3)}],
        "About to sleep": [{"R": (3, 3), "FM": (1, 2)}],
        "At risk": [{"R": (1, 2), "FM": (3, 4)}],
        "Cannot lose them": [{"R": (1, 2), "FM": (5, 5)}],
        "Hibernating": [{"R": (2, 2), "FM": (1, 2)}],
        "Lost": [{"R": (1, 1), "FM": (1, 2)}],
    },
    4: {
        "Champions": [{"R": (4, 4), "FM": (3, 4)}],
        "Loyal": [{"R": (3, 3), "FM": (3, 4)}],
        "Potential loyalist": [{"R": (4, 4), "FM": (2, 2)}],
        "New": [{"R": (4, 4), "FM": (1, 1)}],
        "Promising": [{"R": (3, 3), "FM": (1, 1)}],
        "Need attention": [{"R": (3, 3), "FM": (2, 2)}],
        "About to sleep": [{"R": (2, 2), "FM": (1, 2)}],
        "At risk": [{"R": (2, 2), "FM": (3, 4)}, {"R": (1, 1), "FM": (3, 3)}],
        "Cannot lose them": [{"R": (1, 1), "FM": (4, 4)}],
        "Hibernating": [{"R": (1, 1), "FM": (2, 2)}],
        "Lost": [{"R": (1, 1), "FM": (1, 1)}],
    },
    3: {
        "Champions": [{"R": (3, 3), "FM": (3, 3)}],
        "Loyal": [{"R": (2, 2), "FM": (3, 3)}],
        "Potential loyalist": [{"R": (3, 3), "FM": (2, 2)}],
        "New": [{"R": (3, 3), "FM": (1, 1)}],
        "Need attention": [{"R": (2, 2), "FM": (2, 2)}],
        "About to sleep": [{"R": (2, 2), "FM": (1, 1)}],
        "At risk": [{"R": (1, 1), "FM": (2, 2)}],
        "Cannot lose them": [{"R": (1, 1), "FM": (3, 3)}],
        "Lost": [{"R": (1, 1), "FM": (1, 1)}],
    },
}

#: One line per default segment: who they are and what to do with them.
SEGMENT_DESCRIPTIONS: dict[str, str] = {
    "Champions": "bought recently, buy often and spend the most: reward, ask for referrals",
    "Loyal": "spend well and often, a little less recently: upsell, loyalty programme",
    "Potential loyalist": "recent customers with average spend: membership, recommendations",
    "New": "bought very recently for the first time or little: onboarding, second-order offer",
    "Promising": "recent, low spend so far: build the relationship, trial offers",
    "Need attention": "average on every axis: limited-time offers based on past purchases",
    "About to sleep": "below average recency and spend: share popular products, reconnect",
    "At risk": "spent well and often but long ago: personal win-back message",
    "Cannot lose them": "biggest spenders who have gone quiet: call them first",
    "Hibernating": "low spend, long ago: low-cost reactivation only",
    "Lost": "lowest scores: exclude from costly campaigns",
}


class RFMScores(NamedTuple):
    """Result of :func:`rfm_scores`.

    Attributes
    ----------
    scores : DataFrame
        Indexed like the customer table (scored customers only): the raw
        ``recency_days``, ``frequency`` and ``monetary``, the scores ``R``,
        ``F``, ``M``, ``FM`` and the code ``RFM`` (e.g. ``"534"``).
    report : DataFrame
        One row per metric and score: ``n_customers``, ``share``,
        ``min_value`` and ``max_value`` (the actual edges), ``empty`` and a
        ``note`` on merged bins.
    bins : int
        Number of score levels.
    excluded : Index
        Customers not scored because they have no purchase (prospects).
    """

    scores: pd.DataFrame
    report: pd.DataFrame
    bins: int
    excluded: pd.Index


class SegmentAssignment(NamedTuple):
    """Result of :func:`assign_rfm_segments`: a segment per customer and warnings."""

    segments: pd.Series
    warnings: list[str]


# --------------------------------------------------------------------------- scoring
def _quantile_scores(values: np.ndarray, bins: int, higher_is_better: bool) -> np.ndarray:
    """Tie-aware quantile score: ``1 + floor(bins * n_worse / n)`` with exact integers."""
    n = len(values)
    below, at_or_below = tie_bounds(values)
    worse = below if higher_is_better else n - at_or_below
    return (1 + (bins * worse) // n).astype("int64")


def _cut_scores(
    values: np.ndarray, cuts: Sequence[float], bins: int, higher_is_better: bool
) -> np.ndarray:
    """Score from cut points: a value equal to a cut point falls in the lower interval."""
    idx = np.searchsorted(np.asarray(cuts, dtype="float64"), values, side="left")
    return (idx + 1 if higher_is_better else bins - idx).astype("int64")


def _check_cuts(cuts: Any, bins: int) -> dict[str, list[float]]:
    if not isinstance(cuts, Mapping):
        raise InputDataError(
            "method='cuts' needs `cuts`, a dict with 'recency', 'frequency' and 'monetary' "
            f"lists of {bins - 1} increasing cut points"
        )
    out = {}
    for letter, col in METRICS.items():
        name = col.replace("_days", "")
        got = cuts.get(name, cuts.get(col, cuts.get(letter)))
        if got is None:
            raise InputDataError(f"`cuts` has no entry for '{name}' (keys: {list(cuts)})")
        got = [float(v) for v in got]
        if len(got) != bins - 1 or any(b <= a for a, b in itertools.pairwise(got)):
            raise InputDataError(
                f"`cuts['{name}']`={got} must be {bins - 1} strictly increasing numbers "
                f"for bins={bins}"
            )
        out[letter] = got
    return out


def _report(values: pd.Series, scores: np.ndarray, letter: str, bins: int) -> pd.DataFrame:
    frame = pd.DataFrame({"v": values.to_numpy(), "s": scores})
    g = frame.groupby("s")["v"].agg(["size", "min", "max"]).reindex(range(1, bins + 1))
    rows = []
    n = len(frame)
    for s in range(1, bins + 1):
        size = 0 if pd.isna(g.loc[s, "size"]) else int(g.loc[s, "size"])
        note = ""
        if size == 0:
            lower = [k for k in range(s - 1, 0, -1) if not pd.isna(g.loc[k, "size"])]
            if lower:
                k = lower[0]
                lo, hi = g.loc[k, "min"], g.loc[k, "max"]
                val = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
                note = f"empty: the tie at {val} spans this quantile; merged into score {k}"
            else:
                note = "empty: no value falls in this range"
        rows.append(
            {
                "metric": METRICS[letter],
                "score": s,
                "n_customers": size,
                "share": size / n if n else np.nan,
                "min_value": g.loc[s, "min"],
                "max_value": g.loc[s, "max"],
                "empty": size == 0,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def rfm_scores(
    table: pd.DataFrame,
    bins: int = 5,
    method: Literal["quantile", "cuts"] = "quantile",
    cuts: Mapping[str, Sequence[float]] | None = None,
) -> RFMScores:
    """Score recency, frequency and monetary value from 1 to ``bins``.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency_days``, ``frequency`` and ``monetary``
        (from :func:`seglab.features.build_customer_table`). Customers with no
        purchase (frequency 0 or missing recency) are not scored: RFM applies to
        existing customers only; they are listed in ``excluded``.
    bins : int, default 5
        Number of score levels (2 to 10).
    method : {"quantile", "cuts"}, default "quantile"
        ``"quantile"``: tie-aware quantile bins (see the module docstring).
        ``"cuts"``: the user's cut points.
    cuts : dict, optional
        For ``method="cuts"``: ``{"recency": [...], "frequency": [...],
        "monetary": [...]}``, each ``bins - 1`` increasing numbers. A value
        equal to a cut point belongs to the lower interval, so frequency cuts
        ``[1, 2, 4, 9]`` give F=1 for one order, 2 for two, 3 for three or
        four... and recency cuts ``[30, 90, 180, 365]`` give R=5 up to 30 days.

    Returns
    -------
    RFMScores
        ``scores``, ``report`` (actual edges and counts per score), ``bins``,
        ``excluded``.

    Examples
    --------
    >>> t = pd.DataFrame({"recency_days": [5, 40, 200, 10], "frequency": [1, 1, 1, 4],
    ...                   "monetary": [20.0, 35.0, 10.0, 300.0]})
    >>> res = rfm_scores(t, bins=3)
    >>> res.scores[["R", "F", "M"]].to_numpy().tolist()
    [[3, 1, 1], [1, 1, 2], [1, 1, 1], [2, 3, 3]]
    """
    missing = [c for c in METRICS.values() if c not in table.columns]
    if missing:
        raise InputDataError(
            f"the customer table lacks {missing}; build it with seglab.features.build_customer_table"
        )
    if not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 10:
        raise InputDataError(f"`bins`={bins!r} must be an integer from 2 to 10")
    if method not in ("quantile", "cuts"):
        raise InputDataError(f"`method`={method!r}; use 'quantile' or 'cuts'")
    has_purchase = table["frequency"].fillna(0).gt(0) & table["recency_days"].notna()
    scored = table.loc[has_purchase, list(METRICS.values())].copy()
    if scored.empty:
        raise InputDataError(
            f"none of the {len(table):,} customers has a purchase, so there is nothing to score"
        )
    if scored["monetary"].isna().any():
        raise InputDataError(
            f"column `monetary` has {int(scored['monetary'].isna().sum()):,} missing values "
            "among customers with purchases; rebuild the customer table"
        )
    cut_map = _check_cuts(cuts, bins) if method == "cuts" else None
    reports = []
    for letter, col in METRICS.items():
        values = scored[col].to_numpy(dtype="float64")
        better_high = letter != "R"
        if cut_map is None:
            s = _quantile_scores(values, bins, better_high)
        else:
            s = _cut_scores(values, cut_map[letter], bins, better_high)
        scored[letter] = s
        reports.append(_report(scored[col], s, letter, bins))
    scored["FM"] = (scored["F"] + scored["M"] + 1) // 2
    scored["RFM"] = (
        scored["R"].astype(str) + scored["F"].astype(str) + scored["M"].astype(str)
        if bins < 10
        else scored["R"].astype(str) + "-" + scored["F"].astype(str) + "-" + scored["M"].astype(str)
    )
    report = pd.concat(reports, ignore_index=True)
    return RFMScores(scored, report, int(bins), table.index[~has_purchase.to_numpy()])


# --------------------------------------------------------------------------- segments
def _norm_range(value: Any, dim: str, bins: int, segment: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        lo = hi = int(value)
    else:
        try:
            lo, hi = (int(v) for v in value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"segment '{segment}': {dim}={value!r} must be a score or a (low, high) pair"
            ) from exc
    if not 1 <= lo <= hi <= bins:
        raise ConfigError(f"segment '{segment}': {dim}={value!r} is outside 1..{bins} or reversed")
    return lo, hi


def _resolve_map(segment_map: Any, bins: int) -> Mapping[str, Any]:
    if segment_map is None:
        if bins not in RFM_SEGMENTS:
            raise ConfigError(
                f"there is no default segment map for bins={bins} (defaults exist for "
                f"{sorted(RFM_SEGMENTS)}); pass `segment_map=` or score with bins=5"
            )
        return RFM_SEGMENTS[bins]
    if (
        isinstance(segment_map, Mapping)
        and segment_map
        and all(isinstance(k, (int, np.integer)) for k in segment_map)
    ):
        if bins not in segment_map:
            raise ConfigError(f"the segment map has no entry for bins={bins}")
        return segment_map[bins]
    if not isinstance(segment_map, Mapping) or not segment_map:
        raise ConfigError("`segment_map` must map segment names to lists of score conditions")
    return segment_map


def validate_segment_map(segment_map: Any, bins: int) -> pd.DataFrame:
    """Check that every score combination maps to exactly one segment.

    Parameters
    ----------
    segment_map : dict
        ``{name: [condition, ...]}`` (or ``{bins: {name: [...]}}`` like
        :data:`RFM_SEGMENTS`); a condition maps ``"R"``, ``"F"``, ``"M"`` or
        ``"FM"`` to a score or an inclusive ``(low, high)`` range.
    bins : int
        Number of score levels.

    Returns
    -------
    DataFrame
        The lookup table: one row per combination of the scores the map uses
        (``R`` and ``FM`` for the defaults; ``R``, ``F``, ``M`` when a rule
        uses F or M), with its ``segment``.

    Raises
    ------
    ConfigError
        Listing the combinations no segment covers and those more than one
        segment claims (with the segments).
    """
    rules = _resolve_map(segment_map, bins)
    parsed: list[tuple[str, dict[str, tuple[int, int]]]] = []
    for name, conds in rules.items():
        if isinstance(conds, Mapping):
            conds = [conds]
        for cond in conds:
            bad = set(cond) - {"R", "F", "M", "FM"}
            if bad:
                raise ConfigError(
                    f"segment '{name}' uses unknown score(s) {sorted(bad)}; use R, F, M or FM"
                )
            parsed.append((name, {d: _norm_range(v, d, bins, name) for d, v in cond.items()}))
    used = {d for _n, c in parsed for d in c}
    dims = ["R", "F", "M"] if used & {"F", "M"} else ["R", "FM"]
    levels = range(1, bins + 1)
    rows, uncovered, overlaps = [], [], []
    for combo in itertools.product(levels, repeat=len(dims)):
        code = dict(zip(dims, combo, strict=True))
        if "FM" not in code:
            code["FM"] = (code["F"] + code["M"] + 1) // 2
        hits = []
        for name, cond in parsed:
            if all(lo <= code[d] <= hi for d, (lo, hi) in cond.items()) and name not in hits:
                hits.append(name)
        label = " ".join(f"{d}={code[d]}" for d in dims)
        if not hits:
            uncovered.append(label)
        elif len(hits) > 1:
            overlaps.append(f"{label} ({', '.join(hits)})")
        rows.append({**{d: code[d] for d in dims}, "segment": hits[0] if len(hits) == 1 else None})
    if uncovered or overlaps:
        parts = []
        if uncovered:
            parts.append(
                f"{len(uncovered)} score combination(s) match no segment: {'; '.join(uncovered)}"
            )
        if overlaps:
            parts.append(f"{len(overlaps)} match more than one segment: {'; '.join(overlaps)}")
        raise ConfigError(
            f"segment map for bins={bins} is not a partition: "
            + "; and ".join(parts)
            + ". Every combination must map to exactly one segment."
        )
    return pd.DataFrame(rows)


def assign_rfm_segments(
    scores: pd.DataFrame | RFMScores,
    segment_map: Mapping[Any, Any] | None = None,
    min_share: float | None = None,
    *,
    bins: int | None = None,
) -> SegmentAssignment:
    """Give each scored customer exactly one named segment.

    Parameters
    ----------
    scores : RFMScores or DataFrame
        The result of :func:`rfm_scores` (or its ``scores`` frame with ``R``,
        ``F`` and ``M`` columns, then ``bins`` is required).
    segment_map : dict, optional
        Rules as in :data:`RFM_SEGMENTS`; default: the map for ``bins``.
        Validated with :func:`validate_segment_map`.
    min_share : float, optional
        Warn about segments holding less than this share of the scored
        customers (empty ones included), as they are too small to act on.
    bins : int, optional
        Number of score levels when ``scores`` is a plain frame.

    Returns
    -------
    SegmentAssignment
        ``segments``: a categorical Series (categories in map order) indexed
        like the scores; ``warnings``: messages about small segments.
    """
    if isinstance(scores, RFMScores):
        bins = scores.bins if bins is None else bins
        frame = scores.scores
    else:
        frame = scores
        if bins is None:
            raise InputDataError("pass `bins=` (the number of score levels) with a plain frame")
    missing = [c for c in ("R", "F", "M") if c not in frame.columns]
    if missing:
        raise InputDataError(f"the scores lack column(s) {missing}; use rfm_scores() first")
    lookup = validate_segment_map(segment_map, bins)
    dims = [c for c in ("R", "F", "M", "FM") if c in lookup.columns]
    codes = frame[["R", "F", "M"]].astype("int64").copy()
    codes["FM"] = (codes["F"] + codes["M"] + 1) // 2
    merged = codes[dims].merge(lookup, on=dims, how="left")
    names = list(_resolve_map(segment_map, bins))
    seg = pd.Series(
        pd.Categorical(merged["segment"].to_numpy(), categories=names),
        index=frame.index,
        name="segment",
    )
    warnings: list[str] = []
    if min_share is not None:
        n = len(seg)
        counts = seg.value_counts().reindex(names, fill_value=0)
        for name, cnt in counts.items():
            share = cnt / n if n else 0.0
            if share < min_share:
                warnings.append(
                    f"segment '{name}' holds {share:.1%} of customers ({cnt:,} of {n:,}), under "
                    f"min_share={min_share:.1%}: merge it with a neighbour or use fewer bins"
                )
    return SegmentAssignment(seg, warnings)


def segment_summary(segments: pd.Series, monetary: pd.Series) -> pd.DataFrame:
    """Size, revenue and value index of each segment.

    Parameters
    ----------
    segments : Series
        Segment per customer.
    monetary : Series
        Monetary value per customer, indexed by customer (for example the customer
        table's ``monetary`` column): it is aligned on ``segments``' index.

    Returns
    -------
    DataFrame
        Indexed by segment: ``n_customers``, ``customer_share``, ``revenue``,
        ``revenue_share``, ``avg_monetary`` and ``value_index`` (segment mean
        / overall mean x 100).
    """
    frame = pd.DataFrame(
        {"segment": segments, "monetary": _ids.align(monetary, segments.index).to_numpy()},
        index=segments.index,
    )
    g = frame.groupby("segment", observed=False)["monetary"]
    out = pd.DataFrame({"n_customers": g.size(), "revenue": g.sum()})
    total_n, total_rev = out["n_customers"].sum(), out["revenue"].sum()
    out["customer_share"] = out["n_customers"] / total_n
    out["revenue_share"] = out["revenue"] / total_rev if total_rev else np.nan
    out["avg_monetary"] = out["revenue"] / out["n_customers"].where(out["n_customers"] > 0)
    overall = total_rev / total_n if total_n else np.nan
    out["value_index"] = out["avg_monetary"] / overall * 100
    return out[
        ["n_customers", "customer_share", "revenue", "revenue_share", "avg_monetary", "value_index"]
    ]


# --------------------------------------------------------------------------- plots
def plot_rfm_grid(
    scores: pd.DataFrame | RFMScores,
    value: Literal["monetary", "count"] = "monetary",
    ax: plt.Axes | None = None,
    *,
    bins: int | None = None,
) -> plt.Axes:
    """Heatmap of recency score (rows, most recent on top) by frequency score (columns).

    Parameters
    ----------
    scores : RFMScores or DataFrame
        Output of :func:`rfm_scores`.
    value : {"monetary", "count"}, default "monetary"
        Cell value: mean monetary value per customer, or number of customers.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    bins : int, optional
        Number of score levels when ``scores`` is a plain frame (default: the
        largest score seen).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import seaborn as sns

    if isinstance(scores, RFMScores):
        bins = scores.bins if bins is None else bins
        frame = scores.scores
    else:
        frame = scores
        bins = bins or int(frame[["R", "F"]].max().max())
    if value not in ("monetary", "count"):
        raise InputDataError(f"`value`={value!r}; use 'monetary' or 'count'")
    levels = range(1, bins + 1)
    if value == "count":
        grid = frame.groupby(["R", "F"]).size()
        fmt, label = ",.0f", "customers"
    else:
        grid = frame.groupby(["R", "F"])["monetary"].mean()
        fmt, label = ",.0f", "mean monetary value"
    grid = grid.unstack("F").reindex(index=list(levels)[::-1], columns=list(levels))
    if ax is None:
        _fig, ax = plt.subplots(figsize=(1.1 * bins + 2, 0.9 * bins + 1))
    sns.heatmap(
        grid,
        annot=True,
        fmt=fmt,
        cmap="YlGnBu",
        cbar_kws={"label": label},
        linewidths=0.5,
        ax=ax,
    )
    ax.set_xlabel("frequency score F")
    ax.set_ylabel("recency score R (5 = most recent)" if bins == 5 else "recency score R")
    ax.set_title(f"RFM grid: {label} by recency and frequency score")
    return ax


def plot_segment_bars(
    segments: pd.Series,
    monetary: pd.Series,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Horizontal bars of each segment's share of customers and share of revenue.

    Parameters
    ----------
    segments : Series
        Segment per customer (e.g. ``assign_rfm_segments(...).segments``).
    monetary : Series
        Monetary value per customer, indexed by customer (aligned as in
        :func:`segment_summary`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    summary = segment_summary(segments, monetary)
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 0.45 * len(summary) + 1.5))
    y = np.arange(len(summary))
    h = 0.4
    ax.barh(y - h / 2, summary["customer_share"] * 100, height=h, label="share of customers")
    ax.barh(y + h / 2, summary["revenue_share"] * 100, height=h, label="share of revenue")
    ax.set_yticks(y, labels=[str(s) for s in summary.index])
    ax.invert_yaxis()
    ax.set_xlabel("% of total")
    ax.set_title("Segment size and revenue share")
    ax.legend(loc="lower right")
    return ax
