"""Data quality profile: types, missingness, distributions, date coverage, top categories."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def column_profile(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing count and share, distinct values, an example.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Indexed by column name.
    """
    n = len(df)
    rows = []
    for col in df.columns:
        s = df[col]
        missing = int(s.isna().sum())
        first = s.dropna()
        rows.append(
            {
                "column": col,
                "type": str(s.dtype),
                "missing": missing,
                "missing_share": missing / n if n else np.nan,
                "distinct": int(s.nunique(dropna=True)),
                "example": str(first.iloc[0]) if len(first) else "",
            }
        )
    return pd.DataFrame(rows).set_index("column")


def numeric_summary(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Distribution of numeric columns: count, mean, quantiles, share of zero and negative values."""
    cols = columns or [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]
    out = df[cols].describe(percentiles=[0.01, 0.25, 0.5, 0.75, 0.99]).T
    out["share_zero"] = [(df[c] == 0).mean() for c in cols]
    out["share_negative"] = [(df[c] < 0).mean() for c in cols]
    return out


def date_coverage(df: pd.DataFrame, column: str = "timestamp", freq: str = "MS") -> pd.DataFrame:
    """Lines, orders and customers per period (default: month)."""
    g = df.groupby(pd.Grouper(key=column, freq=freq))
    out = pd.DataFrame(
        {
            "lines": g.size(),
            "orders": g["order_id"].nunique() if "order_id" in df else np.nan,
            "customers": g["customer_id"].nunique() if "customer_id" in df else np.nan,
        }
    )
    out.index.name = "period"
    return out


def coverage_summary(df: pd.DataFrame, column: str = "timestamp") -> dict:
    """First and last timestamp and the span in days."""
    ts = df[column].dropna()
    if ts.empty:
        return {"first": None, "last": None, "days": 0}
    return {
        "first": ts.min().isoformat(),
        "last": ts.max().isoformat(),
        "days": int((ts.max() - ts.min()).days),
    }


def top_categories(
    df: pd.DataFrame, column: str, n: int = 10, value: str | None = "amount"
) -> pd.DataFrame:
    """Most frequent values of a categorical column with line share (and value share)."""
    counts = df[column].value_counts(dropna=False)
    out = pd.DataFrame({"lines": counts, "line_share": counts / counts.sum()})
    if value and value in df:
        v = df.groupby(column, dropna=False)[value].sum()
        out["value_share"] = v.reindex(out.index) / v.sum()
    top = out.head(n)
    if len(out) > n:
        rest = out.iloc[n:].sum()
        rest.name = f"(other {len(out) - n:,} values)"
        top = pd.concat([top, rest.to_frame().T])
    top.index.name = column
    return top


def plot_missingness(profile: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Horizontal bars of the missing share per column (from :func:`column_profile`)."""
    ax = ax or plt.subplots(figsize=(7, 0.3 * len(profile) + 1))[1]
    share = profile["missing_share"].sort_values()
    ax.barh(share.index.astype(str), share.to_numpy() * 100, color="#c44e52")
    ax.set_xlabel("missing values (% of rows)")
    ax.set_xlim(0, max(5, share.max() * 110))
    for i, v in enumerate(share.to_numpy()):
        ax.text(v * 100, i, f" {v:.1%}", va="center", fontsize=8)
    ax.set_title("Missing values per column")
    return ax


def plot_distribution(
    df: pd.DataFrame,
    column: str,
    ax: plt.Axes | None = None,
    sample: int = 200_000,
    random_state: int = 0,
) -> plt.Axes:
    """Histogram of a numeric column on a log axis when skewed; samples large inputs."""
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    s = df[column].dropna()
    if len(s) > sample:
        s = s.sample(sample, random_state=random_state)
    pos = s[s > 0]
    skewed = len(pos) > 0 and pos.quantile(0.99) > 20 * max(pos.median(), 1e-12)
    if skewed:
        sns.histplot(np.log10(pos), bins=50, ax=ax, color="#4c72b0")
        ax.set_xlabel(f"log10({column}), positive values")
    else:
        sns.histplot(s, bins=50, ax=ax, color="#4c72b0")
        ax.set_xlabel(column)
    ax.set_ylabel("rows" + (" (sample)" if len(df) > sample else ""))
    ax.set_title(f"Distribution of {column}")
    return ax


def plot_coverage(coverage: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Orders and active customers per period (from :func:`date_coverage`)."""
    ax = ax or plt.subplots(figsize=(8, 3))[1]
    x = coverage.index
    ax.plot(x, coverage["orders"], marker="o", ms=3, label="orders")
    ax.plot(x, coverage["customers"], marker="o", ms=3, label="active customers")
    ax.set_ylabel("count per period")
    ax.set_title("Date coverage")
    ax.legend(frameon=False)
    return ax


def categorical_columns(df: pd.DataFrame, max_distinct: int = 200) -> list[str]:
    """Text columns worth a top-values table: not identifiers, not free text (few distinct values)."""
    out = []
    for col in df.columns:
        s = df[col]
        if (
            col.endswith("_id")
            or col == "order_id"
            or pd.api.types.is_numeric_dtype(s)
            or pd.api.types.is_datetime64_any_dtype(s)
        ):
            continue
        if pd.api.types.is_bool_dtype(s):
            continue
        if 1 < s.nunique(dropna=True) <= max_distinct:
            out.append(col)
    return out
