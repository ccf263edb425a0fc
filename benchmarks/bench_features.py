"""Benchmark the customer-table build on synthetic Parquet data (1M/10M and 2M/40M lines).

Usage::

    .venv/bin/python benchmarks/bench_features.py            # both sizes
    .venv/bin/python benchmarks/bench_features.py --sizes 1  # 1M customers / 10M lines only
    .venv/bin/python benchmarks/bench_features.py --pandas   # also time the pandas reference
    .venv/bin/python benchmarks/bench_features.py --families category --memory-limit 700MB

Each size is generated with numpy into a Parquet file in a temporary folder
(generation time is reported on its own line and is NOT included in the build
time), then the build runs in a fresh Python process so that its peak memory
(``ru_maxrss``) measures the build alone: imports, the DuckDB query straight
from the Parquet file, and the pandas customer table it returns. Import time
is reported separately from the build time. Each size is built ``--repeat``
times (default 3) and the median is reported against the target.

``--floor`` (on by default) also times, in a fresh process, what no build can
beat on this machine: a bare scan of the columns the build reads, and a bare
``SELECT customer_id, count(*), sum(amount) ... GROUP BY customer_id`` and
``GROUP BY customer_id, order_id`` straight from the Parquet file. The build
needs at least one grouping of every line by customer and one by order, so
their sum is the floor the build time should be compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {1: (1_000_000, 10_000_000), 2: (2_000_000, 40_000_000)}
TARGETS = {1: (2.0, 1024), 2: (6.0, 2048)}  # seconds, MiB


def generate(path: Path, n_customers: int, n_lines: int, seed: int = 0) -> None:
    """Write ``n_lines`` synthetic transaction lines of ``n_customers`` customers to Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    lines_per_order = 3
    n_orders = n_lines // lines_per_order
    # every customer has at least one order; the rest go to customers by a skewed weight
    weight = rng.pareto(1.5, n_customers) + 1.0
    weight /= weight.sum()
    order_cust = np.concatenate(
        [np.arange(n_customers), rng.choice(n_customers, n_orders - n_customers, p=weight)]
    )
    start = np.datetime64("2022-01-01T00:00:00", "s").astype("int64")
    order_ts = start + rng.integers(0, 2 * 365 * 86400, n_orders)
    writer = None
    chunk = 2_500_000  # lines per row group batch, keeps generation memory bounded
    cats = pa.array(["home", "toys", "garden", "books", "food", "sport", "beauty", "tech"])
    chans = pa.array(["web", "store", "app"])
    devs = pa.array(["desktop", "mobile", "tablet"])
    try:
        for lo in range(0, n_lines, chunk):
            hi = min(n_lines, lo + chunk)
            idx = np.arange(lo, hi)
            order = idx // lines_per_order % n_orders
            qty = rng.integers(1, 6, hi - lo).astype("float64")
            is_ret = rng.random(hi - lo) < 0.03
            qty[is_ret] *= -1
            price = np.round(rng.gamma(2.0, 6.0, hi - lo) + 0.5, 2)
            table = pa.table(
                {
                    "customer_id": pc.cast(pa.array(order_cust[order]), pa.string()),
                    "order_id": pc.cast(pa.array(order), pa.string()),
                    "timestamp": pa.array(order_ts[order].astype("datetime64[s]")).cast(
                        pa.timestamp("us")
                    ),
                    "quantity": qty,
                    "unit_price": price,
                    "amount": qty * price,
                    "is_return": is_ret,
                    "category": cats.take(pa.array(rng.integers(0, len(cats), hi - lo))),
                    "channel": chans.take(pa.array(rng.integers(0, len(chans), hi - lo))),
                    "device": devs.take(pa.array(rng.integers(0, len(devs), hi - lo))),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()


FAMILIES = {
    "all": {},
    "category": {"channel_col": None, "device_col": None},
    "none": {"category_col": None, "channel_col": None, "device_col": None},
}


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_build(path: str, engine: str, memory_limit: str | None, families: str = "all") -> dict:
    """Build the customer table once; report times and peak RSS of this process."""
    opts = FAMILIES[families]
    t0 = time.perf_counter()
    if engine == "pandas":
        import pandas as pd

        from seglab.features import build_customer_table_pandas

        t1, c1 = time.perf_counter(), _cpu_seconds()
        table = build_customer_table_pandas(pd.read_parquet(path), **opts)
    else:
        from seglab.features import build_customer_table

        t1, c1 = time.perf_counter(), _cpu_seconds()
        table = build_customer_table(path, memory_limit=memory_limit, **opts)
    t2, c2 = time.perf_counter(), _cpu_seconds()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "engine": engine,
        "import_s": round(t1 - t0, 2),
        "build_s": round(t2 - t1, 2),
        "build_cpu_s": round(c2 - c1, 2),
        "load_1min": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(peak_mib),
        "customers": len(table),
        "orders": int(table["frequency"].sum()),
        "columns": table.shape[1],
    }


FLOOR_QUERIES = {
    "scan": "SELECT max(customer_id), max(order_id), max(timestamp), bool_or(is_return), "
    "sum(amount), max(category), max(channel), max(device) FROM {src}",
    "group_by_customer": "SELECT customer_id, count(*) AS n, sum(amount) AS v FROM {src} "
    "GROUP BY customer_id",
    "group_by_order": "SELECT customer_id, order_id, min(timestamp) AS ts FROM {src} "
    "GROUP BY customer_id, order_id",
}


def run_floor(path: str) -> dict:
    """Time the bare queries of ``FLOOR_QUERIES`` on a 2-thread DuckDB (best of 2 each)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    src = "read_parquet('{}')".format(path.replace("'", "''"))
    out = {}
    for name, sql in FLOOR_QUERIES.items():
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TEMP TABLE floor AS {sql.format(src=src)}")
            times.append(time.perf_counter() - t0)
        out[name] = round(min(times), 2)
    out["load_1min"] = round(os.getloadavg()[0], 1)
    return out


def _child(path: Path, engine: str, memory_limit: str | None, families: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path), "--engine", engine]
    cmd += ["--families", families]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Generate each size, build it in a fresh process, print one line per run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 2], choices=sorted(SIZES))
    ap.add_argument("--pandas", action="store_true", help="also run the pandas reference")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 1GB")
    ap.add_argument("--repeat", type=int, default=3, help="build runs per size (median kept)")
    ap.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the bare-query floor"
    )
    ap.add_argument(
        "--families",
        default="all",
        choices=sorted(FAMILIES),
        help="share columns to build: all (8 categories, 3 channels, 3 devices), category, none",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.engine == "floor":
            print(json.dumps(run_floor(args.child)))
        else:
            print(json.dumps(run_build(args.child, args.engine, args.memory_limit, args.families)))
        return
    with tempfile.TemporaryDirectory(prefix="seglab-bench-") as tmp:
        for size in args.sizes:
            n_cust, n_lines = SIZES[size]
            path = Path(tmp) / f"tx_{size}.parquet"
            t0 = time.perf_counter()
            generate(path, n_cust, n_lines)
            mib = path.stat().st_size / 2**20
            print(
                f"generated {n_cust:,} customers / {n_lines:,} lines in "
                f"{time.perf_counter() - t0:.1f} s ({mib:.0f} MiB Parquet; not in build time)"
            )
            engines = ["duckdb"] + (["pandas"] if args.pandas else [])
            secs, mib_target = TARGETS[size]
            for engine in engines:
                runs = []
                for _ in range(args.repeat):
                    res = _child(path, engine, args.memory_limit, args.families)
                    runs.append(res)
                    path.touch()  # keep the temp file warm in the page cache between runs
                    print(
                        f"  {engine:7s} build {res['build_s']:6.2f} s (CPU {res['build_cpu_s']:.1f} s, "
                        f"load {res['load_1min']})  peak RSS {res['peak_rss_mib']:6,} MiB  "
                        f"(imports {res['import_s']:.2f} s; {res['customers']:,} customers, "
                        f"{res['orders']:,} orders, {res['columns']} columns, shares: "
                        f"{args.families}, memory_limit: {args.memory_limit or 'default'})"
                    )
                build = statistics.median(r["build_s"] for r in runs)
                peak = statistics.median(r["peak_rss_mib"] for r in runs)
                verdict = "within target" if build <= secs and peak <= mib_target else "OVER target"
                if engine == "pandas":
                    verdict = "reference, no target"
                print(
                    f"  {engine:7s} median of {len(runs)}: build {build:.2f} s, peak RSS "
                    f"{peak:,.0f} MiB; target {secs:g} s / {mib_target:,} MiB: {verdict}"
                )
            if args.floor:
                fl = _child(path, "floor", None, args.families)
                print(
                    f"  floor   bare scan {fl['scan']:.2f} s; GROUP BY customer "
                    f"{fl['group_by_customer']:.2f} s; GROUP BY customer, order "
                    f"{fl['group_by_order']:.2f} s; sum of the two groupings "
                    f"{fl['group_by_customer'] + fl['group_by_order']:.2f} s (load {fl['load_1min']})"
                )


if __name__ == "__main__":
    main()
