"""Tests for seglab.selection: planted segment structure must be found, and its absence reported."""

from __future__ import annotations

import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples

from seglab.errors import InputDataError
from seglab.selection import (
    CRITERIA,
    ConsensusResult,
    bootstrap_stability,
    clusterability,
    consensus_k,
    hopkins,
    plot_criteria,
    plot_projection,
    plot_silhouette,
    plot_stability,
    seed_ari,
    silhouette_values,
    split_half,
    stability_reading,
)
from seglab.selection import _knee as knee

# small settings that keep a consensus run on a few thousand rows around a second
FAST = {"n_bootstrap": 8, "n_gap_refs": 5}


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Four well-separated planted segments, 3000 customers x 5 variables."""
    X, y = make_blobs(
        n_samples=3000,
        n_features=5,
        centers=4,
        cluster_std=1.0,
        center_box=(-10, 10),
        random_state=1,
    )
    return X, y


@pytest.fixture(scope="module")
def uniform() -> np.ndarray:
    """No structure at all: uniform in a 5-D box."""
    return np.random.default_rng(7).uniform(size=(3000, 5))


@pytest.fixture(scope="module")
def tiny_cluster() -> tuple[np.ndarray, np.ndarray]:
    """Four big segments plus a far-away one holding 1% of customers."""
    centers = np.array(
        [[0, 0, 0, 0], [10, 0, 0, 0], [0, 10, 0, 0], [10, 10, 0, 0], [5, 5, 25, 0]], dtype=float
    )
    return make_blobs([743, 743, 742, 742, 30], centers=centers, cluster_std=1.0, random_state=3)


@pytest.fixture(scope="module")
def blob_consensus(blobs) -> ConsensusResult:
    return consensus_k(blobs[0], random_state=0)


# ---------------------------------------------------------------------------
# consensus_k
# ---------------------------------------------------------------------------


def test_consensus_recommends_planted_k(blob_consensus):
    res = blob_consensus
    assert res.recommended_k == 4
    votes = res.votes["k"]
    assert list(votes.index) == list(CRITERIA)
    assert (votes == 4).sum() >= 5, res.votes
    assert votes["gap"] == 4
    assert votes["knee"] == 4
    assert res.reason.startswith("k=4")


def test_consensus_table_shape_and_meaning(blob_consensus):
    t = blob_consensus.table
    assert list(t.index) == list(range(2, 11))
    for col in [
        "inertia",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "gap",
        "gap_se",
        "bic",
        "stability_mean",
        "stability_min",
        "min_share",
        "eligible",
    ]:
        assert col in t.columns
    assert t["inertia"].is_monotonic_decreasing
    assert t["silhouette"].idxmax() == 4
    assert t.loc[4, "stability_min"] >= 0.85
    assert t["min_share"].between(0, 0.5).all()
    assert t["eligible"].all()
    assert set(blob_consensus.votes.columns) >= {"k", "rule", "reason"}


def test_min_share_makes_k_isolating_tiny_cluster_ineligible(tiny_cluster):
    X, _ = tiny_cluster
    strict = consensus_k(X, range(2, 8), random_state=0, min_share=0.05, **FAST)
    assert strict.table.loc[5, "min_share"] == pytest.approx(0.01, abs=0.002)
    assert not strict.table.loc[5, "eligible"]
    assert strict.table.loc[4, "eligible"]
    assert strict.recommended_k == 4
    assert "not eligible" in strict.reason and "5" in strict.reason
    assert (strict.votes["k"] != 5).all()
    # the check is what changes the answer: without it the tiny cluster wins
    loose = consensus_k(X, range(2, 8), random_state=0, min_share=0.0, **FAST)
    assert loose.table["eligible"].all()
    assert loose.recommended_k == 5
    assert "not eligible" not in loose.reason


def test_sampling_is_reported(blobs):
    X, _ = blobs
    res = consensus_k(
        X,
        range(2, 6),
        random_state=0,
        sample_size=1000,
        silhouette_sample=500,
        gap_sample=400,
        stability_sample=400,
        **FAST,
    )
    s = res.sampled
    assert s["n_samples"] == 3000
    assert s["sweep"] == {**s["sweep"], "rows": 1000, "of": 3000, "sampled": True}
    assert s["silhouette"]["rows"] == 500 and s["silhouette"]["sampled"]
    assert s["gap"]["rows"] == 400 and s["gap"]["reference_sets"] == FAST["n_gap_refs"]
    assert s["stability"]["rows"] == 400 and s["stability"]["replicates"] == FAST["n_bootstrap"]
    assert "samples" in res.reason
    assert res.recommended_k == 4
    # segment shares are measured on the sweep sample: multiples of 1/1000
    assert np.allclose((res.table["min_share"] * 1000) % 1, 0, atol=1e-9)


def test_no_sampling_when_data_is_small(blob_consensus):
    assert not any(v["sampled"] for v in blob_consensus.sampled.values() if isinstance(v, dict))
    assert "samples" not in blob_consensus.reason


def test_consensus_is_deterministic(blobs):
    X, _ = blobs
    kw = dict(k_range=range(2, 7), sample_size=2000, silhouette_sample=800, **FAST)
    a = consensus_k(X, random_state=11, **kw)
    b = consensus_k(X, random_state=11, **kw)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.votes, b.votes)
    assert a.reason == b.reason
    c = consensus_k(X, random_state=12, **kw)
    assert not np.allclose(a.table["gap"], c.table["gap"])  # the seed is really used


def test_criteria_subset_skips_expensive_steps(blobs):
    X, _ = blobs
    res = consensus_k(X, range(2, 6), random_state=0, criteria=["silhouette", "knee"])
    assert list(res.votes.index) == ["silhouette", "knee"]
    assert res.table[["gap", "bic", "stability_mean"]].isna().all().all()
    assert "gap" not in res.sampled
    assert res.recommended_k == 4


def test_custom_model_factory_receives_k_and_seed(blobs):
    X, _ = blobs
    calls = []

    def make(k, random_state):
        calls.append((k, random_state))
        return MiniBatchKMeans(n_clusters=k, n_init=3, random_state=random_state)

    res = consensus_k(X, range(3, 6), make_model=make, random_state=0, criteria=["silhouette"])
    assert res.recommended_k == 4
    assert {k for k, _ in calls} == {3, 4, 5}
    assert all(isinstance(rs, int) for _, rs in calls)


def test_consensus_rejects_bad_input(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="unknown criteria"):
        consensus_k(X, criteria=["silhouette", "elbow"])
    with pytest.raises(ValueError, match=">= 2"):
        consensus_k(X, k_range=range(1, 4))
    bad = X.copy()
    bad[[3, 9], 1] = np.nan
    with pytest.raises(InputDataError, match="2 of 3000 rows"):
        consensus_k(bad)


def test_knee_on_a_known_curve():
    ks = np.arange(2, 9, dtype=float)
    assert knee(ks, np.array([100.0, 60, 20, 18, 16, 14, 12])) == 4
    assert knee(ks[:2], np.array([1.0, 0.5])) is None
    assert knee(ks, np.full(7, 3.0)) is None


@pytest.mark.slow
def test_consensus_on_200k_rows_uses_samples_only():
    rng = np.random.default_rng(0)
    X, _ = make_blobs(
        200_000, n_features=6, centers=4, cluster_std=1.5, random_state=rng.integers(1e6)
    )
    tracemalloc.start()
    try:
        res = consensus_k(
            X,
            range(2, 7),
            random_state=0,
            sample_size=5000,
            silhouette_sample=2000,
            gap_sample=1000,
            stability_sample=1000,
            n_bootstrap=4,
            n_gap_refs=3,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.sampled["sweep"] == {**res.sampled["sweep"], "rows": 5000, "of": 200_000}
    assert res.sampled["silhouette"]["rows"] == 2000
    # a 200k x 200k float64 matrix is 320 GB; a 200k x 5000 block 8 GB
    assert peak < 500 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"
    assert res.recommended_k == 4


# ---------------------------------------------------------------------------
# stability and validity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (1.0, "highly stable"),
        (0.85, "highly stable"),
        (0.8499, "stable"),
        (0.75, "stable"),
        (0.7499, "doubtful"),
        (0.6, "doubtful"),
        (0.5999, "unstable"),
        (0.5, "unstable"),
        (0.4999, "dissolved"),
        (0.0, "dissolved"),
        (float("nan"), "not assessed"),
    ],
)
def test_stability_reading_boundaries(value, word):
    assert stability_reading(value) == word


def test_bootstrap_stability_on_blobs_is_highly_stable(blobs):
    X, y = blobs
    res = bootstrap_stability(X, None, 4, n_bootstrap=15, random_state=0)
    t = res.table
    assert len(t) == 4
    assert (t["mean_jaccard"] >= 0.85).all(), t
    assert (t["reading"] == "highly stable").all()
    assert (t["times_dissolved"] == 0).all()
    assert t["size"].sum() == len(X)
    assert res.jaccard.shape == (15, 4)
    assert res.min_jaccard >= 0.85
    assert not res.sampled["base"]["sampled"]


def test_bootstrap_stability_flags_too_many_segments(blobs):
    X, _ = blobs
    res = bootstrap_stability(X, None, 6, n_bootstrap=15, random_state=0)
    assert res.table["mean_jaccard"].min() < 0.75, res.table
    assert set(res.table["reading"]) - {"highly stable", "stable"}
    assert res.table["times_dissolved"].sum() > 0


def test_bootstrap_stability_on_a_sample(blobs):
    X, _ = blobs
    res = bootstrap_stability(X, None, 4, n_bootstrap=5, random_state=0, sample_size=600)
    assert res.sampled["base"] == {**res.sampled["base"], "rows": 600, "of": 3000, "sampled": True}
    assert res.table["size"].sum() == 600
    assert len(res.labels) == 600
    again = bootstrap_stability(X, None, 4, n_bootstrap=5, random_state=0, sample_size=600)
    pd.testing.assert_frame_equal(res.table, again.table)


def test_seed_ari_on_blobs(blobs):
    X, _ = blobs
    mean, matrix = seed_ari(X, None, 4)
    assert mean == pytest.approx(1.0, abs=1e-9)
    assert matrix.shape == (5, 5)
    assert np.allclose(np.diag(matrix), 1)
    assert np.allclose(matrix, matrix.T)


def test_seed_ari_detects_arbitrary_solutions(uniform):
    def one_start(k, random_state):
        return KMeans(n_clusters=k, n_init=1, init="random", random_state=random_state)

    res = seed_ari(uniform, one_start, 8, seeds=range(6))
    assert res.mean < 0.9


def test_split_half(blobs, uniform):
    assert split_half(blobs[0], None, 4, random_state=0) > 0.95
    assert split_half(uniform, None, 4, random_state=0) < 0.5


def test_hopkins_and_clusterability(blobs, uniform):
    h_uniform = hopkins(uniform, random_state=0)
    assert 0.4 < h_uniform < 0.6
    c = clusterability(uniform, random_state=0)
    assert c.hopkins == pytest.approx(h_uniform)
    assert c.reading.startswith("no real group structure")
    assert "arbitrary cuts" in c.reading
    assert c.sample_size == 300  # n // 10 probes
    cb = clusterability(blobs[0], random_state=0)
    assert cb.hopkins > 0.85
    assert cb.reading.startswith("strong group structure")
    assert cb.p_value < 0.01


def test_clusterability_samples_large_data(blobs, uniform):
    """Beyond ``max_rows`` the search runs on a random sample, and still reads the same."""
    small = clusterability(uniform, random_state=0, max_rows=1_000)
    assert small.n_samples == 1_000 < len(uniform)
    assert small.reading.startswith("no real group structure")
    cb = clusterability(blobs[0], random_state=0, max_rows=500)
    assert cb.n_samples == 500
    assert cb.reading.startswith("strong group structure")
    assert clusterability(uniform, random_state=0, max_rows=None).n_samples == len(uniform)


def test_silhouette_values_match_sklearn(blobs):
    X, y = blobs
    X, y = X[:700], y[:700].copy()
    y[0] = 9  # a singleton segment: silhouette 0, as in scikit-learn
    np.testing.assert_allclose(silhouette_values(X, y), silhouette_samples(X, y), atol=1e-8)


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


@pytest.fixture
def no_show(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plot functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", boom)


def test_plot_criteria(blob_consensus, no_show):
    axes = plot_criteria(blob_consensus)
    flat = axes.ravel()
    assert len(flat) == 8
    assert "k=4" in flat[0].figure._suptitle.get_text()
    _, given = plt.subplots(2, 4)
    assert plot_criteria(blob_consensus, axes=given) is not None
    assert blob_consensus.plot().shape == axes.shape


def test_plot_stability(blobs, no_show):
    res = bootstrap_stability(blobs[0], None, 4, n_bootstrap=3, random_state=0)
    ax = plot_stability(res)
    assert len(ax.patches) >= 4
    _, own = plt.subplots()
    assert plot_stability(res, ax=own) is own


def test_plot_silhouette_and_projection_use_a_sample(blobs, no_show):
    X, y = blobs
    ax = plot_silhouette(X, y, sample_size=500, random_state=0)
    assert "500 of 3,000" in ax.get_title()
    ax = plot_projection(X, y, sample_size=400, random_state=0)
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == 400 + 4  # the sample plus one marker per segment centroid
    assert "400 of 3,000" in ax.get_title()
    with pytest.raises(InputDataError, match="labels has 10 entries"):
        plot_projection(X, y[:10])


def test_stability_of_given_labels_is_indexed_by_them():
    X, y = make_blobs(
        n_samples=1500,
        centers=[(0, 0), (10, 0), (0, 10), (10, 10)],
        cluster_std=0.8,
        random_state=5,
    )
    own = y[::-1].copy()  # a labelling unrelated to any fit order
    relabel = np.array([7, 3, 9, 1])[y]
    res = bootstrap_stability(X, None, 4, n_bootstrap=5, random_state=0, labels=relabel)
    assert list(res.table.index) == [1, 3, 7, 9]
    assert res.table["size"].to_dict() == {v: int((relabel == v).sum()) for v in (1, 3, 7, 9)}
    assert (res.table["mean_jaccard"] > 0.85).all()
    with pytest.raises(ValueError, match="labels has 1499 entries"):
        bootstrap_stability(X, None, 4, n_bootstrap=2, labels=own[:-1])
