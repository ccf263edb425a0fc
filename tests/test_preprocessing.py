"""Tests of seglab.preprocessing: skew handling, winsorising, weighting, errors, checks, Gower."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from seglab.errors import InputDataError
from seglab.preprocessing import BasisPreprocessor, correlation_check, gower_distances


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
