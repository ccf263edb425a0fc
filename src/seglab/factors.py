"""Factor analysis of survey items: screening, suitability, number of factors, fitting, reliability."""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from scipy import sparse
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from seglab._compat import Rotator, calculate_bartlett_sphericity, calculate_kmo
from seglab._ids import isin
from seglab.errors import InputDataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = [
    "FactorModel",
    "KMOResult",
    "MAPResult",
    "NFactorsSuggestion",
    "ParallelAnalysis",
    "ScreeningReport",
    "alpha_if_deleted",
    "bartlett",
    "corrected_item_total",
    "cronbach_alpha",
    "kaiser",
    "kmo",
    "loading_table",
    "mcdonald_omega",
    "name_factors",
    "parallel_analysis",
    "plot_correlation_heatmap",
    "plot_factor_loadings",
    "plot_loading_heatmap",
    "plot_scree",
    "reliability_table",
    "scree_eigenvalues",
    "screen_items",
    "suggest_n_factors",
    "velicer_map",
]

#: Bounds of the uniquenesses during minres / ML estimation (as in psych::fa and factanal).
PSI_BOUNDS: tuple[float, float] = (0.005, 1.0)

_METHODS = ("minres", "ml", "principal")
_ROTATIONS = ("varimax", "promax", "oblimin")
_OBLIQUE = ("promax", "oblimin")
_SCORES = ("regression", "bartlett")
_CHUNK_ROWS = 65_536  # rows per block when accumulating the cross-product matrix

#: Margin, in standard deviations of the random eigenvalues, beyond which parallel analysis
#: treats an observed eigenvalue's side of its threshold as settled and stops drawing random
#: data sets. Why 5: after 20 draws the Monte Carlo standard error of the 95% quantile is about
#: 0.5 SD (sqrt(q(1 - q) / m) / phi(z_q) for normal eigenvalues), well under one SD, and the SD
#: itself is known to about 16%; a 5-SD gap would need a fluctuation of roughly ten standard
#: errors to close, so further draws will not move the threshold across the observed value.
SETTLED_MARGIN_SD: float = 5.0
_MIN_DRAWS = 20  # first check of the stopping rule (psych::fa.parallel's default n.iter)
_CHECK_EVERY = 10  # further checks every this many draws


# ---------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------


def _item_matrix(X: Any, *, allow_nan: bool = False) -> tuple[np.ndarray, list[str], pd.Index]:
    """Validate a respondents x items table and return (values, item names, row index).

    ``values`` is a float array (a view of the input when possible). Errors name
    the offending columns and the fix.
    """
    if sparse.issparse(X):
        raise InputDataError(
            "sparse input is not supported: pass a dense array or DataFrame (survey answers are "
            "dense), e.g. X.toarray()"
        )
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise InputDataError(
                f"expected a 2-D table of respondents x items, got an array with {arr.ndim} "
                "dimension(s). Reshape your data: one row per respondent, one column per item"
            )
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                pass  # reported per column below
        if arr.dtype.kind == "c":
            raise InputDataError("Complex data not supported: pass real-valued answers")
        if arr.dtype.kind in "fiub":
            values = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
            names = [f"item{j + 1}" for j in range(arr.shape[1])]
            _check_finite(values, names, allow_nan=allow_nan)
            return values, names, pd.RangeIndex(arr.shape[0])
        frame = pd.DataFrame(arr, columns=[f"item{j + 1}" for j in range(arr.shape[1])])
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputDataError(f"duplicate item column name(s) {dupes}; rename the columns")
    bad = [f"`{c}` ({frame[c].dtype})" for c in frame.columns if not is_numeric_dtype(frame[c])]
    if bad:
        raise InputDataError(
            f"column(s) {', '.join(bad)} are not numeric; factor analysis needs numeric "
            "answers: recode them as numbers, or drop them / set them as the index "
            "(e.g. df.set_index('respondent_id'))"
        )
    dtypes = set(frame.dtypes)
    if len(dtypes) == 1 and next(iter(dtypes)) in (np.dtype("float64"), np.dtype("float32")):
        values = frame.to_numpy()
    else:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_finite(values, names, allow_nan=allow_nan)
    return values, names, frame.index


def _check_finite(values: np.ndarray, names: list[str], *, allow_nan: bool) -> None:
    """Raise naming the columns that are all-NaN, contain NaN (unless allowed) or inf."""
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise InputDataError(
            f"the table has {values.shape[0]} respondents and {values.shape[1]} items: "
            f"{values.shape[1]} feature(s) (shape={values.shape}) while a minimum of 1 is "
            "required; pass at least one respondent and one item"
        )
    # cheap test first: one reduction, only scan per column when something is off
    if np.isfinite(values.sum(axis=0, dtype=np.float64)).all():
        return
    nan_counts = np.isnan(values).sum(axis=0)
    inf_counts = np.isinf(values).sum(axis=0)
    n = values.shape[0]
    all_nan = [names[j] for j in np.flatnonzero(nan_counts == n)]
    if all_nan:
        raise InputDataError(
            f"column(s) {all_nan} have no answers at all (all {n} values missing); drop them "
            "(screen_items() does this for you)"
        )
    infs = {names[j]: int(inf_counts[j]) for j in np.flatnonzero(inf_counts)}
    if infs:
        raise InputDataError(
            f"column(s) contain infinite values (inf; column: count) {infs}; replace them "
            "with valid answers or NaN"
        )
    if not allow_nan:
        nans = {names[j]: int(nan_counts[j]) for j in np.flatnonzero(nan_counts)}
        if nans:
            raise InputDataError(
                f"missing answers (NaN; column: count) {nans} out of {n} rows; run "
                "screen_items() first (drops respondents with many gaps, imputes the rest by "
                "item median) or impute them yourself"
            )


