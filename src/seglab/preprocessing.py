"""Preparing basis variables for clustering: skew handling, winsorising, scaling, dummies, Gower."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, PowerTransformer, RobustScaler, StandardScaler
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from seglab.errors import InputDataError

__all__ = [
    "SKEW_METHODS",
    "BasisPreprocessor",
    "correlation_check",
    "gower_distances",
]

#: Skew treatments a numeric basis column can get.
SKEW_METHODS: tuple[str, ...] = ("none", "log1p", "yeo-johnson")
_SCALES = ("standard", "robust", "none")


# ---------------------------------------------------------------------------
# input checks shared by fit and transform
# ---------------------------------------------------------------------------


def _n(x: int) -> str:
    return f"{x:,}"


def _plural(n: int, word: str) -> str:
    return f"{_n(n)} {word}" if n == 1 else f"{_n(n)} {word}s"


def _as_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    """A DataFrame view of ``X`` and whether ``X`` was a DataFrame.

    Arrays go through ``check_array`` (numeric, NaN allowed so that our own
    message reports them) and get the column names ``x0, x1, ...``.
    """
    if isinstance(X, pd.DataFrame):
        return X, True
    arr = check_array(X, dtype="numeric", ensure_all_finite=False, ensure_min_samples=1)
    return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])], copy=False), False


def _numeric_values(frame: pd.DataFrame, columns: Sequence[str], *, when: str) -> np.ndarray:
    """Float matrix of the numeric basis columns; raise naming columns, counts and the fix.

    The matrix is column-major (Fortran order): every step after this one works on one
    column at a time, and a column of a row-major matrix is a strided view whose passes
    (mean, quantiles, log1p...) were several times slower at a million rows.
    """
    n = len(frame)
    out = np.empty((n, len(columns)), dtype=np.float64, order="F")
    non_numeric: list[str] = []
    for j, col in enumerate(columns):
        s = frame[col]
        if is_numeric_dtype(s) or is_bool_dtype(s):
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        coerced = pd.to_numeric(s, errors="coerce")
        bad = coerced.isna() & s.notna()
        if bad.any():
            examples = ", ".join(repr(v) for v in pd.unique(s[bad])[:3])
            non_numeric.append(
                f"`{col}` has {_plural(int(bad.sum()), 'non-numeric value')} (e.g. {examples})"
            )
        out[:, j] = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    if non_numeric:
        raise InputDataError(
            f"numeric basis column(s) hold text at {when}: {'; '.join(non_numeric)}. Clean them "
            "(e.g. pd.to_numeric(df[col], errors='coerce') and then impute), or declare the "
            "column as categorical=[...] if it is a category"
        )
    if np.isfinite(out).all():  # the usual case: one pass, no counts needed
        return out
    nan_counts = np.isnan(out).sum(axis=0)
    all_nan = [columns[j] for j in np.flatnonzero(nan_counts == n)] if n else []
    if all_nan:
        raise InputDataError(
            f"basis column(s) {_fmt_cols(all_nan)} are entirely missing at {when} (all "
            f"{_n(n)} values are NaN); drop them from the basis variables or fix the data extract"
        )
    if nan_counts.any():
        detail = ", ".join(
            f"`{columns[j]}` {_n(int(nan_counts[j]))}" for j in np.flatnonzero(nan_counts)
        )
        raise InputDataError(
            f"missing values (NaN) in basis column(s) at {when}, out of {_n(n)} rows: {detail}. "
            "Impute them first (e.g. df[col].fillna(df[col].median()), or 0 for a spend "
            "share that is truly zero) or drop those customers (df.dropna(subset=[...]))"
        )
    inf_counts = np.isinf(out).sum(axis=0)
    if inf_counts.any():
        detail = ", ".join(
            f"`{columns[j]}` {_n(int(inf_counts[j]))}" for j in np.flatnonzero(inf_counts)
        )
        raise InputDataError(
            f"infinite values (inf) in basis column(s) at {when}: {detail}; they usually come "
            "from a division by zero (e.g. an average over zero orders): replace them with NaN "
            "and impute, or drop those customers"
        )
    return out


def _categorical_values(frame: pd.DataFrame, columns: Sequence[str], *, when: str) -> np.ndarray:
    """Object matrix of the categorical basis columns as strings; raise on missing values."""
    n = len(frame)
    if not columns:
        return np.empty((n, 0), dtype=object)
    counts = {c: int(frame[c].isna().sum()) for c in columns}
    all_nan = [c for c, k in counts.items() if n and k == n]
    if all_nan:
        raise InputDataError(
            f"categorical basis column(s) {_fmt_cols(all_nan)} are entirely missing at {when} "
            f"(all {_n(n)} values are NaN); drop them from the basis variables"
        )
    bad = {c: k for c, k in counts.items() if k}
    if bad:
        detail = ", ".join(f"`{c}` {_n(k)}" for c, k in bad.items())
        raise InputDataError(
            f"missing values (NaN) in categorical basis column(s) at {when}, out of {_n(n)} "
            f"rows: {detail}. Fill them with an explicit level (e.g. df[col].fillna('unknown')) "
            "or drop those customers"
        )
    return np.column_stack([frame[c].astype(str).to_numpy(dtype=object) for c in columns])


def _fmt_cols(cols: Sequence[Any]) -> str:
    return ", ".join(f"`{c}`" for c in cols)


def _skewness(x: np.ndarray) -> float:
    """Fisher-Pearson skewness g1 = m3 / m2^1.5 (0 for a constant or too-short column).

    Two passes (mean, then central moments) rather than one over raw power sums: the
    one-pass formula cancels catastrophically when the mean is large against the spread
    (recency in days, amounts in cents) and would not reproduce these values. ``x``
    should be contiguous; a strided column view makes every pass several times slower.
    """
    if x.size < 3:
        return 0.0
    d = x - x.mean()
    d2 = d * d
    m2 = d2.mean()
    # max |x| from the extremes: the same number as np.abs(x).max(), without a temporary
    abs_max = max(abs(float(x.min())), abs(float(x.max())))
    if m2 <= 1e-24 * max(1.0, abs_max**2):
        return 0.0
    return float(np.dot(d2, d) / x.size / m2**1.5)


# ---------------------------------------------------------------------------
# the transformer
# ---------------------------------------------------------------------------


class BasisPreprocessor(TransformerMixin, BaseEstimator):
    """Prepare the basis variables of a segmentation for distance-based clustering.

    Numeric columns go through three steps, each fitted once on the training
    customers and reused unchanged by :meth:`transform` (so that new customers
    are scored on the same scale):

    1. **skew handling**, chosen per column: ``"none"``, ``"log1p"`` or
       ``"yeo-johnson"`` (scikit-learn's ``PowerTransformer``, fitted per
       column on the column divided by its standard deviation, because the
       transform is not scale-invariant and overflows on raw currency amounts);
    2. **winsorising**: clipping at the training quantiles ``winsorize``
       (computed after step 1); skipped for a column whose two quantiles
       coincide (e.g. a spend share that is 0 for 99 % of customers), since
       clipping would make it constant;
    3. **scaling**: ``StandardScaler`` (mean 0, sd 1) or ``RobustScaler``
       (median 0, IQR 1).

    Categorical columns are one-hot encoded (unknown levels at transform time
    become all-zero rows, with a warning) and weighted as described below.

    Parameters
    ----------
    numeric : list of str, optional
        Numeric basis columns. When both ``numeric`` and ``categorical`` are
        None, numeric-dtype columns are numeric and all other columns
        categorical; when only one of them is given the other is empty.
        For an array input columns are called ``x0, x1, ...``.
    categorical : list of str, optional
        Categorical basis columns (region, device, ...).
    skew : {"auto", "none", "log1p", "yeo-johnson"} or dict
        ``"auto"`` decides per column from the training skewness ``g1``: none
        if ``|g1| < skew_threshold``; ``log1p`` if the column is right-skewed
        and non-negative; Yeo-Johnson otherwise (negative values, or a left
        skew that a log would make worse). A string forces one method on every
        column; a dict maps column -> method (columns not in it get ``"auto"``).
    skew_threshold : float
        Absolute skewness below which ``"auto"`` leaves a column alone.
    winsorize : tuple of float or None
        Lower and upper quantile to clip at; None skips winsorising.
    scale : {"standard", "robust", "none"}
        Scaling of the numeric columns.
    categorical_weight : float
        Weight of one categorical column relative to one numeric column.

    Attributes
    ----------
    numeric_, categorical_ : list of str
        Basis columns used.
    methods_ : dict
        Skew treatment per numeric column.
    clip_bounds_ : pandas.DataFrame
        ``low``/``high`` clip bounds per numeric column in the transformed
        (post-skew) space; NaN where no clipping applies.
    scaler_ : StandardScaler or RobustScaler or None
    encoder_ : OneHotEncoder or None
    dummy_scale_ : dict
        Multiplier applied to the dummies of each categorical column.
    report_ : pandas.DataFrame
        One row per basis column: ``kind``, ``transform``, ``skew_before``,
        ``skew_after`` (after skew handling and clipping), ``clip_low`` and
        ``clip_high`` (in the column's original units), ``n_clipped``,
        ``share_clipped`` (training customers), ``n_levels`` and
        ``dummy_scale`` (categoricals), ``note``.
    n_features_in_, feature_names_in_
        Number and names of the basis columns (the columns this transformer
        reads; other columns of the table are ignored).

    Notes
    -----
    **Categorical weighting.** k-means and Ward minimise squared distances,
    so a column's influence is its variance (its share of the total
    inertia). A standardised numeric column has variance 1. The dummies of a
    categorical column with level shares ``p_j`` have total variance
    ``1 - sum(p_j^2)`` (the Gini impurity), which is at most 1 and small for
    a dominant level. Each dummy of the column is multiplied by
    ``sqrt(categorical_weight * v / (1 - sum(p_j^2)))``, where ``v`` is the
    mean variance of the scaled numeric columns (1 for standard scaling), so
    the column's total variance is exactly ``categorical_weight`` times a
    numeric column's. Two customers in different levels are then
    ``2 * factor^2`` apart in squared distance, whatever the level. The
    factor is fitted once; at transform time dummies are multiplied by the
    same factors.

    Examples
    --------
    >>> pre = BasisPreprocessor(numeric=["recency_days", "monetary"],
    ...                         categorical=["region"])  # doctest: +SKIP
    >>> Z = pre.fit_transform(customers)  # doctest: +SKIP
    >>> pre.report_  # doctest: +SKIP
    >>> Z_new = pre.transform(new_customers)  # same parameters, not refitted  # doctest: +SKIP
    """

    def __init__(
        self,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        skew: str | Mapping[str, str] = "auto",
        skew_threshold: float = 1.0,
        winsorize: tuple[float, float] | None = (0.01, 0.99),
        scale: str = "standard",
        categorical_weight: float = 1.0,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.skew = skew
        self.skew_threshold = skew_threshold
        self.winsorize = winsorize
        self.scale = scale
        self.categorical_weight = categorical_weight

    # -- validation ---------------------------------------------------------

    def _check_params(self, numeric: list[str]) -> dict[str, str]:
        """Validate parameters and return the requested method per numeric column."""
        if self.scale not in _SCALES:
            raise ValueError(f"scale={self.scale!r}; choose one of {list(_SCALES)}")
        if self.winsorize is not None:
            try:
                lo, hi = (float(q) for q in self.winsorize)
            except (TypeError, ValueError):
                raise ValueError(
                    f"winsorize={self.winsorize!r} must be a (low, high) pair of quantiles such "
                    "as (0.01, 0.99), or None to skip winsorising"
                ) from None
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(
                    f"winsorize={self.winsorize!r}: need 0 <= low < high <= 1, e.g. (0.01, 0.99)"
                )
        w = self.categorical_weight
        if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or w < 0:
            raise ValueError(f"categorical_weight={w!r} must be a non-negative number")
        t = self.skew_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float, np.number)) or t < 0:
            raise ValueError(f"skew_threshold={t!r} must be a non-negative number")
        allowed = ("auto", *SKEW_METHODS)
        if isinstance(self.skew, Mapping):
            unknown = [c for c in self.skew if c not in numeric]
            if unknown:
                raise ValueError(
                    f"skew names column(s) {_fmt_cols(unknown)} that are not numeric basis "
                    f"columns ({_fmt_cols(numeric)})"
                )
            bad = {c: m for c, m in self.skew.items() if m not in allowed}
            if bad:
                raise ValueError(f"skew methods {bad} unknown; choose from {list(allowed)}")
            return {c: self.skew.get(c, "auto") for c in numeric}
        if self.skew not in allowed:
            raise ValueError(
                f"skew={self.skew!r}; choose one of {list(allowed)} or a dict column -> method"
            )
        return dict.fromkeys(numeric, self.skew)

    def _resolve_columns(self, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        if self.numeric is None and self.categorical is None:
            numeric = [c for c in frame.columns if is_numeric_dtype(frame[c])]
            categorical = [c for c in frame.columns if c not in numeric]
        else:
            numeric = list(self.numeric or [])
            categorical = list(self.categorical or [])
        for name, cols in (("numeric", numeric), ("categorical", categorical)):
            if isinstance(cols, str):  # pragma: no cover - guarded by list() above
                raise ValueError(f"{name} must be a list of column names")
        both = sorted(set(numeric) & set(categorical), key=str)
        if both:
            raise ValueError(f"column(s) {_fmt_cols(both)} are listed as numeric and categorical")
        if not numeric and not categorical:
            raise ValueError("no basis columns: pass numeric=[...] and/or categorical=[...]")
        self._check_present(frame, numeric + categorical, when="fit")
        return numeric, categorical

    @staticmethod
    def _check_present(frame: pd.DataFrame, columns: Sequence[str], *, when: str) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputDataError(
                f"basis column(s) {_fmt_cols(missing)} not found in the data at {when} "
                f"({_plural(len(frame.columns), 'column')} present, {_n(len(frame))} rows); "
                "check the spelling in the config, or compute the column before segmenting"
            )

    # -- fitting ------------------------------------------------------------

    def fit(self, X: pd.DataFrame | Any, y: None = None) -> BasisPreprocessor:
        """Learn skew treatments, clip bounds, scaling and dummy weights.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, n_columns)
            Customer table; only the basis columns are read.
        y : None
            Ignored.

        Returns
        -------
        BasisPreprocessor
            The fitted transformer (``self``).
        """
        self._fit(X, output=False)
        return self

    def fit_transform(self, X: pd.DataFrame | Any, y: None = None) -> np.ndarray:
        """Fit to ``X`` and return ``X`` transformed; the same matrix as ``fit(X).transform(X)``.

        The training customers' transformed values are a by-product of fitting (the clip
        bounds and the scaler are learnt on them), so they are returned directly instead
        of being recomputed from the raw columns.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, n_columns)
            Customer table; only the basis columns are read.
        y : None
            Ignored.

        Returns
        -------
        numpy.ndarray of shape (n_customers, n_features_out)
            As :meth:`transform`.
        """
        return self._fit(X, output=True)

    def _fit(self, X: pd.DataFrame | Any, *, output: bool) -> np.ndarray | None:
        """Fit; with ``output`` also return the training customers transformed."""
        frame, is_frame = _as_frame(X)
        numeric, categorical = self._resolve_columns(frame)
        requested = self._check_params(numeric)
        n = len(frame)
        if n < 2:
            raise InputDataError(
                f"fitting needs at least 2 customers, got {n} (n_samples={n}); "
                "pass the full customer table"
            )
        values = _numeric_values(frame, numeric, when="fit")
        cats = _categorical_values(frame, categorical, when="fit")
        self._check_constant(values, numeric, cats, categorical)

        rows: list[dict[str, Any]] = []
        self.methods_: dict[str, str] = {}
        self._power: dict[str, tuple[float, PowerTransformer]] = {}
        # column-major like ``values``: each column below is contiguous
        transformed = np.empty_like(values, order="F")
        for j, col in enumerate(numeric):
            x = values[:, j]
            before = _skewness(x)
            method = requested[col]
            if method == "auto":
                if abs(before) < self.skew_threshold:
                    method = "none"
                elif x.min() >= 0 and before > 0:
                    method = "log1p"
                else:
                    method = "yeo-johnson"
            if method == "log1p" and x.min() <= -1:
                raise InputDataError(
                    f"column `{col}` has {_n(int((x <= -1).sum()))} values <= -1 (min "
                    f"{x.min():g}) so log1p is undefined; use skew='yeo-johnson' for it (or "
                    "'auto'), or fix the values (e.g. net returns) first"
                )
            self.methods_[col] = method
            transformed[:, j] = self._skew_forward(col, x, method, fit=True)
            rows.append(
                {"column": col, "kind": "numeric", "transform": method, "skew_before": before}
            )

        self.clip_bounds_ = pd.DataFrame(
            np.nan, index=pd.Index(numeric, name="column"), columns=["low", "high"]
        )
        for j, col in enumerate(numeric):
            t = transformed[:, j]
            note = ""
            n_clip = 0
            low_orig = high_orig = np.nan
            if self.winsorize is not None:
                lo, hi = np.quantile(t, [float(q) for q in self.winsorize])
                if hi > lo:
                    n_clip = int(np.count_nonzero(t < lo)) + int(np.count_nonzero(t > hi))
                    np.clip(t, lo, hi, out=t)
                    self.clip_bounds_.loc[col] = [lo, hi]
                    low_orig, high_orig = self._skew_inverse(col, np.array([lo, hi]))
                else:
                    note = (
                        "winsorising skipped: both quantiles are the same value, clipping "
                        "would make the column constant"
                    )
            unchanged = self.methods_[col] == "none" and n_clip == 0  # t is a copy of the column
            rows[j].update(
                skew_after=rows[j]["skew_before"] if unchanged else _skewness(t),
                clip_low=low_orig,
                clip_high=high_orig,
                n_clipped=n_clip,
                share_clipped=n_clip / n,
                note=note,
            )

        # the scaler sees a row-major matrix, as transform() gives it: its column sums
        # depend on the memory order in the last bits
        transformed = np.ascontiguousarray(transformed)
        self.scaler_: StandardScaler | RobustScaler | None
        if numeric and self.scale != "none":
            self.scaler_ = (StandardScaler() if self.scale == "standard" else RobustScaler()).fit(
                transformed
            )
        else:
            self.scaler_ = None
        scaled = None
        if numeric and (output or categorical):
            scaled = transformed if self.scaler_ is None else self.scaler_.transform(transformed)
        ref_var = float(np.mean(scaled.var(axis=0))) if numeric and categorical else 1.0
        if not np.isfinite(ref_var) or ref_var <= 0:  # pragma: no cover - constants are refused
            ref_var = 1.0

        self.dummy_scale_: dict[str, float] = {}
        self.encoder_: OneHotEncoder | None = None
        if categorical:
            self.encoder_ = OneHotEncoder(
                handle_unknown="ignore", sparse_output=False, dtype=np.float64
            ).fit(cats)
            scale_per_dummy = []
            for j, col in enumerate(categorical):
                levels = self.encoder_.categories_[j]
                shares = pd.Series(cats[:, j]).value_counts(normalize=True)
                gini = 1.0 - float((shares.to_numpy() ** 2).sum())
                factor = float(np.sqrt(float(self.categorical_weight) * ref_var / gini))
                self.dummy_scale_[col] = factor
                scale_per_dummy.extend([factor] * len(levels))
                rows.append(
                    {
                        "column": col,
                        "kind": "categorical",
                        "transform": "one-hot",
                        "n_levels": len(levels),
                        "dummy_scale": factor,
                        "n_clipped": 0,
                        "share_clipped": 0.0,
                        "note": f"largest level `{shares.index[0]}` holds {shares.iloc[0]:.0%}",
                    }
                )
            self._dummy_scale = np.asarray(scale_per_dummy)

        report = pd.DataFrame(rows).set_index("column")
        cols = [
            "kind",
            "transform",
            "skew_before",
            "skew_after",
            "clip_low",
            "clip_high",
            "n_clipped",
            "share_clipped",
            "n_levels",
            "dummy_scale",
            "note",
        ]
        self.report_ = report.reindex(columns=cols)
        self.report_["n_clipped"] = self.report_["n_clipped"].astype("int64")
        self.report_["n_levels"] = self.report_["n_levels"].astype("Int64")
        self.report_["note"] = self.report_["note"].fillna("")
        self.numeric_ = numeric
        self.categorical_ = categorical
        self.n_features_in_ = len(numeric) + len(categorical)
        self._fitted_on_frame = is_frame
        if is_frame:
            self.feature_names_in_ = np.asarray(numeric + categorical, dtype=object)
        if not output:
            return None
        parts = [scaled] if numeric else []
        if categorical:
            parts.append(self.encoder_.transform(cats) * self._dummy_scale)
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    @staticmethod
    def _check_constant(
        values: np.ndarray, numeric: list[str], cats: np.ndarray, categorical: list[str]
    ) -> None:
        n = values.shape[0] if numeric else cats.shape[0]
        constant = []
        if numeric:
            for j in np.flatnonzero(np.ptp(values, axis=0) == 0):
                constant.append(f"`{numeric[j]}` (always {values[0, j]:g})")
        for j, col in enumerate(categorical):
            if len(pd.unique(cats[:, j])) == 1:
                constant.append(f"`{col}` (always {cats[0, j]!r})")
        if constant:
            raise InputDataError(
                f"basis column(s) {', '.join(constant)} are constant across all {_n(n)} "
                "customers (zero variance): they cannot separate segments and cannot be scaled; "
                "drop them from the basis variables"
            )

    def _skew_forward(self, col: str, x: np.ndarray, method: str, *, fit: bool) -> np.ndarray:
        if method == "none":
            return x.copy()
        if method == "log1p":
            return np.log1p(x)
        if fit:
            sd = float(x.std()) or 1.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pt = PowerTransformer(method="yeo-johnson", standardize=False)
                pt.fit((x / sd).reshape(-1, 1))
            self._power[col] = (sd, pt)
        sd, pt = self._power[col]
        return pt.transform((x / sd).reshape(-1, 1)).ravel()

    def _skew_inverse(self, col: str, t: np.ndarray) -> np.ndarray:
        method = self.methods_[col]
        if method == "none":
            return t
        if method == "log1p":
            return np.expm1(t)
        sd, pt = self._power[col]
        return pt.inverse_transform(t.reshape(-1, 1)).ravel() * sd

    # -- transforming -------------------------------------------------------

    def transform(self, X: pd.DataFrame | Any) -> np.ndarray:
        """Apply the fitted treatments (never refitted) to a customer table.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Must hold the basis columns seen in :meth:`fit` (other columns
            are ignored); an array must have them in the fitted order.

        Returns
        -------
        numpy.ndarray of shape (n_customers, n_features_out)
            Numeric columns first, then the weighted dummies (see
            :meth:`get_feature_names_out`). Call ``set_output(transform="pandas")``
            to get a DataFrame with the input's index.
        """
        check_is_fitted(self, "report_")
        if isinstance(X, pd.DataFrame):
            frame = X
            self._check_present(frame, self.numeric_ + self.categorical_, when="transform")
        else:
            arr = check_array(X, dtype="numeric", ensure_all_finite=False)
            if arr.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {arr.shape[1]} features, but BasisPreprocessor is expecting "
                    f"{self.n_features_in_} features as input (the basis columns "
                    f"{_fmt_cols(self.numeric_ + self.categorical_)}); pass a DataFrame"
                )
            if self._fitted_on_frame:
                warnings.warn(
                    "X does not have valid feature names, but BasisPreprocessor was fitted "
                    "with feature names; columns are taken in the fitted order",
                    UserWarning,
                    stacklevel=2,
                )
            frame = pd.DataFrame(arr, columns=self.numeric_ + self.categorical_, copy=False)
        values = _numeric_values(frame, self.numeric_, when="transform")
        parts = []
        if self.numeric_:
            out = np.empty_like(values, order="F")  # contiguous columns, as ``values``
            for j, col in enumerate(self.numeric_):
                x = values[:, j]
                method = self.methods_[col]
                if method == "log1p" and x.min() <= -1:
                    raise InputDataError(
                        f"column `{col}` has {_n(int((x <= -1).sum()))} values <= -1 in the "
                        f"data to transform (min {x.min():g}), but it was fitted with log1p; "
                        "fix those values, or refit with skew={'" + col + "': 'yeo-johnson'}"
                    )
                t = self._skew_forward(col, x, method, fit=False)
                lo, hi = self.clip_bounds_.loc[col]
                if not np.isnan(lo):
                    np.clip(t, lo, hi, out=t)
                out[:, j] = t
            out = np.ascontiguousarray(out)  # row-major output, one copy
            if self.scaler_ is not None:
                out = self.scaler_.transform(out)
            parts.append(out)
        if self.categorical_:
            cats = _categorical_values(frame, self.categorical_, when="transform")
            dummies = self.encoder_.transform(cats)
            unknown = {
                col: int((~np.isin(cats[:, j], self.encoder_.categories_[j])).sum())
                for j, col in enumerate(self.categorical_)
            }
            unknown = {c: k for c, k in unknown.items() if k}
            if unknown:
                warnings.warn(
                    f"levels not seen in fit (column: rows) {unknown}; those customers get no "
                    "level in that column (all its dummies 0). Refit on data that has the "
                    "levels, or map them to a known level",
                    UserWarning,
                    stacklevel=2,
                )
            parts.append(dummies * self._dummy_scale)
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: numeric columns, then ``<column>_<level>`` dummies."""
        check_is_fitted(self, "report_")
        names = list(self.numeric_)
        if self.encoder_ is not None:
            names += list(self.encoder_.get_feature_names_out(self.categorical_))
        return np.asarray(names, dtype=object)


