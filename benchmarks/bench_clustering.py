"""Benchmark BasisPreprocessor + Segmenter(kmeans) on 1M customers x 8 basis variables.

Usage::

    .venv/bin/python benchmarks/bench_clustering.py                  # 1M customers
    .venv/bin/python benchmarks/bench_clustering.py --n 200000 --threads 2

Data: ``n`` customers from 4 planted segments (shares 40/30/20/10 %) with
skewed behavioural columns like a real customer table: recency (exponential),
frequency (Poisson), monetary and average order value (lognormal), tenure
(uniform), two spend shares (beta) and a factor score (normal), in a pandas
DataFrame. Generation is not timed.

Timed steps: ``BasisPreprocessor(numeric=...)`` fit and transform (auto skew
handling, 1 %/99 % winsorising, standard scaling); ``Segmenter(kmeans,
n_clusters=4, fit_sample_size=100_000)`` fit (k-means on the sample, then
every customer assigned to the nearest centre, ordered by monetary value);
and ``predict`` on all customers (the scoring path for new data). Peak memory
is the process peak resident set size (``ru_maxrss``: interpreter, libraries
and data included); the peak of Python-level allocations during the timed
steps is measured with ``tracemalloc`` in a separate, untimed repetition.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from seglab.clustering import Segmenter
from seglab.preprocessing import BasisPreprocessor

BASIS = [
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "share_food",
    "share_home",
    "F1",
]


def generate(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Customer table with 4 planted segments and skewed columns, and the true segment."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    recency_scale = np.array([200.0, 60.0, 20.0, 10.0])[seg]
    freq_mean = np.array([1.5, 4.0, 10.0, 25.0])[seg]
    aov_log = np.array([3.5, 4.0, 4.3, 5.0])[seg]
    food_a = np.array([2.0, 6.0, 2.0, 4.0])[seg]
    home_a = np.array([2.0, 2.0, 6.0, 4.0])[seg]
    frequency = rng.poisson(freq_mean) + 1
    aov = rng.lognormal(aov_log, 0.5)
    df = pd.DataFrame(
        {
            "recency_days": rng.exponential(recency_scale),
            "frequency": frequency.astype(np.float64),
            "monetary": frequency * aov,
            "avg_order_value": aov,
            "tenure_days": rng.uniform(30, 2000, n) + 300 * seg,
            "share_food": rng.beta(food_a, 4.0),
            "share_home": rng.beta(home_a, 4.0),
            "F1": rng.normal(np.array([-1.0, 0.0, 0.5, 1.5])[seg], 1.0),
        }
    )
    return df, seg


def _steps(df: pd.DataFrame, sample: int) -> dict[str, float]:
    times: dict[str, float] = {}
    t = time.perf_counter()
    pre = BasisPreprocessor(numeric=BASIS).fit(df)
    times["preprocess_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    Z = pre.transform(df)
    times["preprocess_transform"] = time.perf_counter() - t
    t = time.perf_counter()
    seg = Segmenter(n_clusters=4, random_state=0, fit_sample_size=sample).fit(
        Z, order_by=df["monetary"].to_numpy()
    )
    times["segmenter_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = seg.predict(Z)
    times["segmenter_predict_all"] = time.perf_counter() - t
    _steps.last = (pre, seg, labels)  # type: ignore[attr-defined]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    parser.add_argument("--no-tracemalloc", action="store_true")
    args = parser.parse_args()

    df, truth = generate(args.n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with threadpool_limits(args.threads):
        times = _steps(df, args.sample)
        pre, seg, labels = _steps.last  # type: ignore[attr-defined]
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        traced = None
        if not args.no_tracemalloc:
            tracemalloc.start()
            _steps(df, args.sample)
            traced = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()

    print(f"customers: {args.n:,} x {len(BASIS)} basis variables; threads={args.threads}")
    print(f"data frame: {df.memory_usage(deep=True).sum() / 1e6:,.0f} MB")
    for name, secs in times.items():
        print(f"{name:>24}: {secs:7.2f} s")
    print(f"{'total':>24}: {sum(times.values()):7.2f} s")
    print(f"peak RSS after generating data: {rss_data:,.0f} MB")
    print(f"peak RSS after timed steps:     {rss_peak:,.0f} MB")
    if traced is not None:
        print(f"tracemalloc peak during the steps: {traced:,.0f} MB")
    print("skew handling:", pre.methods_)
    print("algorithm:", seg.algorithm_, "| sizes:", seg.sizes_.tolist())
    print("ARI vs planted segments:", round(adjusted_rand_score(truth, labels), 3))
    print("predict == labels_:", bool((labels == seg.labels_).all()))
    for note in seg.notes_:
        print(" -", note)


if __name__ == "__main__":
    main()
