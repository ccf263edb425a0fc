"""RFM: tie-aware scores, cut points, the segment map's coverage, assignment and plots."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError, InputDataError
from seglab.rfm import (
    RFM_SEGMENTS,
    SEGMENT_DESCRIPTIONS,
    RFMScores,
    assign_rfm_segments,
    plot_rfm_grid,
    plot_segment_bars,
    rfm_scores,
    segment_summary,
    validate_segment_map,
)


@pytest.fixture
def table() -> pd.DataFrame:
    """A customer table whose frequency is mostly 1 (as in real retail data), plus prospects."""
    rng = np.random.default_rng(42)
    n = 2000
    freq = np.where(rng.random(n) < 0.62, 1, rng.geometric(0.35, n) + 1)
    t = pd.DataFrame(
        {
            "recency_days": rng.integers(1, 400, n).astype("float64"),
            "frequency": freq,
            "monetary": np.round(rng.gamma(1.5, 120, n) * freq, 2),
        },
        index=pd.Index([f"C{i:05d}" for i in range(n)], name="customer_id"),
    )
    prospects = pd.DataFrame(
        {"recency_days": [np.nan] * 3, "frequency": [0] * 3, "monetary": [0.0] * 3},
        index=pd.Index(["P1", "P2", "P3"], name="customer_id"),
    )
    return pd.concat([t, prospects])


def test_identical_values_get_identical_scores(table):
    res = rfm_scores(table, bins=5)
    s = res.scores
    for col, letter in (("recency_days", "R"), ("frequency", "F"), ("monetary", "M")):
        assert s.groupby(col)[letter].nunique().max() == 1, letter
        assert s[letter].between(1, 5).all()
    # monotone: a better value never gets a lower score
    by_f = s.groupby("frequency")["F"].first().sort_index()
    assert by_f.is_monotonic_increasing
    by_r = s.groupby("recency_days")["R"].first().sort_index()
    assert by_r.is_monotonic_decreasing
    # all one-order customers share the lowest frequency score
    assert (s.loc[s["frequency"] == 1, "F"] == 1).all()


def test_report_shows_edges_counts_and_merged_bins(table):
    res = rfm_scores(table, bins=5)
    rep = res.report.set_index(["metric", "score"])
    assert len(res.report) == 15
    assert (res.report.groupby("metric")["n_customers"].sum() == len(res.scores)).all()
    f = rep.loc["frequency"]
    # 62% one-time buyers span quintiles 1-3: scores 2 and 3 stay empty and say why
    assert f.loc[1, "n_customers"] == (res.scores["frequency"] == 1).sum()
    assert f.loc[2, "empty"] and f.loc[3, "empty"]
    assert "merged into score 1" in f.loc[2, "note"]
    assert f.loc[1, "min_value"] == 1 and f.loc[1, "max_value"] == 1
    # edges are the actual value ranges, increasing from score to score
    m = rep.loc["monetary"]
    assert (m["max_value"].to_numpy()[:-1] < m["min_value"].to_numpy()[1:]).all()
    r = rep.loc["recency_days"]
    assert (r["min_value"].to_numpy()[:-1] > r["max_value"].to_numpy()[1:]).all()


def test_no_ties_gives_equal_bins():
    t = pd.DataFrame(
        {
            "recency_days": np.arange(1.0, 101.0),
            "frequency": np.arange(1, 101),
            "monetary": np.arange(100.0),
        }
    )
    res = rfm_scores(t, bins=4)
    for letter in "RFM":
        assert res.scores[letter].value_counts().tolist() == [25, 25, 25, 25]
    assert res.scores.loc[0, "R"] == 4 and res.scores.loc[99, "R"] == 1  # recent = high


def test_prospects_are_excluded(table):
    res = rfm_scores(table)
    assert list(res.excluded) == ["P1", "P2", "P3"]
    assert not res.scores.index.isin(["P1", "P2", "P3"]).any()


def test_cut_points():
    t = pd.DataFrame(
        {
            "recency_days": [10.0, 30.0, 31.0, 400.0],
            "frequency": [1, 2, 4, 12],
            "monetary": [50.0, 100.0, 100.01, 5000.0],
        }
    )
    cuts = {
        "recency": [30, 90, 180, 365],
        "frequency": [1, 2, 4, 9],
        "monetary": [100, 250, 500, 1000],
    }
    res = rfm_scores(t, bins=5, method="cuts", cuts=cuts)
    assert res.scores["R"].tolist() == [5, 5, 4, 1]
    assert res.scores["F"].tolist() == [1, 2, 3, 5]
    assert res.scores["M"].tolist() == [1, 1, 2, 5]
    assert res.scores["RFM"].tolist() == ["511", "521", "432", "155"]
    with pytest.raises(InputDataError, match="4 strictly increasing"):
        rfm_scores(t, bins=5, method="cuts", cuts={**cuts, "frequency": [1, 2, 3]})
    with pytest.raises(InputDataError, match="no entry for 'monetary'"):
        rfm_scores(
            t, bins=5, method="cuts", cuts={"recency": [1, 2, 3, 4], "frequency": [1, 2, 3, 4]}
        )


def _matching_segments(rules: dict, r: int, f: int, m: int) -> set[str]:
    """Independent re-implementation of the rule semantics, for the coverage test."""
    code = {"R": r, "F": f, "M": m, "FM": (f + m + 1) // 2}
    hits = set()
    for name, conds in rules.items():
        for cond in conds:
            ok = True
            for dim, rng in cond.items():
                lo, hi = (rng, rng) if isinstance(rng, int) else rng
                ok &= lo <= code[dim] <= hi
            if ok:
                hits.add(name)
    return hits


@pytest.mark.parametrize("bins", [3, 4, 5])
def test_default_map_covers_every_combination_exactly_once(bins):
    rules = RFM_SEGMENTS[bins]
    for r, f, m in itertools.product(range(1, bins + 1), repeat=3):
        hits = _matching_segments(rules, r, f, m)
        assert len(hits) == 1, (bins, r, f, m, hits)
    validate_segment_map(None, bins)  # and the library agrees
    assert set(rules) <= set(SEGMENT_DESCRIPTIONS)


def test_every_combination_gets_a_segment_through_assign():
    for bins in (3, 4, 5):
        combos = pd.DataFrame(
            list(itertools.product(range(1, bins + 1), repeat=3)), columns=list("RFM")
        )
        seg = assign_rfm_segments(combos, bins=bins).segments
        assert seg.notna().all() and len(seg) == bins**3


def test_user_map_errors_list_uncovered_and_overlapping_codes():
    bad = {
        "Top": [{"R": (4, 5), "F": (4, 5)}],
        "Rest": [{"R": (1, 4), "F": (1, 4)}],
    }
    with pytest.raises(ConfigError) as err:
        validate_segment_map(bad, 5)
    msg = str(err.value)
    assert "match no segment" in msg and "R=5 F=3 M=1" in msg
    assert "more than one segment" in msg and "R=4 F=4 M=1 (Top, Rest)" in msg
    assert "R=3 F=2 M=1" not in msg  # a combination covered once is not listed
    with pytest.raises(ConfigError, match="outside 1..5"):
        validate_segment_map({"All": [{"R": (1, 6)}]}, 5)
    with pytest.raises(ConfigError, match="unknown score"):
        validate_segment_map({"All": [{"X": 1}]}, 5)
    with pytest.raises(ConfigError, match="no default segment map for bins=6"):
        validate_segment_map(None, 6)


def test_user_map_that_is_a_partition_is_used(table):
    simple = {"Active": [{"R": (3, 5)}], "Asleep": [{"R": (1, 2)}]}
    res = rfm_scores(table)
    seg = assign_rfm_segments(res, simple).segments
    assert list(seg.cat.categories) == ["Active", "Asleep"]
    assert seg.eq("Active").equals(res.scores["R"] >= 3)


def test_assign_segments_and_small_segment_warnings(table):
    res = rfm_scores(table)
    out = assign_rfm_segments(res, min_share=0.05)
    assert out.segments.notna().all()
    assert out.segments.index.equals(res.scores.index)
    counts = out.segments.value_counts()
    small = [name for name, n in counts.items() if n / len(out.segments) < 0.05]
    assert small, "the fixture should have small segments"
    for name in small:
        assert any(f"'{name}'" in w for w in out.warnings)
    assert len(out.warnings) == len(small)
    assert assign_rfm_segments(res).warnings == []
    with pytest.raises(InputDataError, match="bins="):
        assign_rfm_segments(res.scores)


def test_segment_summary_shares(table):
    res = rfm_scores(table)
    seg = assign_rfm_segments(res).segments
    summary = segment_summary(seg, res.scores["monetary"])
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    champions = summary.loc["Champions"]
    assert champions["value_index"] > 100  # champions are worth more than average


def test_segment_summary_aligns_monetary_by_customer():
    """A monetary column of the whole table (more customers, another order) is matched by id."""
    ids = pd.Index([f"c{i}" for i in range(8)], dtype="string", name="customer_id")
    segments = pd.Series(["A", "B", "A", "B", "A"], index=ids[[6, 1, 3, 0, 4]], name="rfm_segment")
    monetary = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0], index=ids)
    summary = segment_summary(segments, monetary.iloc[::-1])
    # by hand: A = c6, c3, c4 -> 70 + 40 + 50; B = c1, c0 -> 20 + 10
    assert summary.loc["A", "revenue"] == 160.0 and summary.loc["B", "revenue"] == 30.0
    assert summary["n_customers"].tolist() == [3, 2]
    assert summary.loc["A", "revenue_share"] == pytest.approx(160 / 190)


def test_plots_return_axes(table):
    res = rfm_scores(table)
    ax = plot_rfm_grid(res, value="count")
    assert isinstance(ax, plt.Axes)
    assert "customers" in ax.get_title()
    _fig, ax2 = plt.subplots()
    assert plot_rfm_grid(res.scores, value="monetary", ax=ax2, bins=5) is ax2
    seg = assign_rfm_segments(res).segments
    ax3 = plot_segment_bars(seg, res.scores["monetary"])
    assert len(ax3.patches) == 2 * len(seg.cat.categories)
    with pytest.raises(InputDataError):
        plot_rfm_grid(res, value="profit")


def test_input_errors():
    with pytest.raises(InputDataError, match="lacks"):
        rfm_scores(pd.DataFrame({"frequency": [1]}))
    with pytest.raises(InputDataError, match="bins"):
        rfm_scores(
            pd.DataFrame({"recency_days": [1.0], "frequency": [1], "monetary": [1.0]}), bins=1
        )
    assert isinstance(
        rfm_scores(pd.DataFrame({"recency_days": [1.0], "frequency": [1], "monetary": [1.0]})),
        RFMScores,
    )
