"""The whole segmentation on the demo data, through the library: planted truth is recovered."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab import basis, clustering, preprocessing, selection
from seglab.cleaning import clean_transactions
from seglab.config import load_config
from seglab.datasets import make_retail
from seglab.errors import InputDataError
from seglab.features import build_for_config
from seglab.intake import to_customers, to_transactions

from .conftest import REPO


@pytest.fixture(scope="module")
def demo():
    cfg = load_config(REPO / "configs" / "demo-retail.yaml")
    data = make_retail(n_customers=8000, n_lines=160_000, random_state=21)
    tx = clean_transactions(
        to_transactions(data.transactions, cfg.data.transactions), cfg.cleaning, now="2025-07-01"
    ).data
    table = build_for_config(
        tx, to_customers(data.customers, cfg.data.customers), cfg
    ).reset_index()
    population = basis.split_population(table, cfg.clustering.basis)
    prep = preprocessing.BasisPreprocessor(
        numeric=population.numeric, skew=cfg.clustering.skew, winsorize=cfg.clustering.winsorize
    )
    return cfg, data.truth, population, prep.fit_transform(population.clustered)


def fit(cfg, population, X, k):
    model = clustering.Segmenter(
        n_clusters=k, method=cfg.clustering.method, random_state=cfg.random_state
    )
    return model.fit(X, order_by=population.clustered[cfg.clustering.order_by].to_numpy())


@pytest.mark.slow
def test_consensus_picks_the_planted_number_and_recovers_the_segments(demo):
    cfg, truth, population, X = demo
    planted = truth[truth["segment"] != "Prospect"]["segment"].nunique()
    consensus = selection.consensus_k(
        X,
        k_range=range(2, 9),
        make_model=basis.SegmenterFactory(),
        random_state=0,
        sample_size=5000,
        silhouette_sample=4000,
        n_bootstrap=5,
        min_share=cfg.brief.min_segment_share,
    )
    assert consensus.recommended_k == planted == 5
    segments = basis.assignments(
        population, fit(cfg, population, X, consensus.recommended_k).labels_
    )
    ari = basis.ari_vs_truth(segments, truth)
    assert ari >= 0.8, ari
    # prospects are kept, in their own segment, never silently dropped
    # (every planted prospect, plus the few buyers whose lines were all removed by cleaning)
    segment0 = set(segments.loc[segments["segment_id"] == 0, "customer_id"])
    assert set(truth.loc[truth["segment"] == "Prospect", "customer_id"]) <= segment0
    assert segment0 == set(population.excluded["customer_id"])
    assert len(segment0) < 1.05 * (truth["segment"] == "Prospect").sum()
    assert segments["customer_id"].is_unique and len(segments) == len(truth)


def test_same_config_and_seed_give_identical_labels(demo):
    cfg, _, population, X = demo
    a, b = fit(cfg, population, X, 5).labels_, fit(cfg, population, X, 5).labels_
    np.testing.assert_array_equal(a, b)
    # segment 1 is the most valuable one on every run
    means = pd.Series(population.clustered["monetary"].to_numpy()).groupby(a).mean()
    assert means.is_monotonic_decreasing


def test_bad_bases_fail_clearly(demo):
    cfg, _, population, X = demo
    with pytest.raises((InputDataError, ValueError), match="3 customers"):
        fit(cfg, population, X[:3], 5)
    constant = population.clustered.assign(frequency=1.0)
    with pytest.raises(
        (InputDataError, ValueError), match="`frequency`.*constant|constant.*`frequency`"
    ):
        preprocessing.BasisPreprocessor(numeric=population.numeric).fit(constant)
    missing = population.clustered.assign(monetary=np.nan)
    with pytest.raises((InputDataError, ValueError), match="monetary"):
        preprocessing.BasisPreprocessor(numeric=population.numeric).fit(missing)
    with pytest.raises(Exception, match="match no column"):
        basis.split_population(
            population.clustered.assign(is_prospect=False), ["recency_days", "spend_*"]
        )
    assert adjusted_rand_score([0, 0, 1], [1, 1, 0]) == 1.0  # sanity of the metric used above
