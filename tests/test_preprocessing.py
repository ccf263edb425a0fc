"""Tests of seglab.preprocessing: skew handling, winsorising, weighting, errors, checks, Gower."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from seglab.errors import InputDataError
from seglab.preprocessing import (
    BasisPreprocessor,
    _numeric_values,
    _skewness,
    correlation_check,
    gower_distances,
)


@pytest.fixture
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 2_000
    return pd.DataFrame(
        {
            "monetary": rng.lognormal(6, 1.0, n),  # right-skewed, positive
            "score": rng.normal(50, 10, n),  # symmetric
            "net_spend": rng.lognormal(0, 1.0, n) - 1.5,  # right-skewed with negatives
            "share_food": rng.beta(2, 2, n),
            "region": rng.choice(["north", "south", "east"], n, p=[0.6, 0.3, 0.1]),
            "device": rng.choice(["mobile", "desktop"], n, p=[0.5, 0.5]),
            "customer_id": np.arange(n),
        }
    )


NUMERIC = ["monetary", "score", "net_spend", "share_food"]


def test_auto_skew_choices(customers):
    pre = BasisPreprocessor(numeric=NUMERIC).fit(customers)
    assert pre.methods_ == {
        "monetary": "log1p",
        "score": "none",
        "net_spend": "yeo-johnson",
        "share_food": "none",
    }
    rep = pre.report_
    assert rep.loc["monetary", "skew_before"] > 2
    assert abs(rep.loc["monetary", "skew_after"]) < 0.3
    assert abs(rep.loc["net_spend", "skew_after"]) < abs(rep.loc["net_spend", "skew_before"]) / 3
    assert list(rep.index) == NUMERIC
    assert (rep["kind"] == "numeric").all()


def test_forced_and_per_column_skew(customers):
    pre = BasisPreprocessor(numeric=["monetary", "score"], skew="none").fit(customers)
    assert set(pre.methods_.values()) == {"none"}
    pre = BasisPreprocessor(numeric=NUMERIC, skew={"monetary": "yeo-johnson"}).fit(customers)
    assert pre.methods_["monetary"] == "yeo-johnson"
    assert pre.methods_["net_spend"] == "yeo-johnson"  # the others stay "auto"
    assert pre.methods_["score"] == "none"
    with pytest.raises(ValueError, match="choose one of"):
        BasisPreprocessor(numeric=NUMERIC, skew="boxcox").fit(customers)
    with pytest.raises(InputDataError, match="`net_spend`.*values <= -1.*yeo-johnson"):
        BasisPreprocessor(numeric=["net_spend"], skew="log1p").fit(customers)


def test_output_is_standardised_and_winsorising_counts(customers):
    pre = BasisPreprocessor(numeric=NUMERIC, winsorize=(0.05, 0.95))
    Z = pre.fit_transform(customers)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-9)
    n = len(customers)
    rep = pre.report_
    for col in NUMERIC:
        x = customers[col].to_numpy()
        lo, hi = rep.loc[col, ["clip_low", "clip_high"]]
        # bounds are reported in the column's own units, and the counts match them
        expected = int(((x < lo - 1e-9 * abs(lo)) | (x > hi + 1e-9 * abs(hi))).sum())
        assert rep.loc[col, "n_clipped"] == expected
        assert rep.loc[col, "n_clipped"] == pytest.approx(0.10 * n, abs=3)
        assert rep.loc[col, "share_clipped"] == pytest.approx(rep.loc[col, "n_clipped"] / n)
    assert (
        BasisPreprocessor(numeric=NUMERIC, winsorize=None).fit(customers).report_["n_clipped"].sum()
        == 0
    )


def test_winsorising_skipped_when_it_would_make_a_column_constant():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=1000), "rare": np.r_[np.zeros(995), rng.random(5) + 1]})
    pre = BasisPreprocessor(numeric=["x", "rare"]).fit(df)
    assert pre.report_.loc["rare", "n_clipped"] == 0
    assert "winsorising skipped" in pre.report_.loc["rare", "note"]
    assert pre.transform(df)[:, 1].std() > 0


def test_categorical_weight_scheme(customers):
    for weight in (1.0, 0.5):
        pre = BasisPreprocessor(
            numeric=NUMERIC, categorical=["region", "device"], categorical_weight=weight
        )
        Z = pd.DataFrame(pre.fit_transform(customers), columns=pre.get_feature_names_out())
        var = Z.var(ddof=0)
        # each numeric column has variance 1; all dummies of one categorical column together
        # have variance categorical_weight, whatever the number and balance of its levels
        np.testing.assert_allclose(var[NUMERIC], 1.0)
        assert var.filter(like="region_").sum() == pytest.approx(weight)
        assert var.filter(like="device_").sum() == pytest.approx(weight)
        shares = customers["region"].value_counts(normalize=True)
        factor = np.sqrt(weight / (1 - (shares**2).sum()))
        assert pre.dummy_scale_["region"] == pytest.approx(factor)
        assert set(np.unique(Z["region_north"].round(12))) == {0.0, round(factor, 12)}
    rep = pre.report_
    assert rep.loc["region", "kind"] == "categorical"
    assert rep.loc["region", "n_levels"] == 3
    assert list(pre.get_feature_names_out()) == [
        *NUMERIC,
        "region_east",
        "region_north",
        "region_south",
        "device_desktop",
        "device_mobile",
    ]


def test_inferred_columns_and_pandas_output(customers):
    df = customers.drop(columns="customer_id")
    pre = BasisPreprocessor().fit(df)
    assert pre.numeric_ == NUMERIC
    assert pre.categorical_ == ["region", "device"]
    out = pre.set_output(transform="pandas").transform(df.iloc[10:20])
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(range(10, 20))


def test_transform_reuses_fitted_parameters(customers):
    pre = BasisPreprocessor(numeric=NUMERIC, categorical=["region"]).fit(customers)
    Z_all = pre.transform(customers)
    new = customers.iloc[:50].copy()
    new["monetary"] *= 100  # new customers far outside the training range
    Z_new = pre.transform(new)
    # unchanged rows transform exactly as in the training data
    np.testing.assert_allclose(Z_new[:, 1:], Z_all[:50, 1:])
    # the big spenders hit the fitted upper clip bound instead of being rescaled
    top = pre.scaler_.transform(pre.clip_bounds_["high"].to_numpy()[None, :])[0, 0]
    assert Z_new[:, 0].max() == pytest.approx(top)
    assert pre.report_.loc["monetary", "n_clipped"] > 0
    # a single new customer works too, and column order / extra columns do not matter
    one = customers.iloc[[7]][["region", *NUMERIC[::-1], "customer_id"]]
    np.testing.assert_allclose(pre.transform(one), Z_all[[7]])


def test_unknown_level_warns_and_is_all_zero(customers):
    pre = BasisPreprocessor(numeric=["score"], categorical=["region"]).fit(customers)
    new = customers.iloc[:3].copy()
    new["region"] = ["north", "west", "west"]
    with pytest.warns(UserWarning, match=r"not seen in fit.*'region': 2"):
        Z = pre.transform(new)
    assert (Z[1:, 1:] == 0).all()


def test_get_params_roundtrip():
    pre = BasisPreprocessor(
        numeric=["a"], categorical=["b"], skew={"a": "log1p"}, winsorize=None, scale="robust"
    )
    params = pre.get_params()
    assert params["skew"] == {"a": "log1p"}
    assert params["winsorize"] is None
    assert BasisPreprocessor(**params).get_params() == params
    assert clone(pre).get_params() == params


def test_robust_scaling(customers):
    pre = BasisPreprocessor(numeric=NUMERIC, scale="robust", winsorize=None)
    Z = pre.fit_transform(customers)
    np.testing.assert_allclose(np.median(Z, axis=0), 0, atol=1e-9)


# -- errors ------------------------------------------------------------------


def test_missing_column_at_transform(customers):
    pre = BasisPreprocessor(numeric=NUMERIC).fit(customers)
    with pytest.raises(InputDataError, match=r"`share_food` not found.*at transform.*2,000 rows"):
        pre.transform(customers.drop(columns="share_food"))
    with pytest.raises(InputDataError, match=r"`nope` not found.*at fit"):
        BasisPreprocessor(numeric=["nope"]).fit(customers)


def test_constant_column(customers):
    df = customers.assign(flat=3.0)
    with pytest.raises(InputDataError, match=r"`flat` \(always 3\).*constant.*2,000.*drop"):
        BasisPreprocessor(numeric=["score", "flat"]).fit(df)
    df = customers.assign(country="PT")
    with pytest.raises(InputDataError, match=r"`country`.*constant"):
        BasisPreprocessor(numeric=["score"], categorical=["country"]).fit(df)


def test_all_missing_and_nan_columns(customers):
    df = customers.assign(empty=np.nan)
    with pytest.raises(InputDataError, match=r"`empty`.*entirely missing.*2,000"):
        BasisPreprocessor(numeric=["score", "empty"]).fit(df)
    df = customers.copy()
    df.loc[:11, "monetary"] = np.nan
    with pytest.raises(InputDataError, match=r"NaN.*at fit.*2,000 rows: `monetary` 12.*[Ii]mpute"):
        BasisPreprocessor(numeric=NUMERIC).fit(df)
    pre = BasisPreprocessor(numeric=NUMERIC).fit(customers)
    with pytest.raises(InputDataError, match=r"at transform.*`monetary` 12.*drop"):
        pre.transform(df)
    df = customers.copy()
    df.loc[:4, "region"] = None
    with pytest.raises(InputDataError, match=r"categorical.*`region` 5.*fillna"):
        BasisPreprocessor(numeric=["score"], categorical=["region"]).fit(df)


def test_non_numeric_values(customers):
    df = customers.astype({"score": object})
    df.loc[[3, 8], "score"] = "n/a"
    with pytest.raises(InputDataError, match=r"`score` has 2 non-numeric values \(e.g. 'n/a'\)"):
        BasisPreprocessor(numeric=["score"]).fit(df)
    # numbers stored as text are fine
    ok = customers.assign(score=customers["score"].astype(str))
    BasisPreprocessor(numeric=["score"]).fit(ok)


def test_infinite_values(customers):
    df = customers.copy()
    df.loc[0, "score"] = np.inf
    with pytest.raises(InputDataError, match=r"inf.*`score` 1"):
        BasisPreprocessor(numeric=["score"]).fit(df)


def test_bad_parameters(customers):
    with pytest.raises(ValueError, match="winsorize"):
        BasisPreprocessor(numeric=["score"], winsorize=(0.9, 0.1)).fit(customers)
    with pytest.raises(ValueError, match="scale"):
        BasisPreprocessor(numeric=["score"], scale="minmax").fit(customers)
    with pytest.raises(ValueError, match="numeric and categorical"):
        BasisPreprocessor(numeric=["score"], categorical=["score"]).fit(customers)


# -- the fast paths give the plain computation's numbers, bit for bit ------------


def _awkward(n: int = 5_000, seed: int = 3) -> pd.DataFrame:
    """Heavy skew, a large mean against a small spread, ties, a zero-heavy share, ints."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "monetary": rng.lognormal(3, 2.0, n),  # skewness in the hundreds
            "recency": 1e6 + rng.gamma(2.0, 3.0, n),  # one-pass moments would cancel here
            "net": rng.lognormal(0, 1.0, n) - 1.5,  # negatives: Yeo-Johnson
            "left": -rng.lognormal(0, 1.0, n),  # left skew
            "share": np.where(rng.random(n) < 0.995, 0.0, rng.random(n)),  # no winsorising
            "orders": rng.poisson(2.0, n) + 1,  # int64, many ties
            "region": rng.choice(["north", "south", "east"], n, p=[0.7, 0.2, 0.1]),
        }
    )