def _correlation(
    values: np.ndarray, names: Sequence[str], chunk_rows: int = _CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson correlation, means and sample standard deviations (ddof=1) in one pass.

    The cross-product of the centred data is accumulated block by block, so the
    only large temporary is one block of ``chunk_rows`` rows in float64.
    """
    n, p = values.shape
    mean = values.mean(axis=0, dtype=np.float64)
    cross = np.zeros((p, p))
    for start in range(0, n, chunk_rows):
        block = values[start : start + chunk_rows] - mean
        cross += block.T @ block
    cov = cross / max(n - 1, 1)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    scale = np.sqrt(np.clip(np.diag(cross), 0.0, None))
    tiny = scale <= 1e-12 * max(float(scale.max(initial=0.0)), 1.0)
    if tiny.any():
        const = [names[j] for j in np.flatnonzero(tiny)]
        raise InputDataError(
            f"item(s) {const} have the same answer for every respondent (zero variance); "
            "drop them (screen_items() flags constant and near-constant items)"
        )
    corr = cross / np.outer(scale, scale)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0), mean, sd


def _corr_frame(df: Any) -> tuple[np.ndarray, list[str], int]:
    values, names, _ = _item_matrix(df)
    corr, _, _ = _correlation(values, names)
    return corr, names, values.shape[0]


def _smc(corr: np.ndarray) -> np.ndarray:
    """Squared multiple correlation of each item with all others."""
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(corr)
    with np.errstate(divide="ignore"):
        return np.clip(1.0 - 1.0 / np.diag(inv), 0.0, 1.0)


def _small_blas() -> threadpool_limits:
    """Single-threaded BLAS for work on p x p matrices.

    numpy and scipy each load their own OpenBLAS; with both thread pools
    active, the many tiny eigendecompositions of an optimisation spend most
    of their time waiting for threads (30x slower on a 2-core machine).
    """
    return threadpool_limits(limits=1, user_api="blas")


def _eigvals_desc(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(matrix)[::-1]


# ---------------------------------------------------------------------------
# item screening
# ---------------------------------------------------------------------------


@dataclass
class ScreeningReport:
    """What :func:`screen_items` did to which item or respondent.

    Attributes
    ----------
    actions : pandas.DataFrame
        One row per action with columns ``step``, ``target`` (``item`` or
        ``respondents``), ``name``, ``action`` (``dropped``, ``imputed``,
        ``recoded``, ``flagged``), ``detail`` and ``count`` (answers or
        respondents concerned).
    missing_by_item : pandas.Series
        Share of missing answers per item in the input.
    missing_by_respondent : pandas.Series
        Share of missing answers per respondent in the input (over all items).
    item_total : pandas.Series
        Corrected item-total correlation of each kept item, after recoding.
    dropped_items, reversed_items, flagged_items : list of str
        Items dropped, reverse-coded, and flagged (negative corrected
        item-total correlation).
    dropped_respondents : pandas.Index
        Index labels of the respondents dropped.
    n_imputed : pandas.Series
        Answers imputed per kept item.
    """

    actions: pd.DataFrame
    missing_by_item: pd.Series
    missing_by_respondent: pd.Series
    item_total: pd.Series
    dropped_items: list[str]
    reversed_items: list[str]
    flagged_items: list[str]
    dropped_respondents: pd.Index
    n_imputed: pd.Series
    n_respondents_in: int
    n_items_in: int

    def summary(self) -> pd.Series:
        """Counts of what was done, for a report table."""
        n_out = self.n_respondents_in - len(self.dropped_respondents)
        return pd.Series(
            {
                "respondents in": self.n_respondents_in,
                "respondents dropped (too many missing answers)": len(self.dropped_respondents),
                "respondents out": n_out,
                "items in": self.n_items_in,
                "items dropped": len(self.dropped_items),
                "items out": self.n_items_in - len(self.dropped_items),
                "items reverse-coded": len(self.reversed_items),
                "items flagged (negative item-total r)": len(self.flagged_items),
                "answers imputed (item median)": int(self.n_imputed.sum()),
            },
            name="count",
        )


def corrected_item_total(df: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the *other* items.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.

    Returns
    -------
    pandas.Series
        One value per item; NaN for an item (or rest score) without variance.
    """
    values, names, _ = _item_matrix(df)
    cov = np.cov(values, rowvar=False, ddof=1).reshape(len(names), len(names))
    var = np.diag(cov)
    cov_total = cov.sum(axis=1)  # cov(x_i, total)
    var_rest = cov.sum() - 2 * cov_total + var  # var(total - x_i)
    cov_rest = cov_total - var  # cov(x_i, total - x_i)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov_rest / np.sqrt(var * var_rest)
    return pd.Series(np.where(np.isfinite(r), r, np.nan), index=names, name="item_total_r")


def screen_items(
    df: pd.DataFrame,
    reverse: Sequence[Hashable] | None = None,
    *,
    scale: tuple[float, float] | None = None,
    max_missing_share: float = 0.2,
    max_item_missing_share: float = 0.5,
    max_modal_share: float = 0.95,
    drop_negative_item_total: bool = False,
) -> tuple[pd.DataFrame, ScreeningReport]:
    """Clean survey items before a factor analysis and report every change.

    Steps, in order:

    1. Items with more than ``max_item_missing_share`` missing answers (all
       missing included) are dropped.
    2. Respondents with more than ``max_missing_share`` of the remaining items
       missing are dropped.
    3. Remaining gaps are imputed with the item median (counted per item).
    4. Constant items (one distinct answer) and near-constant items (the most
       frequent answer given by at least ``max_modal_share`` of respondents)
       are dropped: they carry almost no covariance.
    5. Reverse-keyed items listed in ``reverse`` are recoded ``min + max - x``,
       with ``(min, max)`` from ``scale`` or, if not given, the item's observed
       range.
    6. Items with a negative corrected item-total correlation are flagged
       (probably reverse-keyed but not listed); dropped only when
       ``drop_negative_item_total=True``.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items; all columns numeric (set identifiers as index).
    reverse : sequence of column names, optional
        Reverse-keyed items to recode.
    scale : (float, float), optional
        Minimum and maximum of the answer scale (e.g. ``(1, 5)``); used for
        reverse coding. Recommended: an item whose extreme answers nobody gave
        would otherwise be recoded on a narrower range.
    max_missing_share : float
        Respondents above this share of missing answers are dropped.
    max_item_missing_share : float
        Items above this share of missing answers are dropped.
    max_modal_share : float
        Items whose modal answer reaches this share are dropped as
        near-constant.
    drop_negative_item_total : bool
        Drop, rather than only flag, items with negative item-total correlation.

    Returns
    -------
    cleaned : pandas.DataFrame
        The kept respondents and items, no missing values, reverse items recoded.
    report : ScreeningReport
        What was done to what, with counts (``report.actions``,
        ``report.summary()``).

    Examples
    --------
    >>> clean, report = screen_items(answers, reverse=["q7"], scale=(1, 5))  # doctest: +SKIP
    >>> report.summary()  # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        raise InputDataError("screen_items expects a pandas DataFrame of respondents x items")
    for label, value in (
        ("max_missing_share", max_missing_share),
        ("max_item_missing_share", max_item_missing_share),
        ("max_modal_share", max_modal_share),
    ):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{label}={value!r} must be a share between 0 and 1")
    bad = [f"`{c}` ({df[c].dtype})" for c in df.columns if not is_numeric_dtype(df[c])]
    if bad:
        raise InputDataError(
            f"column(s) {', '.join(bad)} are not numeric; recode them as numbers, or drop them "
            "/ set them as the index (e.g. df.set_index('respondent_id'))"
        )
    reverse = list(reverse or [])
    unknown = [c for c in reverse if c not in df.columns]
    if unknown:
        raise InputDataError(
            f"reverse-keyed item(s) {unknown} are not columns of the table; "
            f"available columns: {list(df.columns)}"
        )
    if scale is not None and not (len(scale) == 2 and scale[0] < scale[1]):
        raise ValueError(f"scale={scale!r} must be (min, max) with min < max, e.g. (1, 5)")

    rows: list[dict[str, Any]] = []

    def act(step: str, target: str, name: str, action: str, detail: str, count: int) -> None:
        rows.append(
            {
                "step": step,
                "target": target,
                "name": name,
                "action": action,
                "detail": detail,
                "count": int(count),
            }
        )

    data = df.astype("float64")
    n_in, p_in = data.shape
    miss = data.isna()
    missing_by_item = miss.mean().rename("missing_share")
    missing_by_respondent = miss.mean(axis=1).rename("missing_share")
    dropped_items: list[str] = []

    # 1. items with too many gaps
    for col in data.columns:
        share = float(missing_by_item[col])
        if share == 1.0 or share > max_item_missing_share:
            detail = (
                "all answers missing"
                if share == 1.0
                else f"{share:.0%} of answers missing (> {max_item_missing_share:.0%})"
            )
            act("missing", "item", str(col), "dropped", detail, int(miss[col].sum()))
            dropped_items.append(col)
    data = data.drop(columns=dropped_items)
    if data.shape[1] == 0:
        raise InputDataError("every item was dropped for missing answers; check the input")

    # 2. respondents with too many gaps
    share_resp = data.isna().mean(axis=1)
    drop_resp = share_resp > max_missing_share
    dropped_respondents = data.index[drop_resp.to_numpy()]
    if len(dropped_respondents):
        act(
            "missing",
            "respondents",
            "",
            "dropped",
            f"more than {max_missing_share:.0%} of {data.shape[1]} items missing",
            len(dropped_respondents),
        )
    data = data.loc[~drop_resp.to_numpy()]
    if data.shape[0] == 0:
        raise InputDataError(
            f"every respondent has more than {max_missing_share:.0%} of items missing; "
            "raise max_missing_share or check the input"
        )

    # 3. median imputation
    n_imputed = data.isna().sum()
    medians = data.median()
    for col in data.columns[n_imputed.to_numpy() > 0]:
        act(
            "impute",
            "item",
            str(col),
            "imputed",
            f"item median {medians[col]:g}",
            int(n_imputed[col]),
        )
    observed = data.copy()
    data = data.fillna(medians)

    # 4. constant / near-constant items (judged on the answers actually given)
    near_constant: list[str] = []
    for col in data.columns:
        answers = observed[col].dropna()
        counts = answers.value_counts()
        if counts.empty:  # every kept respondent skipped it
            act("variance", "item", str(col), "dropped", "no answers from kept respondents", 0)
            near_constant.append(col)
            continue
        modal_share = float(counts.iloc[0] / counts.sum())
        if len(counts) <= 1:
            act(
                "variance",
                "item",
                str(col),
                "dropped",
                "constant: one distinct answer",
                len(answers),
            )
            near_constant.append(col)
        elif modal_share >= max_modal_share:
            act(
                "variance",
                "item",
                str(col),
                "dropped",
                f"near-constant: {modal_share:.1%} answered {counts.index[0]:g} "
                f"(>= {max_modal_share:.0%})",
                int(counts.iloc[0]),
            )
            near_constant.append(col)
    data = data.drop(columns=near_constant)
    dropped_items += near_constant

    # 5. reverse coding
    reversed_items: list[str] = []
    for col in reverse:
        if col not in data.columns:
            act("reverse", "item", str(col), "skipped", "item was dropped earlier", 0)
            continue
        lo, hi = scale if scale is not None else (data[col].min(), data[col].max())
        data[col] = lo + hi - data[col]
        source = "answer scale" if scale is not None else "observed range"
        act("reverse", "item", str(col), "recoded", f"{lo:g} + {hi:g} - x ({source})", len(data))
        reversed_items.append(col)

    # 6. corrected item-total correlations
    if data.shape[1] >= 2 and data.shape[0] >= 3:
        item_total = corrected_item_total(data)
    else:
        item_total = pd.Series(np.nan, index=[str(c) for c in data.columns], name="item_total_r")
    item_total.index = data.columns
    flagged = [c for c in data.columns if item_total[c] < 0]
    for col in flagged:
        action = "dropped" if drop_negative_item_total else "flagged"
        act(
            "item_total",
            "item",
            str(col),
            action,
            f"corrected item-total r = {item_total[col]:.3f} < 0: reverse-keyed? "
            "list it in reverse=",
            len(data),
        )
    if drop_negative_item_total and flagged:
        data = data.drop(columns=flagged)
        dropped_items += flagged

    actions = pd.DataFrame(rows, columns=["step", "target", "name", "action", "detail", "count"])
    report = ScreeningReport(
        actions=actions,
        missing_by_item=missing_by_item,
        missing_by_respondent=missing_by_respondent,
        item_total=item_total,
        dropped_items=[str(c) for c in dropped_items],
        reversed_items=[str(c) for c in reversed_items],
        flagged_items=[str(c) for c in flagged],
        dropped_respondents=dropped_respondents,
        n_imputed=n_imputed.reindex(data.columns).fillna(0).astype(int),
        n_respondents_in=n_in,
        n_items_in=p_in,
    )
    return data, report


# ---------------------------------------------------------------------------
# suitability
# ---------------------------------------------------------------------------


def _kmo_verdict(value: float) -> str:
    """Kaiser's (1974) labels for a measure of sampling adequacy."""
    for bound, label in (
        (0.9, "marvelous"),
        (0.8, "meritorious"),
        (0.7, "middling"),
        (0.6, "mediocre"),
        (0.5, "miserable"),
    ):
        if value >= bound:
            return label
    return "unacceptable"


@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        Overall KMO.
    verdict : str
        Kaiser's label for the overall value (``marvelous`` >= .9 ...
        ``unacceptable`` < .5).
    per_item : pandas.DataFrame
        Columns ``kmo``, ``verdict`` and ``flag`` (True when below
        ``threshold``: candidates for removal, lowest first).
    threshold : float
        The flagging threshold.
    """

    overall: float
    verdict: str
    per_item: pd.DataFrame
    threshold: float


def kmo(df: pd.DataFrame, threshold: float = 0.5) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item.

    KMO compares correlations with partial (anti-image) correlations: values
    near 1 mean the items share common factors. Computed with
    ``factor_analyzer.calculate_kmo``.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.
    threshold : float
        Items with a KMO below this are flagged (Kaiser: < .5 unacceptable).

    Returns
    -------
    KMOResult
    """
    values, names, _ = _item_matrix(df)
    _correlation(values, names)  # raises on constant items, naming them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pinv fallback warning
        per_item, overall = calculate_kmo(np.asarray(values, dtype=np.float64))
    per_item = np.asarray(per_item, dtype=float)
    table = pd.DataFrame(
        {
            "kmo": per_item,
            "verdict": [_kmo_verdict(v) for v in per_item],
            "flag": per_item < threshold,
        },
        index=pd.Index(names, name="item"),
    )
    return KMOResult(float(overall), _kmo_verdict(float(overall)), table, float(threshold))


