"""Quality profile: the fast paths give the figures of the plain pandas computations."""

import numpy as np
import pandas as pd
import pytest

from seglab import quality


def _awkward(n=2_000, seed=0, unit="ns"):
    """Missing values of every kind, empty strings, mixed types, a gap month, pre-1970 dates."""
    rng = np.random.default_rng(seed)
    days = rng.choice(np.r_[np.arange(-40, 0), np.arange(60, 400)], n).astype(float)
    days[rng.random(n) < 0.05] = np.nan
    ts = (
        pd.Timestamp("1970-01-01")
        + pd.to_timedelta(days, "D")
        + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    )
    return pd.DataFrame(
        {
            "timestamp": ts.astype(f"datetime64[{unit}]"),
            "order_id": pd.array(rng.choice(["1", "2", "", " 2", None], n), dtype="string"),
            "customer_id": pd.Series(rng.choice(["a", "b", "é", "", None], n), dtype="str"),
            "amount": rng.choice([1.0, 0.0, -0.0, np.nan], n),
            "mixed": pd.Series(rng.choice(4, n)).map({0: 1, 1: "1", 2: None, 3: np.nan}),
            "flag": rng.random(n) < 0.5,
            "count": pd.array(rng.choice([1, 2, None], n), dtype="Int64"),
        }
    )


def _pandas_coverage(df, column="timestamp", freq="MS"):
    """The plain pandas computation the fast monthly path stands in for."""
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


def _assert_same_coverage(got, expected):
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.index.freq == expected.index.freq


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
@pytest.mark.parametrize("seed", [0, 1])
def test_monthly_coverage_equals_pandas_grouper(unit, seed):
    df = _awkward(seed=seed, unit=unit)
    _assert_same_coverage(quality.date_coverage(df), _pandas_coverage(df))
    complete = df.dropna(subset=["timestamp"])  # no missing timestamp: the index keeps its freq
    _assert_same_coverage(quality.date_coverage(complete), _pandas_coverage(complete))


@pytest.mark.parametrize(
    "ids",
    [
        pd.array(["x", None, "y", ""], dtype="string[python]"),
        pd.array(["x", None, "y", ""], dtype="string[pyarrow]"),
        pd.Series(["x", None, 1, "1"], dtype=object),
        pd.Series([1.0, np.nan, -0.0, 0.0]),
        pd.array([1, None, 2, 2], dtype="Int64"),
        pd.Categorical(["x", None, "y", "y"]),
    ],
    ids=["string-python", "string-pyarrow", "object", "float", "Int64", "category"],
)
def test_monthly_coverage_counts_any_id_type_like_pandas(ids):
    ts = pd.to_datetime(["2024-01-05", "2024-01-06", None, "2024-03-01"])
    df = pd.DataFrame({"timestamp": ts, "order_id": ids, "customer_id": ids})
    _assert_same_coverage(quality.date_coverage(df), _pandas_coverage(df))


def test_coverage_other_cases_equal_pandas():
    df = _awkward()
    for frame, kw in [
        (df, {"freq": "W"}),
        (df.drop(columns="order_id"), {}),
        (df.assign(customer_id=df["mixed"]), {}),  # text orders, mixed customer ids
        (df.assign(timestamp=df["timestamp"].dt.tz_localize("UTC")), {}),
        (df.iloc[:0], {}),
        (df.assign(timestamp=pd.NaT), {}),
    ]:
        _assert_same_coverage(quality.date_coverage(frame, **kw), _pandas_coverage(frame, **kw))


def test_coverage_summary_skips_missing_timestamps():
    df = _awkward()
    ts = df["timestamp"].dropna()
    assert quality.coverage_summary(df) == {
        "first": ts.min().isoformat(),
        "last": ts.max().isoformat(),
        "days": int((ts.max() - ts.min()).days),
    }
    empty = {"first": None, "last": None, "days": 0}
    assert quality.coverage_summary(df.assign(timestamp=pd.NaT)) == empty
    assert quality.coverage_summary(df.iloc[:0]) == empty


def test_column_profile_equals_column_by_column_pandas():
    df = _awkward()
    df["all_missing"] = pd.Series([None] * len(df), dtype="string")
    df.loc[:10, "customer_id"] = None  # the example is the first value present
    got = quality.column_profile(df)
    expected = pd.DataFrame(
        [
            {
                "column": col,
                "type": str(df[col].dtype),
                "missing": int(df[col].isna().sum()),
                "missing_share": int(df[col].isna().sum()) / len(df),
                "distinct": int(df[col].nunique(dropna=True)),
                "example": str(df[col].dropna().iloc[0]) if df[col].notna().any() else "",
            }
            for col in df.columns
        ]
    ).set_index("column")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.loc["customer_id", "example"] == df["customer_id"].dropna().iloc[0]
    assert quality.column_profile(df.iloc[:0])["missing_share"].isna().all()


@pytest.mark.parametrize("random_state", [0, 42, np.int64(7)])
def test_plot_distribution_samples_like_series_sample(random_state, monkeypatch):
    """The cached draw picks the rows ``Series.sample`` picks, for every column."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.lognormal(size=5_000), "b": rng.normal(size=5_000)})
    df.loc[::7, "b"] = np.nan  # fewer rows present: another draw
    drawn = []
    fig, ax = plt.subplots()
    monkeypatch.setattr(ax, "hist", lambda data, **kw: drawn.append(data))
    for column in ["a", "b", "a"]:
        quality.plot_distribution(df, column, ax=ax, sample=1_000, random_state=random_state)
        s = df[column].dropna().sample(1_000, random_state=random_state)
        pos = s[s > 0]
        skewed = pos.quantile(0.99) > 20 * max(pos.median(), 1e-12)
        np.testing.assert_array_equal(drawn[-1], np.log10(pos) if skewed else s)
    rs = np.random.RandomState(5)  # a generator object is used as it is, never cached
    quality.plot_distribution(df, "b", ax=ax, sample=1_000, random_state=rs)
    s = df["b"].dropna().sample(1_000, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(drawn[-1], s)
    plt.close(fig)