def test_skewness_matches_scipy():
    df = _awkward()
    for col in ["monetary", "recency", "net", "left", "share", "orders"]:
        x = df[col].to_numpy(dtype=np.float64)
        assert _skewness(x) == pytest.approx(stats.skew(x), rel=1e-9, abs=1e-12), col
    # a strided column view (a row-major matrix) gives the same bits as a contiguous one
    m = np.ascontiguousarray(df[["monetary", "recency", "net"]].to_numpy())
    assert not m[:, 1].flags.c_contiguous
    for j in range(3):
        assert _skewness(m[:, j]) == _skewness(np.ascontiguousarray(m[:, j]))
    # constant and too-short columns have no skew (scipy says nan or 0)
    assert _skewness(np.full(1_000, 7.5)) == 0.0
    assert _skewness(np.full(1_000, -1e9)) == 0.0
    assert _skewness(np.array([1.0, 5.0])) == 0.0


def _reference_transform(pre: BasisPreprocessor, df: pd.DataFrame) -> np.ndarray:
    """The plain computation on a row-major matrix: fitted methods, np.quantile, clip, scaler.

    Row-major as in the original implementation: the scaler's column sums (and so its
    ``scale_`` in the last bits) depend on the memory order of the matrix it is fitted on.
    """
    numeric = pre.numeric_
    values = np.ascontiguousarray(df[numeric].to_numpy(dtype=np.float64))  # strided columns
    out = np.empty(values.shape)
    lo_q, hi_q = pre.winsorize if pre.winsorize is not None else (None, None)
    for j, col in enumerate(numeric):
        x = values[:, j]
        method = pre.methods_[col]
        if method == "none":
            t = x.copy()
        elif method == "log1p":
            t = np.log1p(x)
        else:
            sd, pt = pre._power[col]
            t = pt.transform((x / sd).reshape(-1, 1)).ravel()
        if lo_q is not None:
            lo, hi = np.quantile(t, [lo_q, hi_q])
            if hi > lo:
                assert pre.report_.loc[col, "n_clipped"] == int(((t < lo) | (t > hi)).sum())
                assert list(pre.clip_bounds_.loc[col]) == [lo, hi]
                t = np.clip(t, lo, hi)
            else:
                assert pre.clip_bounds_.loc[col].isna().all()
        # a column Yeo-Johnson squashed to (almost) one value has no skew, by definition
        flat = t.var() <= 1e-24 * max(1.0, np.abs(t).max() ** 2)
        expected = 0.0 if flat else stats.skew(t)
        assert pre.report_.loc[col, "skew_after"] == pytest.approx(expected, rel=1e-9), col
        out[:, j] = t
    if pre.scale == "standard":
        reference_scaler = StandardScaler().fit(out)
        np.testing.assert_array_equal(reference_scaler.scale_, pre.scaler_.scale_)
        out = reference_scaler.transform(out)
    elif pre.scale == "robust":
        out = pre.scaler_.transform(out)
    if pre.categorical_:
        cats = df[pre.categorical_].astype(str).to_numpy(dtype=object)
        out = np.hstack([out, pre.encoder_.transform(cats) * pre._dummy_scale])
    return out


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"categorical": ["region"]},
        {"winsorize": None, "scale": "robust"},
        {"scale": "none", "winsorize": (0.05, 0.9)},
        {"skew": "yeo-johnson"},
    ],
)
def test_fit_transform_is_the_plain_computation(params):
    df = _awkward()
    numeric = ["monetary", "recency", "net", "left", "share", "orders"]
    pre = BasisPreprocessor(numeric=numeric, **params)
    Z = pre.fit_transform(df)
    assert Z.flags.c_contiguous and Z.dtype == np.float64
    np.testing.assert_array_equal(Z, _reference_transform(pre, df))
    np.testing.assert_array_equal(Z, pre.transform(df))
    # fit() alone learns the same state as fit_transform()
    alone = BasisPreprocessor(numeric=numeric, **params).fit(df)
    pd.testing.assert_frame_equal(alone.report_, pre.report_, check_exact=True)
    pd.testing.assert_frame_equal(alone.clip_bounds_, pre.clip_bounds_, check_exact=True)
    assert alone.methods_ == pre.methods_
    assert alone.dummy_scale_ == pre.dummy_scale_
    for col in numeric:
        x = df[col].to_numpy(dtype=np.float64)
        assert pre.report_.loc[col, "skew_before"] == pytest.approx(stats.skew(x), rel=1e-9)
    if not params:
        assert pre.methods_ == {
            "monetary": "log1p",
            "recency": "log1p",
            "net": "yeo-johnson",
            "left": "yeo-johnson",
            "share": "log1p",
            "orders": "none",
        }
        assert "winsorising skipped" in pre.report_.loc["share", "note"]


