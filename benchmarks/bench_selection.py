"""Benchmark choosing k and checking stability on 1M customers, then the final fit on everyone.

Usage::

    .venv/bin/python benchmarks/bench_selection.py                 # 1M customers
    .venv/bin/python benchmarks/bench_selection.py --n 200000 --final-sample 50000

Data: ``n`` customers x 8 standardised basis variables (float64) with 5
planted segments of unequal size (35/25/18/13/9 %), each skewed (log-normal
noise on half the variables, as spend and frequency are); the segment centres
lie along orthogonal random directions, 4.2 units apart before standardising.
Generation is not timed.

Timed, in one process:

1. ``consensus_k(X, range(2, 11))`` with its defaults: every criterion runs on
   samples (sweep 20 000 rows; silhouette 10 000; gap 5 000 rows x 10
   reference sets; stability 5 000 rows x 20 refits per k), never on all rows;
2. ``bootstrap_stability`` at the recommended k: 20 refits on a 20 000-row
   sample;
3. the final segmentation of everyone: ``KMeans(k, n_init=4)`` fitted on a
   100 000-row sample, then ``predict`` on all rows.

Peak memory is the process's ``ru_maxrss`` (interpreter, libraries and the
64 MB data matrix included). Target on the 2-core reference machine: under
30 s and 2 GB for the three steps together.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

N_FEATURES = 8
SHARES = (0.35, 0.25, 0.18, 0.13, 0.09)
TARGET_SECONDS = 30.0
TARGET_MIB = 2048.0


def generate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised customers x 8 matrix with 5 skewed planted segments, and the true segment."""
    rng = np.random.default_rng(seed)
    # centres along orthogonal random directions: every pair 3 * sqrt(2) apart before scaling
    q, _ = np.linalg.qr(rng.standard_normal((N_FEATURES, N_FEATURES)))
    centres = 3.0 * q[: len(SHARES)]
    truth = rng.choice(len(SHARES), size=n, p=SHARES)
    X = centres[truth]
    X[:, :4] += rng.lognormal(0.0, 0.5, size=(n, 4)) - np.exp(0.125)  # skewed, mean 0
    X[:, 4:] += rng.standard_normal((n, N_FEATURES - 4))
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    return X, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="customers")
    parser.add_argument("--final-sample", type=int, default=100_000, help="rows for the final fit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from seglab.selection import bootstrap_stability, consensus_k

    t0 = time.perf_counter()
    X, truth = generate(args.n, args.seed)
    print(f"{args.n:,} customers x {N_FEATURES} variables, 5 planted skewed segments")
    print(
        f"(generation, untimed: {time.perf_counter() - t0:.2f} s; data {X.nbytes / 2**20:.0f} MiB)\n"
    )

    steps: dict[str, float] = {}
    t = time.perf_counter()
    res = consensus_k(X, range(2, 11), random_state=args.seed)
    steps["consensus k=2..10 (on samples)"] = time.perf_counter() - t
    k = res.recommended_k

    t = time.perf_counter()
    stab = bootstrap_stability(
        X, None, k, n_bootstrap=20, random_state=args.seed, sample_size=20_000
    )
    steps[f"20 bootstrap refits at k={k} (20,000-row sample)"] = time.perf_counter() - t

    t = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    fit_rows = rng.choice(args.n, size=min(args.final_sample, args.n), replace=False)
    with threadpool_limits(limits=1):
        model = KMeans(n_clusters=k, n_init=4, random_state=args.seed).fit(X[fit_rows])
    labels = model.predict(X)
    steps[f"final fit ({len(fit_rows):,} rows) + predict all"] = time.perf_counter() - t

    total = sum(steps.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    width = max(map(len, steps))
    for name, secs in steps.items():
        print(f"  {name:<{width}}  {secs:7.2f} s")
    print(
        f"  {'total':<{width}}  {total:7.2f} s   (target < {TARGET_SECONDS:g} s: "
        f"{'ok' if total < TARGET_SECONDS else 'MISSED'})"
    )
    print(
        f"  peak memory (ru_maxrss)  {peak:,.0f} MiB   (target < {TARGET_MIB:,.0f} MiB: "
        f"{'ok' if peak < TARGET_MIB else 'MISSED'})\n"
    )

    print("votes:", ", ".join(f"{c}={v}" for c, v in res.votes["k"].items()))
    print("reason:", res.reason)
    print("sampled:", {key: v["rows"] for key, v in res.sampled.items() if isinstance(v, dict)})
    print(
        f"stability at k={k}:",
        stab.table["reading"].value_counts().to_dict(),
        f"(min mean Jaccard {stab.min_jaccard:.2f})",
    )
    print(
        f"ARI of the final segments with the planted ones: {adjusted_rand_score(truth, labels):.3f}"
    )


if __name__ == "__main__":
    main()