def bartlett(df: pd.DataFrame) -> pd.Series:
    """Bartlett's test of sphericity (H0: the correlation matrix is the identity).

    A small p-value means the items are correlated enough to factor.
    Computed with ``factor_analyzer.calculate_bartlett_sphericity``:
    ``chi2 = -(n - 1 - (2p + 5) / 6) ln det R`` with ``p (p - 1) / 2`` degrees
    of freedom.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.

    Returns
    -------
    pandas.Series
        ``chi2``, ``dof``, ``p_value``, ``n_samples``, ``n_items`` (all as floats).
    """
    values, names, _ = _item_matrix(df)
    _correlation(values, names)
    n, p = values.shape
    chi2, p_value = calculate_bartlett_sphericity(np.asarray(values, dtype=np.float64))
    return pd.Series(
        {
            "chi2": float(chi2),
            "dof": int(p * (p - 1) // 2),
            "p_value": float(p_value),
            "n_samples": int(n),
            "n_items": int(p),
        },
        name="bartlett",
        dtype=float,
    )


# ---------------------------------------------------------------------------
# number of factors
# ---------------------------------------------------------------------------


def scree_eigenvalues(df: pd.DataFrame) -> pd.DataFrame:
    """Eigenvalues of the item correlation matrix, for a scree plot.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.

    Returns
    -------
    pandas.DataFrame
        Indexed 1..p: ``eigenvalue``, ``proportion`` (of the p items' total
        variance) and ``cumulative``.
    """
    corr, _, _ = _corr_frame(df)
    ev = _eigvals_desc(corr)
    prop = ev / ev.size
    return pd.DataFrame(
        {"eigenvalue": ev, "proportion": prop, "cumulative": np.cumsum(prop)},
        index=pd.RangeIndex(1, ev.size + 1, name="component"),
    )


def kaiser(df: pd.DataFrame) -> int:
    """Kaiser-Guttman rule: the number of correlation-matrix eigenvalues above 1.

    Reported for reference only: with many items it over-extracts.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.

    Returns
    -------
    int
    """
    return int((scree_eigenvalues(df)["eigenvalue"] > 1.0).sum())


def _leading_exceed(observed: np.ndarray, threshold: np.ndarray) -> int:
    """Number of leading observed eigenvalues above the random threshold."""
    above = observed > threshold
    return int(above.size if above.all() else np.argmin(above))


@dataclass(frozen=True)
class ParallelAnalysis:
    """Result of Horn's parallel analysis.

    Attributes
    ----------
    eigenvalues : pandas.DataFrame
        Indexed 1..p. Principal-component eigenvalues: ``observed``,
        ``random_mean``, ``random_quantile``; with ``kind`` ``"fa"`` or
        ``"both"`` also ``fa_observed``, ``fa_random_mean``,
        ``fa_random_quantile`` (reduced correlation matrix with squared
        multiple correlations on the diagonal).
    n_components : int or None
        Leading PCA eigenvalues above the random quantile.
    n_factors : int or None
        Leading FA eigenvalues above the random quantile.
    method, quantile
        Settings used.
    n_iter : int
        Maximum number of random data sets (the setting).
    n_iter_run : int
        Number of random data sets actually drawn: ``n_iter`` unless the
        stopping rule ended the draws early (see :func:`parallel_analysis`).
        The random columns of ``eigenvalues`` come from these.
    """

    eigenvalues: pd.DataFrame
    n_components: int | None
    n_factors: int | None
    method: str
    quantile: float
    n_iter: int
    n_iter_run: int

    @property
    def stopped_early(self) -> bool:
        """Whether fewer than ``n_iter`` random data sets were drawn (the decision was settled)."""
        return self.n_iter_run < self.n_iter

    @property
    def suggested(self) -> int:
        """The suggestion used downstream: PCA-based when computed, else FA-based."""
        return int(self.n_components if self.n_components is not None else self.n_factors)


def _reduced_smc(corr: np.ndarray) -> np.ndarray:
    """Correlation matrix with squared multiple correlations on the diagonal."""
    reduced = corr.copy()
    np.fill_diagonal(reduced, _smc(corr))
    return reduced


def _small_codes(values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Items as one-byte answer codes (items x respondents) and standardized answer values.

    Survey items take a handful of values, so shuffling one-byte codes instead of
    8-byte floats halves the cost of a permutation data set (at 264k respondents x
    18 items: 60 ms against 135 ms). None when an item has more than 127 values or
    no spread.
    """
    codes = np.empty((values.shape[1], values.shape[0]), dtype=np.int8)
    levels = []
    for j, col in enumerate(values.T):
        uniq, inverse = np.unique(col, return_inverse=True)
        sd = col.std()
        if uniq.size > 127 or not sd > 0:
            return None
        codes[j] = inverse
        levels.append((uniq - col.mean()) / sd)
    return codes, levels


def _permuted_correlation(
    codes: np.ndarray,
    levels: list[np.ndarray],
    rng: np.random.Generator,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Correlation matrix after shuffling every item's answers independently.

    Item 0 stays in place: shuffling every item and then all rows together (which
    leaves correlations unchanged) gives the same distribution. Means and standard
    deviations do not change under a shuffle, so the correlation is ``Z Z' / n`` of
    the standardized answers. ``out`` (items x respondents, float64) is reused for Z.
    """
    shuffled = codes.copy()
    shuffled[1:] = rng.permuted(codes[1:], axis=1)
    z = np.empty(codes.shape) if out is None else out
    for j, (lv, row) in enumerate(zip(levels, shuffled, strict=True)):
        np.take(lv, row, out=z[j])
    c = z @ z.T / z.shape[1]
    np.fill_diagonal(c, 1.0)
    return c


def _settled(observed: np.ndarray, random: np.ndarray, quantile: float) -> bool:
    """Whether more random data sets could no longer change the count of leading eigenvalues.

    The deciding positions are the leading ``m + 1`` (at most p), where m eigenvalues
    currently beat the ``quantile`` of the ``random`` ones (draws x positions): the m above
    their threshold and the first one below it. Each is settled when it lies more than
    :data:`SETTLED_MARGIN_SD` standard deviations (ddof=1, nonzero) of its random
    eigenvalues away from the threshold.
    """
    threshold = np.quantile(random, quantile, axis=0)
    deciding = min(_leading_exceed(observed, threshold) + 1, observed.size)
    sd = random[:, :deciding].std(axis=0, ddof=1)
    gap = np.abs(observed[:deciding] - threshold[:deciding])
    return bool(np.all((sd > 0) & (gap > SETTLED_MARGIN_SD * sd)))


def _is_checkpoint(n_drawn: int, n_iter: int) -> bool:
    """Whether the stopping rule is checked after ``n_drawn`` of at most ``n_iter`` draws.

    After ``min(n_iter, 20)`` draws and every 10 further ones; never after the last
    draw, where there is nothing left to save.
    """
    first = min(n_iter, _MIN_DRAWS)
    return first <= n_drawn < n_iter and (n_drawn - first) % _CHECK_EVERY == 0


def _random_eigenvalues(
    values: np.ndarray,
    n_iter: int,
    method: str,
    do_pca: bool,
    do_fa: bool,
    rng: np.random.Generator,
    *,
    settle: tuple[np.ndarray | None, np.ndarray | None, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) of the correlation matrices of random data sets.

    One row per data set, drawn one at a time, so the first m rows do not depend on
    ``n_iter``. ``settle`` = (observed PCA eigenvalues or None, observed FA eigenvalues
    or None, quantile) turns the stopping rule on: at each checkpoint the draws stop
    when every given kind is :func:`_settled`, and only the rows drawn are returned.
    """
    n, p = values.shape
    pca = np.full((n_iter, p), np.nan)
    fa = np.full((n_iter, p), np.nan)
    coded = _small_codes(values) if method == "permutation" else None
    buffer = np.empty((p, n)) if coded is not None else None
    for i in range(n_iter):
        if coded is not None:
            c = _permuted_correlation(*coded, rng, out=buffer)
        elif method == "permutation":
            c = np.corrcoef(rng.permuted(values, axis=0), rowvar=False)
        else:
            c = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
        if do_pca:
            pca[i] = _eigvals_desc(c)
        if do_fa:
            fa[i] = _eigvals_desc(_reduced_smc(c))
        if settle is not None and _is_checkpoint(i + 1, n_iter):
            obs_pca, obs_fa, quantile = settle
            if all(
                _settled(obs, rand[: i + 1], quantile)
                for obs, rand in ((obs_pca, pca), (obs_fa, fa))
                if obs is not None
            ):
                return pca[: i + 1], fa[: i + 1]
    return pca, fa


def parallel_analysis(
    df: pd.DataFrame,
    n_iter: int = 100,
    method: Literal["permutation", "normal"] = "permutation",
    quantile: float = 0.95,
    kind: Literal["pca", "fa", "both"] = "pca",
    random_state: int | np.random.Generator | None = None,
    stop_early: bool = True,
) -> ParallelAnalysis:
    """Horn's parallel analysis: keep factors that beat random data.

    The observed eigenvalues are compared with those of up to ``n_iter`` random data
    sets of the same shape: either each item's answers permuted independently
    (``"permutation"``, keeps each item's distribution; Buja & Eyuboglu 1992)
    or standard normal draws (``"normal"``, Horn 1965). The suggested number
    is the count of *leading* observed eigenvalues above the ``quantile`` of
    the random ones (Glorfeld 1995 uses the 95th percentile; Horn the mean).

    Which eigenvalues: ``kind="pca"`` (default, Horn's original) uses the
    eigenvalues of the correlation matrix; ``kind="fa"`` uses the eigenvalues
    of the reduced correlation matrix with squared multiple correlations on
    the diagonal (principal-axis eigenvalues, as in O'Connor 2000).
    ``psych::fa.parallel`` instead puts the communalities of a one-factor
    minres fit on the diagonal, so its FA eigenvalues differ slightly; the
    FA rule tends to suggest more factors than the PCA rule.

    Stopping early: with many respondents the random eigenvalues are tightly
    concentrated and the observed ones lie far from the thresholds, so a few
    random data sets settle the suggestion and the rest only cost time. As in
    sequential Monte Carlo tests (Besag & Clifford 1991), the data sets are
    drawn one at a time and the draws stop once more of them could not
    plausibly change the decision: after ``min(n_iter, 20)`` draws, and then
    after every 10 more, the deciding positions of each kind computed are
    checked, i.e. the leading m + 1 positions (at most p) where m eigenvalues
    currently exceed the threshold. When every one of them lies more than
    :data:`SETTLED_MARGIN_SD` (5) standard deviations of its random
    eigenvalues away from the current quantile (and that standard deviation
    is positive), no further draws are made. The draws are the same random
    numbers in the same order as without the rule, so an early-stopped result
    equals a fixed-count run with ``n_iter=n_iter_run`` (a Generator passed as
    ``random_state`` is advanced by ``n_iter_run`` data sets only), and
    ``stop_early=False`` reproduces the fixed-count behaviour exactly.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.
    n_iter : int
        Maximum number of random data sets (the number drawn when
        ``stop_early=False``).
    method : {"permutation", "normal"}
        How random data are generated.
    quantile : float
        Quantile of the random eigenvalues used as the threshold.
    kind : {"pca", "fa", "both"}
        Which eigenvalues to compare.
    random_state : int, numpy.random.Generator or None
        Seed for reproducibility.
    stop_early : bool
        Stop drawing random data sets once the suggestion is settled (see
        above); ``ParallelAnalysis.n_iter_run`` says how many were drawn.

    Returns
    -------
    ParallelAnalysis

    References
    ----------
    Besag, J. & Clifford, P. (1991). Sequential Monte Carlo p-values.
    *Biometrika*, 78(2), 301-304.
    """
    if method not in ("permutation", "normal"):
        raise ValueError(f"method={method!r}; use 'permutation' or 'normal'")
    if kind not in ("pca", "fa", "both"):
        raise ValueError(f"kind={kind!r}; use 'pca', 'fa' or 'both'")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile={quantile!r} must be strictly between 0 and 1")
    if int(n_iter) < 1:
        raise ValueError(f"n_iter={n_iter!r} must be a positive integer")
    values, names, _ = _item_matrix(df)
    corr, _, _ = _correlation(values, names)
    p = values.shape[1]
    rng = np.random.default_rng(random_state)
    obs_pca = _eigvals_desc(corr) if kind in ("pca", "both") else None
    obs_fa = _eigvals_desc(_reduced_smc(corr)) if kind in ("fa", "both") else None

    with _small_blas():
        pca_rand, fa_rand = _random_eigenvalues(
            np.asarray(values, dtype=np.float64),
            int(n_iter),
            method,
            obs_pca is not None,
            obs_fa is not None,
            rng,
            settle=(obs_pca, obs_fa, quantile) if stop_early else None,
        )

    index = pd.RangeIndex(1, p + 1, name="component")
    table = pd.DataFrame(index=index)
    n_components = n_factors = None
    if obs_pca is not None:
        thr = np.quantile(pca_rand, quantile, axis=0)
        table["observed"] = obs_pca
        table["random_mean"] = pca_rand.mean(axis=0)
        table["random_quantile"] = thr
        n_components = _leading_exceed(obs_pca, thr)
    if obs_fa is not None:
        thr = np.quantile(fa_rand, quantile, axis=0)
        table["fa_observed"] = obs_fa
        table["fa_random_mean"] = fa_rand.mean(axis=0)
        table["fa_random_quantile"] = thr
        n_factors = _leading_exceed(obs_fa, thr)
    return ParallelAnalysis(
        table,
        n_components,
        n_factors,
        method,
        float(quantile),
        n_iter=int(n_iter),
        n_iter_run=int(pca_rand.shape[0]),
    )


@dataclass(frozen=True)
class MAPResult:
    """Velicer's minimum average partial (MAP) test.

    Attributes
    ----------
    average_partial : pandas.DataFrame
        Indexed by the number of components partialled out (0..p-1):
        ``squared`` (Velicer 1976, average squared partial correlation) and
        ``fourth_power`` (Velicer, Eaton & Fava 2000 revision).
    n_factors : int
        Number minimising the squared criterion (1976).
    n_factors_revised : int
        Number minimising the fourth-power criterion (2000).
    """

    average_partial: pd.DataFrame
    n_factors: int
    n_factors_revised: int


def velicer_map(df: pd.DataFrame) -> MAPResult:
    """Velicer's MAP test for the number of components.

    For m = 0, 1, ..., p-1 the first m principal components are partialled
    out of the correlation matrix and the average squared (1976) or fourth
    power (2000) off-diagonal partial correlation is computed; the suggested
    number is the m with the smallest average. m = 0 (nothing to extract) is
    a possible answer.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.

    Returns
    -------
    MAPResult
    """
    corr, _, _ = _corr_frame(df)
    with _small_blas():
        return _velicer_map(corr)


def _velicer_map(corr: np.ndarray) -> MAPResult:
    p = corr.shape[0]
    w, v = np.linalg.eigh(corr)
    w, v = w[::-1], v[:, ::-1]
    loadings = v * np.sqrt(np.clip(w, 0.0, None))
    off = ~np.eye(p, dtype=bool)
    sq = np.full(p, np.nan)
    fourth = np.full(p, np.nan)
    sq[0] = np.mean(corr[off] ** 2)
    fourth[0] = np.mean(corr[off] ** 4)
    for m in range(1, p):
        partial_cov = corr - loadings[:, :m] @ loadings[:, :m].T
        d = np.diag(partial_cov)
        if np.any(d <= 1e-12):
            break
        partial = partial_cov / np.sqrt(np.outer(d, d))
        sq[m] = np.mean(partial[off] ** 2)
        fourth[m] = np.mean(partial[off] ** 4)
    table = pd.DataFrame(
        {"squared": sq, "fourth_power": fourth},
        index=pd.RangeIndex(0, p, name="n_components"),
    )
    return MAPResult(table, int(np.nanargmin(sq)), int(np.nanargmin(fourth)))


@dataclass(frozen=True)
class NFactorsSuggestion:
    """Number-of-factors rules side by side, and the number chosen.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``rule``, ``suggested_n``, ``reason``.
    n_factors : int
        The chosen number (see :func:`suggest_n_factors` for the precedence).
    reason : str
        Why this number was chosen.
    parallel : ParallelAnalysis
    map : MAPResult
    """

    table: pd.DataFrame
    n_factors: int
    reason: str
    parallel: ParallelAnalysis
    map: MAPResult


def suggest_n_factors(
    df: pd.DataFrame,
    n_iter: int = 100,
    method: Literal["permutation", "normal"] = "permutation",
    quantile: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    stop_early: bool = True,
) -> NFactorsSuggestion:
    """Apply several number-of-factors rules and choose one number.

    Rule of precedence: **parallel analysis (principal-component eigenvalues
    against the 95th percentile of random data) decides**; Velicer's MAP
    (1976) is the check: when it agrees the choice is confirmed, when it
    differs the reason says so and both solutions deserve a look (MAP tends
    to under-extract when factors have few items, parallel analysis to
    over-extract with very large samples). The FA-eigenvalue variant of
    parallel analysis, the revised MAP (2000) and Kaiser's eigenvalue > 1
    rule are reported for reference only (Kaiser over-extracts with many
    items). A choice of 0 means no factor beats random data: factor analysis
    is not warranted.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items, no missing values.
    n_iter, method, quantile, random_state, stop_early
        Passed to :func:`parallel_analysis` (``n_iter`` is the maximum number
        of random data sets; with ``stop_early`` the draws end once the
        suggestion is settled).

    Returns
    -------
    NFactorsSuggestion
    """
    pa = parallel_analysis(
        df,
        n_iter=n_iter,
        method=method,
        quantile=quantile,
        kind="both",
        random_state=random_state,
        stop_early=stop_early,
    )
    mp = velicer_map(df)
    n_kaiser = int((pa.eigenvalues["observed"] > 1).sum())
    pct = f"{quantile:.0%}"
    n_pa = int(pa.n_components or 0)
    rows = [
        (
            "parallel analysis (PCA eigenvalues)",
            n_pa,
            f"{n_pa} leading eigenvalue(s) exceed the {pct} quantile of {pa.n_iter_run} "
            f"{pa.method} data sets"
            + (f" (of at most {pa.n_iter}: decision settled)" if pa.stopped_early else ""),
        ),
        (
            "parallel analysis (FA eigenvalues, SMC diagonal)",
            int(pa.n_factors or 0),
            f"{pa.n_factors} leading reduced-matrix eigenvalue(s) exceed the {pct} quantile",
        ),
        (
            "Velicer MAP (1976, squared partials)",
            mp.n_factors,
            f"average squared partial correlation smallest after {mp.n_factors} "
            f"component(s) ({mp.average_partial['squared'].iloc[mp.n_factors]:.4f})",
        ),
        (
            "Velicer MAP (2000, fourth-power partials)",
            mp.n_factors_revised,
            f"average fourth-power partial correlation smallest after "
            f"{mp.n_factors_revised} component(s)",
        ),
        (
            "Kaiser (eigenvalue > 1)",
            n_kaiser,
            f"{n_kaiser} eigenvalue(s) above 1 (tends to over-extract; reference only)",
        ),
    ]
    table = pd.DataFrame(rows, columns=["rule", "suggested_n", "reason"])
    if n_pa == 0:
        reason = (
            "parallel analysis: no eigenvalue beats random data, so the items share no "
            "common factor worth extracting; factor analysis is not warranted"
        )
    elif mp.n_factors == n_pa:
        reason = f"parallel analysis suggests {n_pa}; Velicer's MAP agrees"
    else:
        reason = (
            f"parallel analysis suggests {n_pa} (takes precedence); Velicer's MAP suggests "
            f"{mp.n_factors}: compare the {min(n_pa, mp.n_factors)}- and "
            f"{max(n_pa, mp.n_factors)}-factor solutions for interpretability"
        )
    return NFactorsSuggestion(table, n_pa, reason, pa, mp)


# ---------------------------------------------------------------------------
# extraction and rotation
# ---------------------------------------------------------------------------

_EIG_FLOOR = 100 * np.finfo(float).eps


def _uls_objective(psi: np.ndarray, corr: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Unweighted least squares (psych ``fm="uls"``/minres) objective and its gradient.

    With ``1 - psi`` on the diagonal and the k leading eigenpairs as loadings,
    the residual matrix holds the remaining eigenpairs, so the objective is the
    sum of their squared eigenvalues and d/dpsi_i = -2 * residual_ii.
    """
    reduced = corr.copy()
    np.fill_diagonal(reduced, 1.0 - psi)
    w, v = np.linalg.eigh(reduced)
    w, v = w[::-1][:k], v[:, ::-1][:, :k]
    load = v * np.sqrt(np.maximum(w, _EIG_FLOOR))
    resid = reduced - load @ load.T
    return float(np.sum(resid**2)), -2.0 * np.diag(resid)


def _ml_objective(psi: np.ndarray, corr: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Maximum-likelihood discrepancy (as in R's factanal / psych fm="ml") and gradient."""
    sc = 1.0 / np.sqrt(psi)
    w, v = np.linalg.eigh(corr * np.outer(sc, sc))
    w, v = w[::-1], v[:, ::-1]
    e = w[k:]
    value = -(np.sum(np.log(e) - e) - k + corr.shape[0])
    load = np.sqrt(psi)[:, None] * v[:, :k] * np.sqrt(np.maximum(w[:k] - 1.0, 0.0))
    grad = (np.sum(load**2, axis=1) + psi - 1.0) / psi**2
    return float(value), grad


def _loadings_from_psi(psi: np.ndarray, corr: np.ndarray, k: int, method: str) -> np.ndarray:
    if method == "ml":
        sc = 1.0 / np.sqrt(psi)
        w, v = np.linalg.eigh(corr * np.outer(sc, sc))
        w, v = w[::-1][:k], v[:, ::-1][:, :k]
        return np.sqrt(psi)[:, None] * v * np.sqrt(np.maximum(w - 1.0, 0.0))
    reduced = corr.copy()
    np.fill_diagonal(reduced, 1.0 - psi)
    w, v = np.linalg.eigh(reduced)
    w, v = w[::-1][:k], v[:, ::-1][:, :k]
    return v * np.sqrt(np.maximum(w, 0.0))


def _extract(corr: np.ndarray, k: int, method: str) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """Unrotated loadings, fitted uniquenesses, convergence flag, iterations."""
    if method == "principal":
        w, v = np.linalg.eigh(corr)
        w, v = w[::-1][:k], v[:, ::-1][:, :k]
        loadings = v * np.sqrt(np.maximum(w, 0.0))
        return loadings, 1.0 - np.sum(loadings**2, axis=1), True, 0
    p = corr.shape[0]
    start = np.clip(1.0 - _smc(corr), *PSI_BOUNDS)
    objective = _ml_objective if method == "ml" else _uls_objective
    res = minimize(
        objective,
        start,
        args=(corr, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[PSI_BOUNDS] * p,
        options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-9},
    )
    psi = np.clip(res.x, *PSI_BOUNDS)
    return _loadings_from_psi(psi, corr, k, method), psi, bool(res.success), int(res.nit)


def _rotate(
    loadings: np.ndarray, rotation: str | None, kwargs: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Rotated (pattern) loadings and factor correlations, via factor_analyzer's Rotator."""
    k = loadings.shape[1]
    if rotation is None or k == 1:
        return loadings.copy(), np.eye(k)
    options = {"max_iter": 1000, **kwargs}  # R's stats::varimax / GPArotation use 1000
    rotator = Rotator(method=rotation, **options)
    pattern = np.asarray(rotator.fit_transform(loadings), dtype=float)
    if rotation in _OBLIQUE:
        phi = np.asarray(rotator.phi_, dtype=float)
        phi = (phi + phi.T) / 2
    else:
        phi = np.eye(k)
    return pattern, phi


class FactorModel(TransformerMixin, BaseEstimator):
    """Exploratory factor analysis of survey items, scikit-learn style.

    The model is fitted from the item correlation matrix, computed once in a
    single blocked pass over the data, so fitting cost barely grows with the
    number of respondents. Extraction follows R's ``psych::fa``: ``"minres"``
    minimises the unweighted least-squares residual (psych ``fm="uls"``/
    ``"minres"``), ``"ml"`` is maximum likelihood (the ``factanal``
    discrepancy), both with uniquenesses bounded to [0.005, 1], started from
    ``1 - SMC``, optimised with L-BFGS-B and analytic gradients;
    ``"principal"`` takes the leading principal components (``psych::principal``).
    Rotations come from ``factor_analyzer``'s ``Rotator`` (through
    :mod:`seglab._compat`): ``"varimax"`` (Kaiser-normalised, as
    ``stats::varimax``), ``"promax"`` (power 4 after Kaiser normalisation, as
    ``psych``'s ``kaiser(..., rotate="Promax")``), ``"oblimin"``
    (GPArotation's, gamma 0) or ``None``.

    Factors are ordered by the variance they explain and oriented so that the
    largest absolute loading of each factor is positive.

    Parameters
    ----------
    n_factors : int
        Number of factors (see :func:`suggest_n_factors`).
    method : {"minres", "ml", "principal"}
        Extraction method.
    rotation : {"varimax", "promax", "oblimin"} or None
        Rotation; ``None`` keeps the unrotated solution.
    scores : {"regression", "bartlett"}
        Factor-score method of :meth:`transform`: Thurstone's regression scores
        ``Z R^-1 S`` (S = structure matrix; psych's default) or Bartlett's
        weighted least-squares scores ``Z Psi^-1 P (P' Psi^-1 P)^-1``
        (P = pattern loadings, unbiased for the factors). ``Z`` is the data
        standardised with the training means and sample standard deviations.
    rotation_kwargs : dict, optional
        Extra arguments for ``factor_analyzer.Rotator`` (e.g. ``{"power": 3}``
        for promax, ``{"gamma": 0.5}`` for oblimin).

    Attributes
    ----------
    loadings_ : pandas.DataFrame
        Items x factors; pattern loadings for oblique rotations.
    structure_ : pandas.DataFrame
        Item-factor correlations ``loadings_ @ factor_corr_`` (equals
        ``loadings_`` for orthogonal solutions).
    factor_corr_ : pandas.DataFrame
        Factor correlations (phi); the identity for orthogonal solutions.
    communalities_ : pandas.Series
        Variance of each item explained by the factors, ``diag(P Phi P')``
        (rotation-invariant; psych's ``communality``).
    uniquenesses_ : pandas.Series
        ``1 - communalities_`` (psych's ``uniquenesses``; negative in an
        ultra-Heywood case).
    psi_ : pandas.Series
        Uniquenesses as estimated by the optimiser, bounded to [0.005, 1]
        (``1 - psi_`` is psych's ``communalities``); differs from
        ``uniquenesses_`` only by convergence error and in Heywood cases.
    eigenvalues_ : pandas.DataFrame
        ``original`` (correlation matrix) and ``common_factor`` (correlation
        matrix with the communalities on the diagonal).
    variance_ : pandas.DataFrame
        Per factor: ``ss_loadings`` (for oblique solutions psych's
        ``diag(Phi P'P)``, which sums to the total communality),
        ``proportion_var`` (of all items' variance), ``cumulative_var``,
        ``proportion_explained`` (of the common variance).
    unrotated_loadings_ : pandas.DataFrame
        Loadings before rotation.
    rotation_matrix_ : numpy.ndarray
        ``T`` with ``loadings_ = unrotated_loadings_ @ T``.
    corr_ : pandas.DataFrame
        Item correlation matrix.
    mean_, scale_ : pandas.Series
        Item means and sample standard deviations used to standardise.
    weights_ : pandas.DataFrame
        Factor-score weights applied to standardised items.
    heywood_items_ : list of str
        Items whose uniqueness hit its lower bound (communality >= 0.995).
    converged_ : bool
    n_iter_ : int
        Optimiser iterations.
    n_samples_, n_features_in_, items_
        Respondents, number and names of items seen in ``fit``.

    Notes
    -----
    Agreement with R: on the eight ``factor_analyzer`` reference data sets,
    ``psych::fa`` loadings, both communality vectors, uniquenesses and both
    eigenvalue vectors are reproduced to < 3e-4 for minres and ml with no,
    varimax and promax rotation (2 and 3 factors), and oblimin loadings,
    regression scores and promax structure likewise (``tests/test_factors.py``).
    psych's ``promax`` Kaiser-normalises the loadings *before* the promax
    target is built (``kaiser(f, rotate="Promax")``); ``stats::promax``
    does not and gives different loadings. We follow psych. For ML the
    optimiser is the ``factanal`` one, so ``factanal`` results agree too.

    Examples
    --------
    >>> fm = FactorModel(n_factors=3, rotation="promax").fit(items)  # doctest: +SKIP
    >>> loading_table(fm)  # doctest: +SKIP
    >>> scores = fm.transform(items)  # doctest: +SKIP
    """

    def __init__(
        self,
        n_factors: int = 3,
        method: Literal["minres", "ml", "principal"] = "minres",
        rotation: Literal["varimax", "promax", "oblimin"] | None = "varimax",
        scores: Literal["regression", "bartlett"] = "regression",
        rotation_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.n_factors = n_factors
        self.method = method
        self.rotation = rotation
        self.scores = scores
        self.rotation_kwargs = rotation_kwargs

    # -- validation ---------------------------------------------------------

    def _check_params(self) -> str | None:
        k = self.n_factors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_factors={k!r} must be a positive integer")
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r}; choose one of {list(_METHODS)}")
        rotation = None if self.rotation in (None, "none") else self.rotation
        if rotation is not None and rotation not in _ROTATIONS:
            raise ValueError(
                f"rotation={self.rotation!r}; choose one of {list(_ROTATIONS)} or None"
            )
        if self.scores not in _SCORES:
            raise ValueError(f"scores={self.scores!r}; choose one of {list(_SCORES)}")
        if self.rotation_kwargs is not None and "method" in self.rotation_kwargs:
            raise ValueError("pass the rotation as rotation=..., not inside rotation_kwargs")
        return rotation

    def _check_shape(self, n: int, p: int) -> None:
        if n < p:
            raise InputDataError(
                f"the data have {n} respondents but {p} items (n_samples={n}, n_features={p}): "
                "factor analysis needs at least as many respondents as items (rule of thumb: "
                "5-10 per item); collect more answers or analyse fewer items"
            )
        if self.n_factors >= p:
            raise ValueError(
                f"n_factors={self.n_factors} but there are only {p} items (n_features={p}): "
                "n_factors must be smaller than the number of items; lower n_factors (see "
                "suggest_n_factors) or add items"
            )

    # -- fitting ------------------------------------------------------------

    def fit(self, X: pd.DataFrame | ArrayLike, y: None = None) -> FactorModel:
        """Fit the factor model.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_items)
            Numeric answers, no missing values (see :func:`screen_items`).
        y : None
            Ignored.

        Returns
        -------
        FactorModel
            The fitted model (``self``).
        """
        rotation = self._check_params()
        values, names, _ = _item_matrix(X)
        n, p = values.shape
        self._check_shape(n, p)
        corr, mean, sd = _correlation(values, names)
        with _small_blas():
            self._fit_corr(corr, names, rotation)
            self._set_score_weights(corr, mean, sd)
        self.mean_ = pd.Series(mean, index=names, name="mean")
        self.scale_ = pd.Series(sd, index=names, name="sd")
        self.n_samples_ = n
        self.n_features_in_ = p
        self.items_ = list(names)
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _fit_corr(self, corr: np.ndarray, names: list[str], rotation: str | None) -> None:
        k = int(self.n_factors)
        unrotated, psi, converged, n_iter = _extract(corr, k, self.method)
        if not converged:
            warnings.warn(
                f"the {self.method} optimiser did not converge in {n_iter} iterations; "
                "results may be inaccurate (try fewer factors)",
                UserWarning,
                stacklevel=3,
            )
        communality = np.sum(unrotated**2, axis=1)
        pattern, phi = _rotate(unrotated, rotation, self.rotation_kwargs or {})

        # orientation: largest absolute loading of each factor positive
        def orient(m: np.ndarray) -> np.ndarray:
            idx = np.argmax(np.abs(m), axis=0)
            s = np.sign(m[idx, np.arange(m.shape[1])])
            return np.where(s == 0, 1.0, s)

        signs = orient(pattern)
        pattern = pattern * signs
        phi = phi * np.outer(signs, signs)
        structure = pattern @ phi
        ss = np.einsum("ij,ij->j", pattern, structure)  # diag(Phi P'P)
        order = np.argsort(-ss, kind="stable")
        pattern, structure, ss = pattern[:, order], structure[:, order], ss[order]
        phi = phi[np.ix_(order, order)]
        unrotated = unrotated * orient(unrotated)

        factors = [f"F{j + 1}" for j in range(k)]
        frame = pd.DataFrame
        self.loadings_ = frame(pattern, index=names, columns=factors)
        self.structure_ = frame(structure, index=names, columns=factors)
        self.factor_corr_ = frame(phi, index=factors, columns=factors)
        self.unrotated_loadings_ = frame(unrotated, index=names, columns=factors)
        self.rotation_matrix_ = np.linalg.lstsq(unrotated, pattern, rcond=None)[0]
        self.communalities_ = pd.Series(communality, index=names, name="communality")
        self.uniquenesses_ = pd.Series(1.0 - communality, index=names, name="uniqueness")
        self.psi_ = pd.Series(psi, index=names, name="psi")
        reduced = corr.copy()
        np.fill_diagonal(reduced, communality)
        self.eigenvalues_ = pd.DataFrame(
            {"original": _eigvals_desc(corr), "common_factor": _eigvals_desc(reduced)},
            index=pd.RangeIndex(1, len(names) + 1, name="component"),
        )
        p = len(names)
        self.variance_ = pd.DataFrame(
            {
                "ss_loadings": ss,
                "proportion_var": ss / p,
                "cumulative_var": np.cumsum(ss / p),
                "proportion_explained": ss / ss.sum(),
            },
            index=factors,
        )
        self.corr_ = pd.DataFrame(corr, index=names, columns=names)
        low = PSI_BOUNDS[0]
        heywood = (communality >= 1.0 - low - 1e-9) | (psi <= low + 1e-9)
        if self.method == "principal":
            heywood = communality > 1.0 + 1e-9
        self.heywood_items_ = [names[j] for j in np.flatnonzero(heywood)]
        if self.heywood_items_:
            warnings.warn(
                f"Heywood case: item(s) {self.heywood_items_} have communality >= "
                f"{1 - low} (max {communality.max():.3f}); the solution is improper - try "
                "fewer factors, method='ml', or drop/merge near-duplicate items",
                UserWarning,
                stacklevel=3,
            )
        self.converged_ = converged
        self.n_iter_ = n_iter

    def _set_score_weights(self, corr: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> None:
        pattern = self.loadings_.to_numpy()
        if self.scores == "regression":
            try:
                weights = np.linalg.solve(corr, self.structure_.to_numpy())
            except np.linalg.LinAlgError:
                weights = np.linalg.pinv(corr) @ self.structure_.to_numpy()
        else:
            psi = np.clip(self.psi_.to_numpy(), PSI_BOUNDS[0], None)
            scaled = pattern / psi[:, None]
            weights = scaled @ np.linalg.pinv(pattern.T @ scaled)
        self.weights_ = pd.DataFrame(
            weights, index=self.loadings_.index, columns=self.loadings_.columns
        )
        # scores = ((X - mean) / sd) @ W  ==  X @ coef - offset : a single matrix product
        self._coef = weights / sd[:, None]
        self._offset = mean @ self._coef

    # -- scoring ------------------------------------------------------------

    def transform(self, X: pd.DataFrame | ArrayLike) -> pd.DataFrame | np.ndarray:
        """Factor scores of respondents.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_items)
            Same items as in ``fit`` (a DataFrame is matched by column name).

        Returns
        -------
        pandas.DataFrame or numpy.ndarray
            Respondents x factors; a DataFrame (same index) for DataFrame input.
        """
        check_is_fitted(self, "loadings_")
        if isinstance(X, pd.DataFrame):
            cols = [str(c) for c in X.columns]
            missing = [c for c in self.items_ if c not in cols]
            if missing:
                raise InputDataError(
                    f"item column(s) {missing} seen in fit are missing from the data to score"
                )
            if cols != self.items_:
                X = X.set_axis(cols, axis=1)[self.items_]
        values, _, index = _item_matrix(X)
        if values.shape[1] != self.n_features_in_:
            raise InputDataError(
                f"X has {values.shape[1]} features, but FactorModel is expecting "
                f"{self.n_features_in_} features as input (the items seen in fit); pass the same "
                "items in the same order"
            )
        dtype = values.dtype if values.dtype == np.float32 else np.float64
        scores = values @ self._coef.astype(dtype)
        scores -= self._offset.astype(dtype)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(scores, index=index, columns=self.loadings_.columns, copy=False)
        return scores

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Factor names (``F1``, ``F2``, ...), the output columns of :meth:`transform`."""
        check_is_fitted(self, "loadings_")
        return np.asarray(self.loadings_.columns, dtype=object)


# ---------------------------------------------------------------------------
# interpretation helpers
# ---------------------------------------------------------------------------


def _primary(model: FactorModel, threshold: float) -> tuple[pd.Series, pd.Series]:
    """Each item's primary factor (largest |loading|) and whether it reaches ``threshold``."""
    check_is_fitted(model, "loadings_")
    absl = model.loadings_.abs()
    return absl.idxmax(axis=1), absl.max(axis=1) >= threshold


def _item_order(model: FactorModel, threshold: float) -> list[str]:
    """Items grouped by primary factor, strongest first; items below threshold last."""
    primary, salient = _primary(model, threshold)
    factors = list(model.loadings_.columns)
    absl = model.loadings_.abs().max(axis=1)
    key = pd.DataFrame(
        {
            "group": [
                factors.index(f) if s else len(factors)
                for f, s in zip(primary, salient, strict=True)
            ],
            "strength": -absl,
        },
        index=model.loadings_.index,
    )
    return list(key.sort_values(["group", "strength"], kind="stable").index)


def loading_table(model: FactorModel, threshold: float = 0.3) -> pd.DataFrame:
    """Loadings sorted by factor, small loadings blanked, cross-loadings flagged.

    Parameters
    ----------
    model : FactorModel
        A fitted model (pattern loadings are shown for oblique rotations).
    threshold : float
        Loadings with absolute value below this are blanked (NaN; use
        ``.fillna("")`` for display).

    Returns
    -------
    pandas.DataFrame
        Items (grouped by primary factor, strongest first; items with no
        loading >= threshold last) x factors, plus ``primary`` (factor of the
        largest absolute loading, ``""`` if none reaches the threshold),
        ``communality`` and ``cross_loading`` (absolute loading >= threshold
        on two or more factors).
    """
    primary, salient = _primary(model, threshold)
    loadings = model.loadings_
    absl = loadings.abs()
    table = loadings.where(absl >= threshold)
    table["primary"] = primary.where(salient, "")
    table["communality"] = model.communalities_
    table["cross_loading"] = (absl >= threshold).sum(axis=1) >= 2
    return table.loc[_item_order(model, threshold)]


def _readable(item: Hashable) -> str:
    """An item code as words: ``q01_price_matters`` -> ``price matters``."""
    text = re.sub(r"^[A-Za-z]{0,3}\d+[_.\s-]+", "", str(item))
    return text.replace("_", " ").strip() or str(item)


def name_factors(
    model: FactorModel, top_n: int = 3, names: Mapping[str, str] | None = None
) -> pd.Series:
    """Draft factor names from the names of the top-loading items.

    Parameters
    ----------
    model : FactorModel
        A fitted model.
    top_n : int
        Number of items per name, by absolute loading; a negative loading is
        marked ``(-)``.
    names : dict, optional
        Overrides, e.g. ``{"F1": "price sensitivity"}``; keys are factor names.

    Returns
    -------
    pandas.Series
        Draft (or overridden) name per factor.
    """
    check_is_fitted(model, "loadings_")
    if int(top_n) < 1:
        raise ValueError(f"top_n={top_n!r} must be a positive integer")
    loadings = model.loadings_
    names = dict(names or {})
    unknown = [k for k in names if k not in loadings.columns]
    if unknown:
        raise ValueError(
            f"name override(s) for unknown factor(s) {unknown}; factors are "
            f"{list(loadings.columns)}"
        )
    drafts = {}
    for factor in loadings.columns:
        col = loadings[factor]
        top = col.abs().sort_values(ascending=False, kind="stable").index[: int(top_n)]
        drafts[factor] = " / ".join(f"{_readable(i)}{' (-)' if col[i] < 0 else ''}" for i in top)
    drafts.update(names)
    return pd.Series(drafts, name="name")


# ---------------------------------------------------------------------------
# reliability
# ---------------------------------------------------------------------------


def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    if k < 2:
        return float("nan")
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / total))


def _item_cov(df: pd.DataFrame, min_items: int, what: str) -> tuple[np.ndarray, list[str]]:
    values, names, _ = _item_matrix(df)
    if len(names) < min_items:
        raise ValueError(f"{what} needs at least {min_items} items, got {len(names)}")
    if values.shape[0] < 2:
        raise InputDataError(f"{what} needs at least 2 respondents, got {values.shape[0]}")
    cov = np.cov(np.asarray(values, dtype=np.float64), rowvar=False, ddof=1)
    return np.atleast_2d(cov), names


def cronbach_alpha(df: pd.DataFrame) -> float:
    """Cronbach's alpha of a set of items.

    ``alpha = k / (k - 1) * (1 - sum(var_i) / var_total)``, with ``var_i`` the
    item variances and ``var_total`` the variance of the sum score.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items (reverse-keyed items already recoded), no missing
        values.

    Returns
    -------
    float
    """
    cov, _ = _item_cov(df, 2, "cronbach_alpha")
    return _alpha_from_cov(cov)


def alpha_if_deleted(df: pd.DataFrame) -> pd.Series:
    """Cronbach's alpha of the scale with each item left out in turn.

    An item whose deletion raises alpha is a candidate for removal.

    Parameters
    ----------
    df : pandas.DataFrame
        Respondents x items (at least 3), no missing values.

    Returns
    -------
    pandas.Series
        Alpha without the item, indexed by item.
    """
    cov, names = _item_cov(df, 3, "alpha_if_deleted")
    out = []
    for j in range(len(names)):
        keep = np.arange(len(names)) != j
        out.append(_alpha_from_cov(cov[np.ix_(keep, keep)]))
    return pd.Series(out, index=names, name="alpha_if_deleted")


def mcdonald_omega(
    df: pd.DataFrame | None = None,
    *,
    loadings: ArrayLike | None = None,
    uniquenesses: ArrayLike | None = None,
) -> float:
    """McDonald's omega total of a unidimensional scale.

    ``omega = (sum lambda)^2 / ((sum lambda)^2 + sum psi)`` (McDonald 1999),
    with standardised loadings ``lambda`` and uniquenesses ``psi``.

    Either give the items (``df``): a one-factor minres model is fitted to
    them and its loadings and uniquenesses (``1 - lambda^2``) are used; or
    give ``loadings`` (e.g. a factor's column of a fitted model) and
    optionally ``uniquenesses`` (default ``1 - lambda^2``, i.e. variance not
    explained by this factor counts as error). Recode reverse-keyed items
    first: negative loadings lower omega.

    Parameters
    ----------
    df : pandas.DataFrame, optional
        Respondents x items (at least 3), no missing values.
    loadings : array-like, optional
        Standardised loadings of the items on the factor.
    uniquenesses : array-like, optional
        Unique variances of the items; default ``1 - loadings**2``.

    Returns
    -------
    float
    """
    if (df is None) == (loadings is None):
        raise ValueError("pass either the items (df) or their loadings (loadings=...), not both")
    if loadings is None:
        values, names, _ = _item_matrix(df)
        if len(names) < 3:
            raise ValueError(
                f"omega from a one-factor model needs at least 3 items, got {len(names)}; "
                "pass loadings=... instead"
            )
        fm = FactorModel(n_factors=1, method="minres", rotation=None).fit(df)
        lam = fm.loadings_.iloc[:, 0].to_numpy()
        psi = fm.uniquenesses_.to_numpy()
    else:
        lam = np.asarray(loadings, dtype=float).ravel()
        psi = 1.0 - lam**2 if uniquenesses is None else np.asarray(uniquenesses, float).ravel()
        if psi.shape != lam.shape:
            raise ValueError(
                f"{lam.size} loadings but {psi.size} uniquenesses; give one of each per item"
            )
    common = lam.sum() ** 2
    return float(common / (common + psi.sum()))


def _factor_scales(model: FactorModel, items_df: pd.DataFrame, threshold: float):
    """Per factor: its items (primary loading >= threshold), their loadings, sign-aligned answers."""
    primary, salient = _primary(model, threshold)
    for factor in model.loadings_.columns:
        items = [i for i in model.loadings_.index if salient[i] and primary[i] == factor]
        lam = model.loadings_.loc[items, factor]
        yield factor, items, lam, items_df[items] * np.sign(lam).replace(0, 1).to_numpy()


def alpha_if_deleted_table(
    model: FactorModel, items_df: pd.DataFrame, threshold: float = 0.3
) -> pd.DataFrame:
    """Alpha of each factor's scale with each of its items left out, beside the full alpha.

    An item whose removal *raises* alpha (``improves`` True) weakens its scale: reword or drop it.

    Returns
    -------
    pandas.DataFrame
        Indexed by (factor, item): ``loading``, ``alpha`` (all items), ``alpha_if_deleted``, ``improves``.
    """
    check_is_fitted(model, "loadings_")
    frames = []
    for factor, items, lam, data in _factor_scales(model, items_df, threshold):
        if len(items) < 3:
            continue
        full = cronbach_alpha(data)
        dropped = alpha_if_deleted(data)
        frames.append(
            pd.DataFrame(
                {
                    "factor": factor,
                    "item": items,
                    "loading": lam.to_numpy(),
                    "alpha": full,
                    "alpha_if_deleted": dropped.reindex(items).to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["loading", "alpha", "alpha_if_deleted", "improves"])
    out = pd.concat(frames, ignore_index=True).set_index(["factor", "item"])
    out["improves"] = out["alpha_if_deleted"] > out["alpha"]
    return out


def reliability_table(
    model: FactorModel, items_df: pd.DataFrame, threshold: float = 0.3
) -> pd.DataFrame:
    """Reliability of the scale formed by each factor's items.

    An item belongs to the factor on which it loads most strongly, if that
    absolute loading reaches ``threshold``. Items loading negatively are
    reversed (sign-flipped) before computing alpha and omega.

    Parameters
    ----------
    model : FactorModel
        A fitted model.
    items_df : pandas.DataFrame
        The item answers (at least the model's items), no missing values.
    threshold : float
        Minimum absolute loading for an item to count toward a factor.

    Returns
    -------
    pandas.DataFrame
        Per factor: ``n_items``, ``items``, ``alpha`` (Cronbach), ``omega``
        (omega total of a one-factor model refitted on the items; NaN with
        fewer than 3 items) and ``omega_model`` (from the fitted loadings on
        this factor, uniquenesses ``1 - lambda^2``).
    """
    check_is_fitted(model, "loadings_")
    missing = [c for c in model.items_ if c not in items_df.columns]
    if missing:
        raise InputDataError(f"item column(s) {missing} of the model are missing from items_df")
    rows = []
    for factor, items, lam, data in _factor_scales(model, items_df, threshold):
        rows.append(
            {
                "factor": factor,
                "n_items": len(items),
                "items": ", ".join(items),
                "alpha": cronbach_alpha(data) if len(items) >= 2 else np.nan,
                "omega": mcdonald_omega(data) if len(items) >= 3 else np.nan,
                "omega_model": mcdonald_omega(loadings=lam.abs()) if items else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("factor")


# ---------------------------------------------------------------------------
# plots (each takes ax=None and returns the Axes)
# ---------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots()
    return new_ax


def plot_scree(result: ParallelAnalysis, ax: Axes | None = None, kaiser_line: bool = True) -> Axes:
    """Scree plot with the parallel-analysis reference lines.

    Parameters
    ----------
    result : ParallelAnalysis
        From :func:`parallel_analysis` (PCA eigenvalues are plotted when
        available, else the FA ones).
    ax : matplotlib Axes, optional
    kaiser_line : bool
        Draw the eigenvalue = 1 line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    t = result.eigenvalues
    prefix = "" if "observed" in t.columns else "fa_"
    x = t.index.to_numpy()
    pct = f"{result.quantile:.0%}"
    ax.plot(x, t[f"{prefix}observed"], "o-", color="C0", label="observed")
    ax.plot(x, t[f"{prefix}random_mean"], "--", color="C1", label="random data, mean")
    ax.plot(x, t[f"{prefix}random_quantile"], ":", color="C3", label=f"random data, {pct}")
    if kaiser_line and not prefix:
        ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("component" if not prefix else "factor")
    ax.set_ylabel("eigenvalue")
    ax.set_title(f"Scree plot with parallel analysis (suggests {result.suggested})")
    ax.set_xticks(x)
    ax.legend()
    return ax


def plot_loading_heatmap(
    model: FactorModel, ax: Axes | None = None, threshold: float = 0.3, annotate: bool = True
) -> Axes:
    """Heatmap of the loadings, items grouped by primary factor.

    Parameters
    ----------
    model : FactorModel
        A fitted model.
    ax : matplotlib Axes, optional
    threshold : float
        Used to order items (as :func:`loading_table`); annotations of
        loadings below it are grey.
    annotate : bool
        Write the loadings in the cells.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    order = _item_order(model, threshold)
    data = model.loadings_.loc[order]
    im = ax.imshow(data.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(data.shape[1]), data.columns)
    ax.set_yticks(range(data.shape[0]), data.index)
    if annotate:
        for (i, j), value in np.ndenumerate(data.to_numpy()):
            strong = abs(value) >= threshold
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color=("white" if abs(value) > 0.6 else "black") if strong else "grey",
            )
    ax.figure.colorbar(im, ax=ax, label="loading")
    ax.set_title("Factor loadings")
    return ax


def plot_factor_loadings(
    model: FactorModel, factor: str, ax: Axes | None = None, threshold: float = 0.3
) -> Axes:
    """Bar chart of one factor's loadings, sorted, small loadings greyed.

    Parameters
    ----------
    model : FactorModel
        A fitted model.
    factor : str
        Factor name (e.g. ``"F1"``).
    ax : matplotlib Axes, optional
    threshold : float
        Loadings below it in absolute value are drawn grey.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_is_fitted(model, "loadings_")
    if factor not in model.loadings_.columns:
        raise ValueError(f"factor {factor!r} not in {list(model.loadings_.columns)}")
    ax = _axes(ax)
    col = model.loadings_[factor].sort_values(kind="stable")
    colors = ["C0" if abs(v) >= threshold else "lightgrey" for v in col]
    ax.barh(col.index.astype(str), col.to_numpy(), color=colors)
    for x in (-threshold, threshold):
        ax.axvline(x, color="grey", lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(min(-1.0, col.min() - 0.05), max(1.0, col.max() + 0.05))
    ax.set_xlabel("loading")
    ax.set_title(f"Loadings on {factor}")
    return ax


def plot_correlation_heatmap(
    model: FactorModel, ax: Axes | None = None, threshold: float = 0.3
) -> Axes:
    """Item correlation heatmap, items ordered by primary factor and loading.

    Parameters
    ----------
    model : FactorModel
        A fitted model (its ``corr_`` is drawn).
    ax : matplotlib Axes, optional
    threshold : float
        Used to order items, as in :func:`loading_table`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_is_fitted(model, "corr_")
    ax = _axes(ax)
    order = _item_order(model, threshold)
    data = model.corr_.loc[order, order]
    im = ax.imshow(data.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(order)), order, rotation=90)
    ax.set_yticks(range(len(order)), order)
    ax.figure.colorbar(im, ax=ax, label="correlation")
    ax.set_title("Item correlations (ordered by factor)")
    return ax


def score_table(
    scores: pd.DataFrame, customers: Sequence[Hashable], answered: Sequence[Hashable]
) -> pd.DataFrame:
    """Factor scores for every customer, with non-respondents kept and flagged.

    Parameters
    ----------
    scores : pandas.DataFrame
        Scores of the respondents kept after screening, indexed by customer id.
    customers : sequence
        Every customer id of the analysis (buyers and prospects).
    answered : sequence
        Ids of everyone who returned a survey (including those screening dropped).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: ``survey_status`` (``scored``, ``dropped in screening``,
        ``no survey``) and one column per factor (missing unless scored).
    """
    answered = pd.Index(answered)
    # factorize keeps the order of first appearance, as unique does, at a third of the
    # cost on Arrow strings; membership by Arrow (pandas' isin took 1.3 s at 1M ids)
    _, uniques = pd.factorize(pd.Index(customers).append(answered), use_na_sentinel=False)
    ids = pd.Index(uniques, name="customer_id")
    out = scores.reindex(ids)
    status = np.where(
        isin(ids, scores.index),
        "scored",
        np.where(isin(ids, answered), "dropped in screening", "no survey"),
    )
    out.insert(0, "survey_status", status)
    return out