def test_fit_transform_follows_set_output():
    df = _awkward(n=300).set_index(pd.RangeIndex(1_000, 1_300))
    pre = BasisPreprocessor(numeric=["monetary", "net"], categorical=["region"])
    out = pre.set_output(transform="pandas").fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(df.index)
    assert list(out.columns) == list(pre.get_feature_names_out())
    np.testing.assert_array_equal(out.to_numpy(), pre.transform(df).to_numpy())


def test_numeric_values_counts_missing_and_infinite_like_numpy():
    df = _awkward(n=1_000)
    df.loc[[1, 5, 9], "monetary"] = np.nan
    df.loc[[2], "recency"] = np.inf
    df.loc[[3, 4], "net"] = -np.inf
    cols = ["monetary", "recency", "net", "left"]
    # NaN is reported first, with the counts np.isnan gives on the plain matrix
    with pytest.raises(InputDataError, match=r"1,000 rows: `monetary` 3\. Impute"):
        _numeric_values(df, cols, when="fit")
    df["monetary"] = df["monetary"].fillna(0.0)
    with pytest.raises(InputDataError, match=r"inf.*at fit: `recency` 1, `net` 2;"):
        _numeric_values(df, cols, when="fit")
    ok = _awkward(n=1_000)
    values = _numeric_values(ok, cols, when="fit")
    np.testing.assert_array_equal(values, ok[cols].to_numpy(dtype=np.float64))
    assert values[:, 2].flags.c_contiguous  # columns are contiguous


