"""Benchmark FactorModel (minres + varimax, 5 factors, regression scores) on 100k and 1M respondents.

Usage::

    .venv/bin/python benchmarks/bench_factors.py              # 100k and 1M respondents
    .venv/bin/python benchmarks/bench_factors.py --sizes 1000000 --repeat 5

Data: ``n`` respondents x 30 items in float64 (what pandas gives for survey
answers), with 5 planted factors (6 items each, loadings 0.5-0.8), held in a
pandas DataFrame. Generation is not timed. Each size runs in a fresh Python
process so that ``ru_maxrss`` (process peak resident memory: interpreter,
libraries and the data included) belongs to that size alone. The extra memory
the model itself needs is measured with ``tracemalloc`` in a separate,
untimed repetition (tracemalloc slows allocation down).

Timed: ``FactorModel(...).fit(df)`` (one blocked pass to get the correlation
matrix, then a fit on the 30 x 30 matrix) and ``transform(df)`` (one matrix
product). Target: under 3 s at 1M respondents.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

N_ITEMS = 30
N_FACTORS = 5
TARGET_SECONDS = {1_000_000: 3.0}


def generate(n: int, seed: int = 0):
    """Respondents x items DataFrame with a planted simple structure (float64)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    per = N_ITEMS // N_FACTORS
    lam = np.zeros((N_ITEMS, N_FACTORS))
    for f in range(N_FACTORS):
        lam[f * per : (f + 1) * per, f] = rng.uniform(0.5, 0.8, per)
    unique_sd = np.sqrt(1.0 - (lam**2).sum(axis=1))
    data = np.empty((n, N_ITEMS))
    block = 100_000  # generate in blocks so generation does not dominate the peak memory
    for start in range(0, n, block):
        rows = min(block, n - start)
        part = rng.standard_normal((rows, N_ITEMS)) * unique_sd
        part += rng.standard_normal((rows, N_FACTORS)) @ lam.T
        data[start : start + rows] = part
    return pd.DataFrame(data, columns=[f"q{j + 1:02d}" for j in range(N_ITEMS)], copy=False)


def run_one(n: int, repeat: int) -> dict:
    """Time and measure one size in this process."""
    import resource
    import tracemalloc

    import numpy as np

    from seglab.factors import FactorModel

    t0 = time.perf_counter()
    df = generate(n)
    gen_s = time.perf_counter() - t0
    data_mib = df.memory_usage(index=False).sum() / 2**20

    FactorModel(n_factors=N_FACTORS).fit(df.iloc[:2000])  # warm-up (imports, BLAS pools)

    fits, scores = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model = FactorModel(n_factors=N_FACTORS, method="minres", rotation="varimax").fit(df)
        t1 = time.perf_counter()
        out = model.transform(df)
        t2 = time.perf_counter()
        fits.append(t1 - t0)
        scores.append(t2 - t1)
        del out

    tracemalloc.start()
    model = FactorModel(n_factors=N_FACTORS).fit(df)
    _, fit_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    out = model.transform(df)
    _, score_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # sanity: the planted items of each factor share one primary factor
    primary = model.loadings_.abs().to_numpy().argmax(axis=1).reshape(N_FACTORS, -1)
    recovered = bool((primary == primary[:, :1]).all() and len(set(primary[:, 0])) == N_FACTORS)

    return {
        "n": n,
        "generate_s": gen_s,
        "data_mib": float(data_mib),
        "fit_s": float(np.median(fits)),
        "transform_s": float(np.median(scores)),
        "total_s": float(np.median(np.add(fits, scores))),
        "fit_peak_extra_mib": fit_peak / 2**20,
        "transform_peak_extra_mib": score_peak / 2**20,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "structure_recovered": recovered,
        "scores_shape": list(out.shape),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_one(args.child, args.repeat)))
        return

    print(f"FactorModel(n_factors={N_FACTORS}, method='minres', rotation='varimax'), ")
    print(f"{N_ITEMS} float64 items, median of {args.repeat} runs; fresh process per size\n")
    header = (
        f"{'respondents':>12} {'fit s':>7} {'scores s':>9} {'total s':>8} "
        f"{'data MiB':>9} {'fit +MiB':>9} {'scores +MiB':>12} {'maxrss MiB':>11}  target"
    )
    print(header)
    for n in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        target = TARGET_SECONDS.get(n)
        verdict = (
            ""
            if target is None
            else ("ok" if r["total_s"] < target else "MISSED") + f" (<{target:g} s)"
        )
        print(
            f"{n:>12,} {r['fit_s']:>7.3f} {r['transform_s']:>9.3f} {r['total_s']:>8.3f} "
            f"{r['data_mib']:>9.0f} {r['fit_peak_extra_mib']:>9.1f} "
            f"{r['transform_peak_extra_mib']:>12.1f} {r['maxrss_mib']:>11.0f}  {verdict}"
        )
        if not r["structure_recovered"]:
            print("  warning: planted structure not recovered")
        print(f"  (data generation, untimed: {r['generate_s']:.2f} s)")


if __name__ == "__main__":
    main()
