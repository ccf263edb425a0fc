"""Segment profiles: sizes, index vs average, distinguishing features, draft names, personas, plots.

Conventions used throughout
---------------------------
Index vs average
    ``segment mean / overall mean x 100``. The *overall* mean is taken over
    **all customers in the table** passed in (prospects included, if the table
    holds them), so an index of 100 means "like the average customer of this
    table". The index is NaN when the overall mean is zero or when the variable
    takes negative values (factor scores, z-scores): a ratio to the mean has no
    meaning on such scales, so they are described by their difference from the
    mean in standard deviations instead.
Effect sizes
    Eta squared (``SS_between / SS_total`` of a one-way ANOVA) for numeric
    variables and bias-uncorrected Cramér's V for categorical ones, labelled
    with Cohen's (1988) conventions: eta squared small .01, medium .06, large
    .14; V (for a 2-column table) small .1, medium .3, large .5.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import PercentFormatter
from scipy import stats

from seglab.errors import InputDataError

__all__ = [
    "ACTIONS",
    "DEFAULT_RULES",
    "OBJECTIVES",
    "PROSPECT_NAME",
    "Profile",
    "distinguishing_features",
    "draft_names",
    "effect_strength",
    "persona_cards",
    "persona_markdown",
    "plot_index_heatmap",
    "plot_radar",
    "plot_size_value",
    "plot_snake",
    "segment_highlights",
    "segment_profile",
]

PROSPECT_NAME = "Prospects (no purchase)"

#: Columns never picked as profile variables by default (identifiers and segment labels).
_NOT_VARIABLES = {
    "customer_id",
    "account_id",
    "segment",
    "segment_id",
    "segment_name",
    # bookkeeping columns of the customer table: restate other variables or the segment itself
    "is_prospect",
    "R",
    "F",
    "M",
    "RFM",
    "n_lines",
    "n_return_lines",
    "gross_value",
    "returned_value",
}
_MAX_LEVELS = 50  # a default categorical variable has at most this many levels
_MISSING_LEVEL = "(missing)"  # level of missing values in categorical tables

#: Thresholds of :func:`draft_names` (indices vs average, 100 = average).
DEFAULT_RULES: dict[str, float] = {
    "high_value": 150.0,  # value index above -> "High-value"
    "low_value": 60.0,  # value index below -> "Low-value"
    "lapsed": 200.0,  # recency_days index above -> "lapsed"
    "loyal": 150.0,  # frequency index above -> "loyal"
    "occasional": 60.0,  # frequency index below -> "occasional" ("one-time" if median is 1)
    "category": 150.0,  # highest share_<category> index above -> category word
    "channel": 140.0,  # highest share_channel_/share_device_ index above -> channel word
}

_CATEGORY_WORDS = {
    "grocery_household": "grocery",
    "beauty_health": "beauty",
    "home_living": "home",
    "outlet": "outlet",
}

# (ratio >= 2, above average, below average) phrases; {r} ratio, {p} percent, {label}
_PHRASES = {
    "monetary": (
        "spends {r:.1f}x the average",
        "spends {p:.0f}% more than average",
        "spends {p:.0f}% less than average",
    ),
    "frequency": (
        "buys {r:.1f}x as often as average",
        "buys {p:.0f}% more often than average",
        "buys {p:.0f}% less often than average",
    ),
    "recency_days": (
        "last bought {r:.1f}x as long ago as average",
        "last bought {p:.0f}% longer ago than average",
        "bought more recently: {p:.0f}% fewer days since last purchase",
    ),
    "avg_order_value": (
        "orders worth {r:.1f}x the average",
        "orders {p:.0f}% larger than average",
        "orders {p:.0f}% smaller than average",
    ),
}
_GENERIC = (
    "{label}: {r:.1f}x the average",
    "{label} {p:.0f}% above average",
    "{label} {p:.0f}% below average",
)

_STRENGTH_CUTS = {
    "eta_squared": (0.01, 0.06, 0.14),
    "cramers_v": (0.1, 0.3, 0.5),
}
_STRENGTH_ORDER = {"negligible": 0, "small": 1, "medium": 2, "large": 3}


@dataclass(frozen=True)
class Profile:
    """Segment profile tables; build with :func:`segment_profile`.

    Attributes
    ----------
    sizes : pandas.DataFrame
        Indexed by segment: ``n``, ``customer_share``, ``revenue``,
        ``revenue_share``, ``avg_value``, ``value_index``.
    numeric : pandas.DataFrame
        Long table, one row per segment x variable: ``segment``, ``variable``,
        ``n_valid``, ``mean``, ``median``, ``overall_mean``, ``overall_sd``,
        ``index`` (segment mean / overall mean x 100) and ``std_diff``
        ((segment mean - overall mean) / overall sd).
    categorical : pandas.DataFrame
        Long table, one row per segment x variable x level: ``segment``,
        ``variable``, ``level``, ``n``, ``share`` (within the segment),
        ``overall_share`` and ``index``. Missing values are the level
        ``"(missing)"``.
    segment_col, value_col : str
        Columns the profile was built from.
    prospect : object
        Segment label of prospects (customers never clustered).
    """

    sizes: pd.DataFrame
    numeric: pd.DataFrame
    categorical: pd.DataFrame
    segment_col: str = "segment_id"
    value_col: str = "monetary"
    prospect: Any = 0
    numeric_vars: list[str] = field(default_factory=list)
    categorical_vars: list[str] = field(default_factory=list)

    @property
    def segments(self) -> list[Any]:
        """Segment labels in profile order."""
        return list(self.sizes.index)

    def index_table(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Numeric indices as a wide frame (segments x variables)."""
        return self._wide("index", variables)

    def mean_table(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Numeric segment means as a wide frame (segments x variables)."""
        return self._wide("mean", variables)

    def _wide(self, value: str, variables: Sequence[str] | None) -> pd.DataFrame:
        variables = list(variables) if variables is not None else self.numeric_vars
        missing = [v for v in variables if v not in self.numeric_vars]
        if missing:
            raise InputDataError(
                f"variables {missing} are not numeric variables of the profile; "
                f"choose from {self.numeric_vars}"
            )
        wide = self.numeric.pivot(index="segment", columns="variable", values=value)
        return wide.reindex(index=self.segments, columns=variables)


# --------------------------------------------------------------------------------------
# Profile tables
# --------------------------------------------------------------------------------------


def _check_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputDataError(
            f"{what} column(s) {missing} not in the table ({len(table):,} rows); "
            f"available: {list(table.columns)}"
        )


def _default_numeric(table: pd.DataFrame, segment_col: str) -> list[str]:
    return [
        c
        for c in table.columns
        if c != segment_col
        and c not in _NOT_VARIABLES
        and pd.api.types.is_numeric_dtype(table[c])
        and not pd.api.types.is_bool_dtype(table[c])
    ]


def _default_categorical(table: pd.DataFrame, segment_col: str) -> list[str]:
    out = []
    for c in table.columns:
        if c == segment_col or c in _NOT_VARIABLES:
            continue
        s = table[c]
        if pd.api.types.is_datetime64_any_dtype(s) or (
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        ):
            continue
        if s.nunique(dropna=True) <= _MAX_LEVELS:
            out.append(c)
    return out


def _ratio_index(seg_mean: float, overall_mean: float, has_negative: bool) -> float:
    if has_negative or not np.isfinite(overall_mean) or overall_mean == 0:
        return np.nan
    return float(seg_mean / overall_mean * 100.0)


# Segments and levels as integer codes. Grouping or cross-tabulating by the label
# columns themselves hashes every label again for each variable, and pandas first
# turns Arrow-backed strings into Python objects (at 1M customers that was most of
# the 2.2 s spent in 20 ``pd.crosstab`` calls). Codes are computed once per column and
# counted with ``np.bincount``; the tables built from them equal pandas' own (tested
# against ``pd.crosstab`` and ``groupby``).


def _segment_codes(seg: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Code of each row's segment (-1 when missing) and the segments, sorted.

    Returns
    -------
    codes : numpy.ndarray of intp
        Position of each row's label in ``labels``.
    labels : pandas.Index
        The observed labels as ``seg.groupby(seg, sort=True)`` and ``pd.crosstab``
        index them (same order, dtype and name).
    """
    codes, uniques = pd.factorize(seg, sort=True)
    return codes, pd.Index(uniques, name=seg.name).infer_objects()


def _level_codes(x: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Code of each row's level, missing values being the level ``"(missing)"``.

    Returns
    -------
    codes : numpy.ndarray of intp
        Position of each row's level in ``levels``.
    levels : pandas.Index
        The levels of ``x.astype(object).where(x.notna(), "(missing)")`` as
        ``pd.crosstab`` orders and types them; unused categories are left out.
    """
    codes, uniques = pd.factorize(x)
    values = np.asarray(uniques, dtype=object)
    missing = codes < 0
    if missing.any():
        values = np.append(values, np.array([_MISSING_LEVEL], dtype=object))
        codes = np.where(missing, len(values) - 1, codes)
    # sorting the few distinct values as pandas does merges a literal "(missing)"
    # with the missing values and puts e.g. booleans before strings
    position, levels = pd.factorize(values, sort=True)
    return position[codes], pd.Index(levels, name=x.name).infer_objects()


def _crosstab(seg_codes: np.ndarray, segments: pd.Index, x: pd.Series) -> pd.DataFrame:
    """Customers per segment x level: ``pd.crosstab(seg, level)`` from segment codes.

    Parameters
    ----------
    seg_codes, segments : numpy.ndarray, pandas.Index
        From :func:`_segment_codes`; rows with code -1 are left out.
    x : pandas.Series
        The variable; missing values are the level ``"(missing)"``.

    Returns
    -------
    pandas.DataFrame
        Equal to ``pd.crosstab(seg, x.astype(object).where(x.notna(), "(missing)"))``:
        segments as rows, levels seen with a segment as columns, int64 counts.
    """
    level_codes, levels = _level_codes(x)
    n_seg, n_levels = len(segments), len(levels)
    cells = seg_codes * n_levels + level_codes
    if len(seg_codes) and seg_codes.min() < 0:
        cells = cells[seg_codes >= 0]
    counts = np.bincount(cells, minlength=n_seg * n_levels).reshape(n_seg, n_levels)
    used = counts.any(axis=0)
    if not used.all():  # levels met only on rows without a segment
        counts, levels = counts[:, used], levels[used]
    return pd.DataFrame(counts.astype(np.int64, copy=False), index=segments, columns=levels)


def segment_profile(
    table: pd.DataFrame,
    segment_col: str = "segment_id",
    value_col: str = "monetary",
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    prospect: Any = 0,
) -> Profile:
    """Profile each segment: size and value share, numeric means and indices, level shares.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer with ``segment_col``, ``value_col`` and the
        profile variables.
    segment_col : str, default "segment_id"
        Segment label column; missing labels are an error.
    value_col : str, default "monetary"
        Value per customer (revenue); missing values count as 0.
    numeric, categorical : sequence of str, optional
        Variables to profile. By default every numeric (non-bool) column and
        every text / categorical / bool column with at most 50 levels, minus
        identifiers (``customer_id``, ``segment``...) and ``segment_col``.
        ``value_col`` is always added to ``numeric``.
    prospect : object, default 0
        Segment label of prospects; recorded for :func:`draft_names` and
        :func:`persona_cards`.

    Returns
    -------
    Profile
        ``sizes``, ``numeric`` and ``categorical`` tables (see :class:`Profile`).
        All indices compare a segment with **all customers in the table**.

    Examples
    --------
    >>> t = pd.DataFrame({"segment_id": [1, 1, 2], "monetary": [10.0, 20.0, 30.0]})
    >>> segment_profile(t).sizes["value_index"].round(1).tolist()
    [75.0, 150.0]
    """
    _check_columns(table, [segment_col, value_col], "segment/value")
    if table.empty:
        raise InputDataError("the table has 0 rows; pass one row per customer")
    n_missing = int(table[segment_col].isna().sum())
    if n_missing:
        raise InputDataError(
            f"column `{segment_col}` has {n_missing:,} missing labels out of {len(table):,} "
            "rows; give every customer a segment (e.g. 0 for prospects) before profiling"
        )
    num_vars = list(numeric) if numeric is not None else _default_numeric(table, segment_col)
    if value_col not in num_vars:
        num_vars = [value_col, *num_vars]
    cat_vars = (
        list(categorical) if categorical is not None else _default_categorical(table, segment_col)
    )
    _check_columns(table, num_vars, "numeric")
    _check_columns(table, cat_vars, "categorical")

    seg_codes, segments = _segment_codes(table[segment_col])
    # a categorical of the codes is grouped by as it is, without hashing the labels again
    by_segment = pd.Categorical.from_codes(seg_codes, categories=pd.RangeIndex(len(segments)))
    value = pd.to_numeric(table[value_col], errors="coerce").fillna(0.0)
    n_total = len(table)
    grouped = value.groupby(by_segment, sort=True, observed=False)
    sizes = pd.DataFrame(
        {"n": grouped.size().to_numpy(), "revenue": grouped.sum().to_numpy()},
        index=segments.rename("segment"),
    )
    total_value = float(value.sum())
    sizes["customer_share"] = sizes["n"] / n_total
    sizes["revenue_share"] = sizes["revenue"] / total_value if total_value else np.nan
    sizes["avg_value"] = sizes["revenue"] / sizes["n"]
    overall_value = total_value / n_total
    sizes["value_index"] = [
        _ratio_index(v, overall_value, bool((value < 0).any())) for v in sizes["avg_value"]
    ]
    sizes = sizes[["n", "customer_share", "revenue", "revenue_share", "avg_value", "value_index"]]

    rows = []
    for var in num_vars:
        x = pd.to_numeric(table[var], errors="coerce").astype(float)
        if var == value_col:
            x = x.fillna(0.0)
        overall_mean = float(x.mean())
        overall_sd = float(x.std(ddof=1)) if x.notna().sum() > 1 else np.nan
        has_negative = bool((x < 0).any())
        g = x.groupby(by_segment, sort=True, observed=False)  # rows in the order of segments
        for s, mean, median, n_valid in zip(
            segments,
            g.mean().tolist(),
            g.median().tolist(),
            g.count().tolist(),
            strict=True,
        ):
            rows.append(
                {
                    "segment": s,
                    "variable": var,
                    "n_valid": int(n_valid),
                    "mean": float(mean),
                    "median": float(median),
                    "overall_mean": overall_mean,
                    "overall_sd": overall_sd,
                    "index": _ratio_index(mean, overall_mean, has_negative),
                    "std_diff": (mean - overall_mean) / overall_sd
                    if overall_sd and np.isfinite(overall_sd)
                    else np.nan,
                }
            )
    num_cols = [
        "segment",
        "variable",
        "n_valid",
        "mean",
        "median",
        "overall_mean",
        "overall_sd",
        "index",
        "std_diff",
    ]
    num_table = pd.DataFrame(rows, columns=num_cols)

    cat_frames = []
    for var in cat_vars:
        counts = _crosstab(seg_codes, segments, table[var])
        overall = counts.sum(axis=0) / n_total
        share = counts.div(counts.sum(axis=1), axis=0)
        long = share.stack().rename("share").reset_index()
        long.columns = ["segment", "level", "share"]
        long["n"] = counts.stack().to_numpy()
        long["overall_share"] = long["level"].map(overall).astype(float)
        long["index"] = long["share"] / long["overall_share"] * 100.0
        long["variable"] = var
        cat_frames.append(long)
    cat_cols = ["segment", "variable", "level", "n", "share", "overall_share", "index"]
    cat_table = (
        pd.concat(cat_frames, ignore_index=True)[cat_cols]
        if cat_frames
        else pd.DataFrame(columns=cat_cols)
    )
    return Profile(
        sizes=sizes,
        numeric=num_table,
        categorical=cat_table,
        segment_col=segment_col,
        value_col=value_col,
        prospect=prospect,
        numeric_vars=num_vars,
        categorical_vars=cat_vars,
    )


# --------------------------------------------------------------------------------------
# Distinguishing features
# --------------------------------------------------------------------------------------


def effect_strength(value: float, measure: str) -> str:
    """Plain-words label of an effect size after Cohen (1988).

    Parameters
    ----------
    value : float
        Eta squared or Cramér's V.
    measure : {"eta_squared", "cramers_v"}
        Eta squared: small .01, medium .06, large .14. Cramér's V: small .1,
        medium .3, large .5.

    Returns
    -------
    str
        ``"negligible"``, ``"small"``, ``"medium"``, ``"large"`` or ``"n/a"`` (NaN).
    """
    if measure not in _STRENGTH_CUTS:
        raise InputDataError(f"measure {measure!r} unknown; use 'eta_squared' or 'cramers_v'")
    if not np.isfinite(value):
        return "n/a"
    small, medium, large = _STRENGTH_CUTS[measure]
    if value >= large:
        return "large"
    if value >= medium:
        return "medium"
    if value >= small:
        return "small"
    return "negligible"


def _split_by_segment(values: np.ndarray, seg_codes: np.ndarray, n_seg: int) -> list[np.ndarray]:
    """The values of each segment in row order, as ``groupby(seg, sort=True)`` yields them.

    Rows with segment code -1 (no segment) are left out; segments without rows
    give empty arrays.
    """
    sizes = np.bincount(seg_codes + 1, minlength=n_seg + 1)
    small = seg_codes.astype(np.int16) if n_seg < np.iinfo(np.int16).max else seg_codes
    order = np.argsort(small, kind="stable")[sizes[0] :]  # a radix sort; -1 comes first
    return np.split(values[order], np.cumsum(sizes[1:])[:-1])


def _eta_squared(x: pd.Series, seg_codes: np.ndarray, n_seg: int) -> tuple[float, float]:
    ok = x.notna()
    if not ok.all():
        x, seg_codes = x[ok], seg_codes[ok.to_numpy()]
    x = x.astype(float)
    by_segment = _split_by_segment(x.to_numpy(), seg_codes, n_seg)
    groups = [g for g in by_segment if len(g)]
    if len(groups) < 2:
        return np.nan, np.nan
    grand = x.mean()
    ss_total = float(((x - grand) ** 2).sum())
    ss_between = float(sum(len(g) * (g.mean() - grand) ** 2 for g in groups))
    if ss_total == 0:
        return np.nan, np.nan
    p = float(stats.f_oneway(*groups).pvalue) if len(x) > len(groups) else np.nan
    return ss_between / ss_total, p


def _cramers_v(x: pd.Series, seg_codes: np.ndarray, segments: pd.Index) -> tuple[float, float]:
    counts = _crosstab(seg_codes, segments, x).to_numpy()
    if min(counts.shape) < 2:
        return np.nan, np.nan
    chi2, p, _, _ = stats.chi2_contingency(counts, correction=False)
    v = math.sqrt(chi2 / (counts.sum() * (min(counts.shape) - 1)))
    return v, float(p)


def distinguishing_features(
    table: pd.DataFrame,
    segment_col: str = "segment_id",
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    top_n: int | None = 5,
) -> pd.DataFrame:
    """Rank variables by how strongly they separate the segments.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer.
    segment_col : str, default "segment_id"
        Segment label column.
    numeric, categorical : sequence of str, optional
        Variables to test; defaults as in :func:`segment_profile`.
    top_n : int or None, default 5
        Rows returned (None: all).

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``kind``, ``measure`` (``eta_squared``: SS_between /
        SS_total of a one-way ANOVA, p-value from ``scipy.stats.f_oneway``;
        ``cramers_v``: bias-uncorrected, from a chi-square test without Yates
        correction, p-value from ``scipy.stats.chi2_contingency``),
        ``effect_size``, ``p_value``, ``strength`` (Cohen's labels, see
        :func:`effect_strength`). Eta squared and V live on different scales,
        so rows are sorted by strength label first and effect size second.
        Missing numeric values are left out of that variable's test; missing
        categories are a level of their own.

    Notes
    -----
    With thousands of customers almost every p-value is tiny; read the effect
    size, not the p-value.
    """
    _check_columns(table, [segment_col], "segment")
    num_vars = list(numeric) if numeric is not None else _default_numeric(table, segment_col)
    cat_vars = (
        list(categorical) if categorical is not None else _default_categorical(table, segment_col)
    )
    _check_columns(table, [*num_vars, *cat_vars], "variable")
    seg_codes, segments = _segment_codes(table[segment_col])
    rows = []
    for var in num_vars:
        x = pd.to_numeric(table[var], errors="coerce")
        eta, p = _eta_squared(x, seg_codes, len(segments))
        rows.append(("numeric", var, "eta_squared", eta, p))
    for var in cat_vars:
        v, p = _cramers_v(table[var], seg_codes, segments)
        rows.append(("categorical", var, "cramers_v", v, p))
    out = pd.DataFrame(rows, columns=["kind", "variable", "measure", "effect_size", "p_value"])
    out["strength"] = [
        effect_strength(v, m) for v, m in zip(out["effect_size"], out["measure"], strict=True)
    ]
    out["_order"] = out["strength"].map(_STRENGTH_ORDER).fillna(-1)
    out = out.sort_values(["_order", "effect_size"], ascending=False, na_position="last")
    out = out.drop(columns="_order").reset_index(drop=True)
    out = out[["variable", "kind", "measure", "effect_size", "p_value", "strength"]]
    return out.head(top_n) if top_n is not None else out


# --------------------------------------------------------------------------------------
# Highlights in plain words
# --------------------------------------------------------------------------------------


def _label(var: str) -> str:
    if var.startswith("share_channel_"):
        return f"share of spend via {var.removeprefix('share_channel_').replace('_', ' ')}"
    if var.startswith("share_device_"):
        return f"share of spend on {var.removeprefix('share_device_').replace('_', ' ')}"
    if var.startswith("share_"):
        return f"share of spend on {var.removeprefix('share_').replace('_', ' ')}"
    return var.replace("_", " ")


def _numeric_phrase(var: str, index: float, value_col: str) -> str:
    key = "monetary" if var == value_col else var
    big, above, below = _PHRASES.get(key, _GENERIC)
    r = index / 100.0
    if r >= 2:
        text = big.format(r=r, p=0, label=_label(var))
    elif r >= 1:
        text = above.format(r=r, p=(r - 1) * 100, label=_label(var))
    else:
        text = below.format(r=r, p=(1 - r) * 100, label=_label(var))
    return text


def _level_text(var: str, level: Any) -> str:
    if isinstance(level, (bool, np.bool_)):
        return var.replace("_", " ") if level else f"not {var.replace('_', ' ')}"
    return f"{level}" if var in {"gender"} else f"{var.replace('_', ' ')} {level}"


def segment_highlights(
    profile: Profile, top_n: int = 3, min_share_gap: float = 0.05
) -> pd.DataFrame:
    """The variables where each segment deviates most from the average, in plain words.

    Parameters
    ----------
    profile : Profile
        From :func:`segment_profile`.
    top_n : int, default 3
        Highlights per segment.
    min_share_gap : float, default 0.05
        A categorical level counts only if its share in the segment exceeds
        the overall share by at least this much (5 points), so tiny
        levels with large indices do not crowd out real differences.

    Returns
    -------
    pandas.DataFrame
        ``segment``, ``rank``, ``variable``, ``level`` (NaN for numeric),
        ``index``, ``text`` (e.g. "spends 3.2x the average", "buys 40% less
        often than average", "62% female vs 51% overall"). Deviations are
        ranked by ``|index - 100|``, ties by variable name. A categorical
        variable contributes at most one level, its most over-represented one
        (an under-represented level is the mirror of an over-represented one).
    """
    num = profile.numeric.dropna(subset=["index"]).copy()
    num["level"] = np.nan
    num["text"] = [
        _numeric_phrase(v, i, profile.value_col)
        for v, i in zip(num["variable"], num["index"], strict=True)
    ]
    cat = profile.categorical
    cat = cat[(cat["share"] - cat["overall_share"] >= min_share_gap) & (cat["index"] > 100)]
    cat = cat.sort_values(["index", "level"], ascending=[False, True], kind="mergesort")
    cat = cat.drop_duplicates(["segment", "variable"]).copy()  # one level per variable
    cat["text"] = [
        f"{s:.0%} {_level_text(v, lv)} vs {o:.0%} overall"
        for s, v, lv, o in zip(
            cat["share"], cat["variable"], cat["level"], cat["overall_share"], strict=True
        )
    ]
    cols = ["segment", "variable", "level", "index", "text"]
    both = pd.concat([num[cols], cat[cols]], ignore_index=True)
    both["score"] = (both["index"].astype(float) - 100.0).abs()
    both = both[both["score"] > 0]
    both["_seg_order"] = both["segment"].map({s: i for i, s in enumerate(profile.segments)})
    both = both.sort_values(
        ["_seg_order", "score", "variable"], ascending=[True, False, True], kind="mergesort"
    )
    top = both.groupby("_seg_order", sort=True).head(top_n).copy()
    top["rank"] = top.groupby("_seg_order").cumcount() + 1
    return top[["segment", "rank", "variable", "level", "index", "text"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Draft names
# --------------------------------------------------------------------------------------


def _idx(profile: Profile, segment: Any, var: str) -> float:
    if var == profile.value_col and var not in profile.numeric_vars:
        return float(profile.sizes.loc[segment, "value_index"])
    row = profile.numeric[
        (profile.numeric["segment"] == segment) & (profile.numeric["variable"] == var)
    ]
    return float(row["index"].iloc[0]) if len(row) else np.nan


def _median(profile: Profile, segment: Any, var: str) -> float:
    row = profile.numeric[
        (profile.numeric["segment"] == segment) & (profile.numeric["variable"] == var)
    ]
    return float(row["median"].iloc[0]) if len(row) else np.nan


def _share_vars(profile: Profile, kind: str) -> list[str]:
    if kind == "category":
        return [
            v
            for v in profile.numeric_vars
            if v.startswith("share_")
            and not v.startswith(("share_channel_", "share_device_"))
            and v not in {"share_other", "share_missing"}
        ]
    return [
        v
        for v in profile.numeric_vars
        if v.startswith(("share_channel_", "share_device_"))
        and not v.endswith(("_other", "_missing"))
    ]


def _top_share(profile: Profile, segment: Any, kind: str) -> tuple[str | None, float]:
    best, best_idx = None, -np.inf
    for v in _share_vars(profile, kind):
        i = _idx(profile, segment, v)
        if np.isfinite(i) and i > best_idx:
            best, best_idx = v, i
    return best, best_idx


def _share_word(var: str) -> str:
    for prefix in ("share_channel_", "share_device_", "share_"):
        if var.startswith(prefix):
            slug = var.removeprefix(prefix)
            return _CATEGORY_WORDS.get(slug, slug.replace("_", " "))
    return var


def _segment_type(profile: Profile, segment: Any, rules: Mapping[str, float]) -> str:
    """Coarse segment type used by names and the action table."""
    if segment == profile.prospect:
        return "prospect"
    value = float(profile.sizes.loc[segment, "value_index"])
    lapsed = _idx(profile, segment, "recency_days") > rules["lapsed"]
    if lapsed and value >= 100:
        return "lapsed_high_value"
    if lapsed:
        return "lapsed"
    if value > rules["high_value"]:
        return "high_value"
    if value < rules["low_value"]:
        return "low_value"
    return "core"


def _name_words(profile: Profile, segment: Any, rules: Mapping[str, float]) -> list[str]:
    words = []
    value = float(profile.sizes.loc[segment, "value_index"])
    lapsed = _idx(profile, segment, "recency_days") > rules["lapsed"]
    if value > rules["high_value"]:
        words.append("high-value")
    elif value < rules["low_value"] and not lapsed:  # lapsed already says "little value now"
        words.append("low-value")
    if lapsed:
        words.append("lapsed")
    freq = _idx(profile, segment, "frequency")
    if freq > rules["loyal"]:
        words.append("loyal")
    elif freq < rules["occasional"]:
        words.append("one-time" if _median(profile, segment, "frequency") == 1 else "occasional")
    cat, cat_idx = _top_share(profile, segment, "category")
    if cat is not None and cat_idx > rules["category"]:
        words.append(_share_word(cat))
    chan, chan_idx = _top_share(profile, segment, "channel")
    if chan is not None and chan_idx > rules["channel"]:
        words.append(_share_word(chan))
    return words


def _compose(words: list[str]) -> str:
    if not words:
        return "Mainstream customers"
    text = " ".join([*words, "buyers"])
    return text[0].upper() + text[1:]


def draft_names(
    profile: Profile,
    rules: Mapping[str, float] | None = None,
    overrides: Mapping[Any, str] | None = None,
) -> dict[Any, str]:
    """Readable, deterministic draft names built from each segment's strongest deviations.

    Words, in this order (thresholds in :data:`DEFAULT_RULES`, indices vs
    average): value word from the value index (> 150 "High-value", < 60
    "Low-value"); "lapsed" when the ``recency_days`` index is above 200;
    "loyal" when the ``frequency`` index is above 150, "occasional" below 60
    ("one-time" when the segment's median frequency is 1); the category of
    the ``share_<category>`` column with the highest index if above 150
    ("fashion", "electronics", "outlet"...); the channel or device of the
    ``share_channel_`` / ``share_device_`` column with the highest index if
    above 140. Then "buyers"; a segment with no word is "Mainstream
    customers". The prospect segment is "Prospects (no purchase)".

    Parameters
    ----------
    profile : Profile
        From :func:`segment_profile`.
    rules : mapping, optional
        Threshold overrides, keys as in :data:`DEFAULT_RULES`.
    overrides : mapping, optional
        ``{segment: name}``; these win over drafted names.

    Returns
    -------
    dict
        ``{segment: name}`` in profile order. Names are unique: when drafts
        collide, the colliding segments get their top category word, then
        their top channel word (whatever the index), then a number.
    """
    rules = {**DEFAULT_RULES, **(rules or {})}
    unknown = set(rules) - set(DEFAULT_RULES)
    if unknown:
        raise InputDataError(f"unknown naming rules {sorted(unknown)}; use {list(DEFAULT_RULES)}")
    overrides = dict(overrides or {})
    words = {s: _name_words(profile, s, rules) for s in profile.segments}
    names = {
        s: PROSPECT_NAME if s == profile.prospect else _compose(words[s]) for s in profile.segments
    }
    names.update({s: n for s, n in overrides.items() if s in names})
    fixed = set(overrides)
    for kind in ("category", "channel", "number"):
        groups: dict[str, list[Any]] = {}
        for s, n in names.items():
            groups.setdefault(n, []).append(s)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            break
        for group in clashes:
            movable = [s for s in group if s not in fixed]
            if len(movable) == len(group):
                movable = movable[1:]  # the first keeps the plain name
            for k, s in enumerate(movable, start=2):
                if kind == "number":
                    names[s] = f"{names[s]} {k}"
                    continue
                var, _ = _top_share(profile, s, kind)
                extra = _share_word(var) if var is not None else None
                if extra and extra not in words[s]:
                    words[s] = [*words[s], extra]
                    names[s] = _compose(words[s])
    return names


# --------------------------------------------------------------------------------------
# Persona cards
# --------------------------------------------------------------------------------------

OBJECTIVES = (
    "retention",
    "growth",
    "high_value",
    "acquisition",
    "cost_to_serve",
    "personalisation",
)

#: Suggested action per objective x segment type (types: prospect, lapsed_high_value,
#: lapsed, high_value, low_value, core; see :func:`persona_cards`).
ACTIONS: dict[str, dict[str, str]] = {
    "retention": {
        "prospect": "welcome series with a first-purchase incentive",
        "lapsed_high_value": "win-back call with a personal offer",
        "lapsed": "low-cost win-back email with a time-limited voucher",
        "high_value": "loyalty perks and early access; monitor churn risk monthly",
        "low_value": "automated reminders; no costly retention spend",
        "core": "loyalty programme enrolment and replenishment reminders",
    },
    "growth": {
        "prospect": "first-purchase offer on best-selling products",
        "lapsed_high_value": "reactivation offer on their favourite category",
        "lapsed": "reactivation test on a small sample before any roll-out",
        "high_value": "cross-sell adjacent categories and premium ranges",
        "low_value": "bundle offers to lift basket size",
        "core": "cross-sell campaigns and frequency incentives",
    },
    "high_value": {
        "prospect": "score likelihood to buy; nurture lookalikes of top customers",
        "lapsed_high_value": "account manager call to recover the relationship",
        "lapsed": "deprioritise; include only in automated campaigns",
        "high_value": "VIP tier, dedicated service and exclusive previews",
        "low_value": "deprioritise; serve through low-cost channels",
        "core": "upgrade path to the VIP tier (spend thresholds)",
    },
    "acquisition": {
        "prospect": "convert with a first-order incentive via the signup channel",
        "lapsed_high_value": "use as a lookalike seed; ask for referrals after win-back",
        "lapsed": "study why they left before acquiring more like them",
        "high_value": "lookalike audiences and a referral programme",
        "low_value": "cut acquisition spend on channels that bring this profile",
        "core": "referral incentives",
    },
    "cost_to_serve": {
        "prospect": "self-service onboarding only",
        "lapsed_high_value": "one personal contact, then automated follow-up",
        "lapsed": "suppress from paid channels and print",
        "high_value": "keep personal service; automate routine requests",
        "low_value": "move to digital self-service and cheaper delivery options",
        "core": "digital-first service and email over print",
    },
    "personalisation": {
        "prospect": "content based on signup answers and browsing",
        "lapsed_high_value": "personal message about what they used to buy",
        "lapsed": "triggered 'we miss you' content on their last category",
        "high_value": "curated recommendations and personal stylist/advisor content",
        "low_value": "price-led recommendations and deal alerts",
        "core": "recommendations from their category mix",
    },
}

_BEHAVIOUR = ("recency_days", "frequency", "avg_order_value")
_BUY_CATEGORICAL = ("rfm_segment", "value_tier", "lifecycle_stage", "member")
_REACH_CATEGORICAL = ("preferred_device", "acquisition_channel")
_FACTOR = re.compile(r"^F\d+$")


def _numeric_row(profile: Profile, segment: Any, var: str) -> pd.Series | None:
    rows = profile.numeric[
        (profile.numeric["segment"] == segment) & (profile.numeric["variable"] == var)
    ]
    return rows.iloc[0] if len(rows) else None


def _top_levels(profile: Profile, segment: Any, variables: Sequence[str], n: int) -> list[str]:
    cat = profile.categorical
    cat = cat[(cat["segment"] == segment) & cat["variable"].isin(variables)]
    cat = cat[(cat["share"] - cat["overall_share"] >= 0.05) & (cat["index"] >= 115)]
    cat = cat.sort_values(["index", "variable"], ascending=[False, True], kind="mergesort")
    return [
        f"{s:.0%} {_level_text(v, lv)} vs {o:.0%} overall"
        for v, lv, s, o in zip(
            cat["variable"], cat["level"], cat["share"], cat["overall_share"], strict=True
        )
    ][:n]


def _modal_level(profile: Profile, segment: Any, var: str) -> str | None:
    cat = profile.categorical
    cat = cat[(cat["segment"] == segment) & (cat["variable"] == var)]
    if cat.empty:
        return None
    top = cat.sort_values(["share", "level"], ascending=[False, True], kind="mergesort").iloc[0]
    level = top["level"]
    text = _level_text(var, level) if isinstance(level, (bool, np.bool_)) else str(level)
    return f"mostly {text} ({top['share']:.0%}, index {top['index']:.0f})"


def persona_cards(
    profile: Profile,
    names: Mapping[Any, str],
    factor_names: Mapping[str, str] | None = None,
    channel_cols: Sequence[str] | None = None,
    objective: str = "retention",
) -> dict[Any, dict[str, Any]]:
    """One persona card per segment: who, how they buy, needs, reach and an action.

    Parameters
    ----------
    profile : Profile
        From :func:`segment_profile`.
    names : mapping
        ``{segment: name}``, e.g. from :func:`draft_names`.
    factor_names : mapping, optional
        ``{"F1": "price sensitivity", ...}``; factor columns (``F1``, ``F2``...)
        among the profile's numeric variables are described with these names.
    channel_cols : sequence of str, optional
        Channel / device share columns for "how to reach them"; default every
        ``share_channel_*`` and ``share_device_*`` profile variable.
    objective : str, default "retention"
        One of :data:`OBJECTIVES`; picks the action row of :data:`ACTIONS`.

    Returns
    -------
    dict
        ``{segment: card}``; a card has ``segment``, ``name``, ``segment_type``
        (prospect, lapsed_high_value, lapsed, high_value, low_value, core, from
        the same thresholds as :func:`draft_names`), ``size`` (text) and the
        five parts ``who``, ``how_they_buy``, ``what_they_need``,
        ``how_to_reach`` (lists of short sentences) and ``action`` (str).
        Demographic facts are levels at least 5 points and 15 % above their
        overall share, plus the age index when ``age`` is profiled.
    """
    if objective not in ACTIONS:
        raise InputDataError(f"objective {objective!r} unknown; use one of {list(OBJECTIVES)}")
    missing = [s for s in profile.segments if s not in names]
    if missing:
        raise InputDataError(f"no name for segment(s) {missing}; pass draft_names(profile)")
    factor_names = dict(factor_names or {})
    chan_cols = list(channel_cols) if channel_cols is not None else _share_vars(profile, "channel")
    factors = [v for v in profile.numeric_vars if _FACTOR.match(v)]
    demo_vars = [
        v
        for v in profile.categorical_vars
        if v not in _BUY_CATEGORICAL and v not in _REACH_CATEGORICAL
    ]
    cards = {}
    for s in profile.segments:
        size = profile.sizes.loc[s]
        seg_type = _segment_type(profile, s, DEFAULT_RULES)

        who = []
        age = _numeric_row(profile, s, "age")
        if age is not None and np.isfinite(age["mean"]):
            who.append(f"average age {age['mean']:.0f} vs {age['overall_mean']:.0f} overall")
        who += _top_levels(profile, s, demo_vars, 3)
        if not who:
            who = ["demographics close to the average customer"]

        buy = [
            f"{size['customer_share']:.0%} of customers, {size['revenue_share']:.0%} of revenue "
            f"(value index {size['value_index']:.0f})"
        ]
        for var in (profile.value_col, *_BEHAVIOUR):
            row = _numeric_row(profile, s, var)
            if row is not None and np.isfinite(row["index"]):
                buy.append(
                    f"{_numeric_phrase(var, row['index'], profile.value_col)} "
                    f"(median {row['median']:.0f})"
                )
        cat, cat_idx = _top_share(profile, s, "category")
        if cat is not None and np.isfinite(cat_idx):
            buy.append(f"favourite category: {_share_word(cat)} (index {cat_idx:.0f})")
        member = profile.categorical[
            (profile.categorical["segment"] == s)
            & (profile.categorical["variable"] == "member")
            & profile.categorical["level"].map(lambda v: isinstance(v, (bool, np.bool_)) and v)
        ]
        if len(member):
            m = member.iloc[0]
            buy.append(f"{m['share']:.0%} are members vs {m['overall_share']:.0%} overall")
        for var in _BUY_CATEGORICAL:
            if var in profile.categorical_vars and var != "member":
                text = _modal_level(profile, s, var)
                if text:
                    buy.append(f"{var.replace('_', ' ')}: {text}")

        need = []
        for f in factors:
            row = _numeric_row(profile, s, f)
            if row is None or not np.isfinite(row["mean"]):
                continue
            label = factor_names.get(f, f)
            idx = "" if not np.isfinite(row["index"]) else f", index {row['index']:.0f}"
            need.append(
                f"{label} ({f}): {row['std_diff']:+.1f} SD vs average{idx}; "
                f"mean score {row['mean']:+.2f} (n={int(row['n_valid'])})"
            )
        if not need:
            need = ["no survey factor scores for this segment; infer needs from how they buy"]

        reach = []
        rows = [(c, _numeric_row(profile, s, c)) for c in chan_cols]
        rows = [(c, r) for c, r in rows if r is not None and np.isfinite(r["mean"])]
        if rows:
            c, r = max(rows, key=lambda cr: (cr[1]["mean"], cr[0]))
            idx = f", index {r['index']:.0f}" if np.isfinite(r["index"]) else ""
            reach.append(f"top channel: {_share_word(c)} ({r['mean']:.0%} of spend{idx})")
        for var in _REACH_CATEGORICAL:
            if var in profile.categorical_vars:
                reach.append(f"{var.replace('_', ' ')}: {_modal_level(profile, s, var)}")
        if not reach:
            reach = ["no channel data; use the default contact channel"]

        cards[s] = {
            "segment": s,
            "name": names[s],
            "segment_type": seg_type,
            "size": f"{int(size['n']):,} customers ({size['customer_share']:.0%}), "
            f"{size['revenue_share']:.0%} of revenue",
            "who": who,
            "how_they_buy": buy,
            "what_they_need": need,
            "how_to_reach": reach,
            "action": ACTIONS[objective][seg_type],
        }
    return cards


def persona_markdown(card: Mapping[str, Any]) -> str:
    """Render one persona card (from :func:`persona_cards`) as Markdown.

    Returns
    -------
    str
        A ``###`` heading with the name, the size line, then bullet groups
        "Who they are", "How they buy", "What they need", "How to reach them"
        and "Suggested action".
    """
    parts = [f"### {card['name']}", "", f"*{card['size']}*", ""]
    for title, key in (
        ("Who they are", "who"),
        ("How they buy", "how_they_buy"),
        ("What they need", "what_they_need"),
        ("How to reach them", "how_to_reach"),
    ):
        parts.append(f"**{title}**")
        parts += [f"- {item}" for item in card[key]]
        parts.append("")
    parts += ["**Suggested action**", f"- {card['action']}", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def _ax(ax: Axes | None, **kwargs: Any) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(**kwargs)
    return ax


def plot_snake(profile: Profile, variables: Sequence[str], ax: Axes | None = None) -> Axes:
    """Snake plot: standardised segment means ((mean - overall) / sd), one line per segment.

    Returns
    -------
    matplotlib.axes.Axes
    """
    wide = profile._wide("std_diff", variables)
    ax = _ax(ax, figsize=(max(6, len(wide.columns) * 0.9), 4))
    x = np.arange(len(wide.columns))
    for s, row in wide.iterrows():
        ax.plot(x, row.to_numpy(float), marker="o", label=str(s))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [str(c) for c in wide.columns], rotation=45, ha="right")
    ax.set_ylabel("segment mean vs overall (SD units)")
    ax.legend(title=profile.segment_col, fontsize="small")
    return ax


def plot_index_heatmap(profile: Profile, variables: Sequence[str], ax: Axes | None = None) -> Axes:
    """Heatmap of indices vs average (100 = average), diverging colours centred at 100.

    Returns
    -------
    matplotlib.axes.Axes
    """
    wide = profile.index_table(variables)
    ax = _ax(ax, figsize=(max(6, len(wide.columns) * 0.9), max(3, len(wide) * 0.6)))
    values = wide.to_numpy(float)
    finite = values[np.isfinite(values)]
    hi = max(float(finite.max()) if finite.size else 200.0, 101.0)
    lo = min(float(finite.min()) if finite.size else 0.0, 99.0)
    im = ax.imshow(
        values, cmap="RdBu_r", norm=TwoSlopeNorm(vcenter=100, vmin=lo, vmax=hi), aspect="auto"
    )
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize="small")
    ax.set_xticks(range(len(wide.columns)), [str(c) for c in wide.columns], rotation=45, ha="right")
    ax.set_yticks(range(len(wide)), [str(s) for s in wide.index])
    ax.figure.colorbar(im, ax=ax, label="index vs average (100 = average)")
    return ax


def plot_size_value(profile: Profile, ax: Axes | None = None) -> Axes:
    """Bars of customer share vs revenue share per segment.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax, figsize=(7, 4))
    sizes = profile.sizes
    x = np.arange(len(sizes))
    ax.bar(x - 0.2, sizes["customer_share"], width=0.4, label="share of customers")
    ax.bar(x + 0.2, sizes["revenue_share"], width=0.4, label="share of revenue")
    ax.set_xticks(x, [str(s) for s in sizes.index])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(profile.segment_col)
    ax.legend()
    return ax


def plot_radar(
    profile: Profile, segment: Any, variables: Sequence[str], ax: Axes | None = None
) -> Axes:
    """Radar chart of one segment's indices (100 = average, drawn as a reference ring).

    Parameters
    ----------
    ax : matplotlib polar Axes, optional
        Created with ``subplot_kw={"projection": "polar"}`` when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if segment not in profile.segments:
        raise InputDataError(
            f"segment {segment!r} not in the profile; use one of {profile.segments}"
        )
    if len(variables) < 3:
        raise InputDataError(f"a radar needs at least 3 variables, got {len(variables)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5), subplot_kw={"projection": "polar"})
    values = profile.index_table(variables).loc[segment].to_numpy(float)
    values = np.nan_to_num(values, nan=100.0)
    angles = np.linspace(0, 2 * np.pi, len(values), endpoint=False)
    closed = np.append(angles, angles[0])
    ax.plot(closed, np.append(values, values[0]), marker="o", label=str(segment))
    ax.fill(closed, np.append(values, values[0]), alpha=0.2)
    ax.plot(closed, np.full_like(closed, 100.0), color="grey", ls="--", lw=0.8, label="average")
    ax.set_xticks(angles, [str(v) for v in variables])
    ax.set_title(f"{segment}: index vs average")
    return ax