def test_correlation_check_is_pandas_corr():
    df = _awkward()
    cols = ["monetary", "recency", "net", "left", "share", "orders"]
    df = df.assign(twin=df["left"] * 3 + 0.01 * np.random.default_rng(0).normal(size=len(df)))
    out = correlation_check(df, [*cols, "twin"], threshold=0.5)
    corr = df[[*cols, "twin"]].astype(float).corr()
    assert len(out) > 0
    for a, b, r in zip(out["var_1"], out["var_2"], out["r"], strict=True):
        assert r == corr.loc[a, b]


# -- correlation check and Gower -----------------------------------------------


def test_correlation_check_finds_planted_duplicate(customers):
    rng = np.random.default_rng(1)
    df = customers.assign(
        spend_copy=customers["score"] * 2 + rng.normal(0, 1, len(customers)),  # r ~ 0.99
        mirror=-customers["share_food"] + rng.normal(0, 0.01, len(customers)),
    )
    out = correlation_check(df, ["score", "monetary", "share_food", "spend_copy", "mirror"])
    assert len(out) == 2
    pairs = {frozenset(p) for p in zip(out["var_1"], out["var_2"], strict=True)}
    assert pairs == {frozenset({"score", "spend_copy"}), frozenset({"share_food", "mirror"})}
    assert (out["r"].abs() >= 0.9).all()
    assert out["r"].abs().is_monotonic_decreasing
    assert "double weight" in out.loc[0, "warning"]
    assert correlation_check(customers, NUMERIC).empty