# ---------------------------------------------------------------------------
# checks and distances
# ---------------------------------------------------------------------------


def correlation_check(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    threshold: float = 0.9,
    method: str = "pearson",
) -> pd.DataFrame:
    """Find near-duplicate basis variables (pairs with ``|r| >= threshold``).

    Two variables that measure the same thing give that behaviour double
    weight in a distance-based segmentation. Run this on the basis variables
    (ideally after :class:`BasisPreprocessor`, or with ``method="spearman"``
    on raw, skewed spend columns, where a few big customers can dominate a
    Pearson correlation).

    Parameters
    ----------
    df : pandas.DataFrame
        Customer table.
    columns : list of str, optional
        Numeric columns to check (default: all numeric columns).
    threshold : float
        Absolute correlation from which a pair is reported.
    method : {"pearson", "spearman"}
        Correlation coefficient.

    Returns
    -------
    pandas.DataFrame
        Columns ``var_1``, ``var_2``, ``r`` and ``warning`` (a plain-language
        sentence), sorted by ``|r|`` descending; empty when no pair qualifies.

    Examples
    --------
    >>> correlation_check(customers, ["monetary", "frequency", "avg_order_value"])  # doctest: +SKIP
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method={method!r}; choose 'pearson' or 'spearman'")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold!r} must be in (0, 1]")
    cols = (
        list(columns)
        if columns is not None
        else [c for c in df.columns if is_numeric_dtype(df[c]) and not is_bool_dtype(df[c])]
    )
    BasisPreprocessor._check_present(df, cols, when="correlation_check")
    values = _numeric_values(df, cols, when="correlation_check")
    corr = pd.DataFrame(values, columns=cols).corr(method=method).to_numpy()
    rows = []
    for i in range(len(cols)):
        for j in range(i + 1, len(cols)):
            r = corr[i, j]
            if np.isfinite(r) and abs(r) >= threshold:
                direction = "move together" if r > 0 else "are mirror images"
                rows.append(
                    {
                        "var_1": cols[i],
                        "var_2": cols[j],
                        "r": float(r),
                        "warning": (
                            f"`{cols[i]}` and `{cols[j]}` {direction} (r = {r:.2f}): they "
                            "measure nearly the same behaviour, so keeping both gives it double "
                            "weight in the segmentation. Keep the one that is easier to explain, "
                            "or combine them (an average or a factor score)."
                        ),
                    }
                )
    out = pd.DataFrame(rows, columns=["var_1", "var_2", "r", "warning"])
    return out.reindex(out["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def gower_distances(
    df: pd.DataFrame,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    sample: int | None = None,
    max_rows: int = 5_000,
    random_state: int | np.random.RandomState | None = None,
) -> pd.DataFrame:
    """Gower distances between customers described by mixed numeric and categorical data.

    For each pair, each numeric variable contributes ``|x_i - x_j| / range``
    and each categorical variable 0 (same level) or 1 (different); the
    distance is the mean over the variables observed for both customers
    (missing values are skipped pairwise, as in R's ``cluster::daisy``).
    A constant numeric variable contributes 0. Distances lie in [0, 1].

    The full matrix costs O(n^2) time and memory, so it is meant for small
    samples: profiling, or ``sklearn.cluster.HDBSCAN(metric="precomputed")``
    / ``AgglomerativeClustering(metric="precomputed", linkage="average")``
    on a sample.

    Parameters
    ----------
    df : pandas.DataFrame
        Customer table.
    numeric, categorical : list of str
        Variables to compare.
    sample : int, optional
        Compute the distances for a random sample of this many customers.
    max_rows : int
        Refuse (with the memory it would need) above this many rows.
    random_state : int, RandomState or None
        Seed of the sample.

    Returns
    -------
    pandas.DataFrame
        Square matrix indexed (rows and columns) by the customers' index.
    """
    numeric, categorical = list(numeric), list(categorical)
    if not numeric and not categorical:
        raise ValueError("gower_distances needs numeric=[...] and/or categorical=[...]")
    BasisPreprocessor._check_present(df, numeric + categorical, when="gower_distances")
    if sample is not None and sample < len(df):
        rng = check_random_state(random_state)
        idx = np.sort(rng.choice(len(df), size=int(sample), replace=False))
        df = df.iloc[idx]
    n = len(df)
    if n > max_rows:
        gb = n * n * 8 / 1e9
        raise InputDataError(
            f"Gower distances for {_n(n)} customers need a {_n(n)} x {_n(n)} matrix "
            f"({gb:,.1f} GB of float64, plus working copies); the limit is max_rows="
            f"{_n(max_rows)}. Pass sample={_n(max_rows)} (or fewer) to use a random sample, "
            "raise max_rows if you have the memory, or segment with k-means on "
            "BasisPreprocessor output instead"
        )
    total = np.zeros((n, n))
    counted = np.zeros((n, n))
    for col in numeric:
        s = df[col]
        if not (is_numeric_dtype(s) or is_bool_dtype(s)):
            raise InputDataError(
                f"numeric column `{col}` has dtype {s.dtype}; convert it with pd.to_numeric "
                "or pass it in categorical=[...]"
            )
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(x)
        rng_ = np.nanmax(x) - np.nanmin(x) if ok.any() else 0.0
        both = np.logical_and.outer(ok, ok)
        if rng_ > 0:
            d = np.abs(np.subtract.outer(x, x)) / rng_
            d[~both] = 0.0
            total += d
        counted += both
    for col in categorical:
        s = df[col]
        ok = s.notna().to_numpy()
        codes = pd.factorize(s)[0]
        both = np.logical_and.outer(ok, ok)
        total += (np.not_equal.outer(codes, codes) & both).astype(np.float64)
        counted += both
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = total / counted
    if np.isnan(dist).any():
        raise InputDataError(
            f"{_n(int(np.isnan(dist).sum()) // 2)} pairs of customers share no observed "
            "variable, so their Gower distance is undefined; impute or drop customers with "
            "mostly missing values"
        )
    return pd.DataFrame(dist, index=df.index, columns=df.index)