def test_gower_distances_small_example():
    df = pd.DataFrame(
        {"x": [0.0, 5.0, 10.0], "y": [1.0, np.nan, 3.0], "c": ["a", "a", "b"]}, index=[10, 11, 12]
    )
    d = gower_distances(df, numeric=["x", "y"], categorical=["c"])
    assert list(d.index) == [10, 11, 12]
    # pair (10, 11): x 0.5, y skipped (missing), c 0 -> 0.5 / 2
    assert d.loc[10, 11] == pytest.approx(0.25)
    # pair (10, 12): x 1, y 1, c 1 -> 1
    assert d.loc[10, 12] == pytest.approx(1.0)
    np.testing.assert_allclose(d.to_numpy(), d.to_numpy().T)
    assert (np.diag(d) == 0).all()


def test_gower_refuses_large_and_samples(customers):
    with pytest.raises(InputDataError, match=r"2,000 x 2,000 matrix.*max_rows=1,000.*sample="):
        gower_distances(customers, ["score"], ["region"], max_rows=1_000)
    d = gower_distances(customers, ["score"], ["region"], sample=200, random_state=0, max_rows=500)
    assert d.shape == (200, 200)
    assert d.to_numpy().max() <= 1.0


# -- scikit-learn conventions --------------------------------------------------


@parametrize_with_checks([BasisPreprocessor()])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
