"""End-to-end scale benchmark: every pipeline stage at 100k/1M and 1M/10M, against what users would otherwise use.

Usage::

    .venv/bin/python benchmarks/run.py                      # 100k/1M and 1M/10M, everything
    .venv/bin/python benchmarks/run.py --sizes 10k          # smoke run (10k customers / 100k lines)
    .venv/bin/python benchmarks/run.py --sizes 1m --no-notebooks --no-peers
    .venv/bin/python benchmarks/run.py --sizes 100k --repeat 3 --json /tmp/bench.json

Sizes: ``10k`` = 10,000 customers / 100,000 lines, ``100k`` = 100k / 1M, ``1m`` = 1M / 10M.

Data. ``seglab.datasets.make_retail(n_customers, n_lines, random_state=42)`` written as
Parquet by ``datasets.write_demo`` into ``<cache>/<size>/data/`` (default cache
``benchmarks/.cache``, git-ignored). A ``stamp.json`` records the settings and
``datasets.GENERATOR_VERSION``; the data is reused while the stamp matches. Generation
runs in its own process and is reported on its own line (seconds, peak MiB), never in
the stage timings.

Config. ``configs/demo-retail.yaml`` with the data paths pointed at the generated files
and ``data.demo`` removed; every other setting as shipped.

Library pipeline ("library" table). The calls notebooks 02-07 make, without notebooks,
plots or hand-off files, in one fresh child process, stage by stage:

- intake: read and map transactions, customers, survey and campaigns (``seglab.intake``);
- cleaning: ``cleaning.clean_transactions`` with the config's rules;
- features: ``features.build_for_config`` (the DuckDB customer table);
- rfm/lifecycle/value: RFM scores and segments, lifecycle stages, value tiers, Pareto
  and forward value, joined into the customer features (notebook 03);
- factors: item screening, KMO, Bartlett, number of factors, ``FactorModel`` fit,
  names, reliability, scores for every customer (notebook 04);
- basis: population split, correlation check, ``BasisPreprocessor``, clusterability;
- consensus k: ``selection.consensus_k`` over ``k_min..min(k_max, brief.max_segments)``;
- final fit: ``clustering.Segmenter`` on every customer (``fit_sample_size`` as configured);
- stability: ``selection.bootstrap_stability``, ``seed_ari`` and ``split_half``;
- profiling: profile, distinguishing features, names, highlights, persona cards;
- evaluation: time split, KPIs, lift, separation, uplift, rules, likelihood to buy,
  scorecard (notebook 07);
- export: saved model, assignments (CSV, Parquet, DuckDB) and the action list.

``seconds`` is wall time (``time.perf_counter``). ``peak MiB`` is the highest resident
set size of the process while the stage ran (a thread reads ``VmRSS`` from
``/proc/self/status`` every 20 ms; the peak is reset when a stage starts), so it
includes the interpreter, libraries and every table still held from earlier stages.
``total`` is the sum of the stage times and the process peak (``ru_maxrss``). ``load``
is the 1-minute load average when the stage ended: other users' jobs slow everything
down, so compare runs only at similar load.

Notebook pipeline ("notebooks" table). ``seglab run --config <temp config> --out <tmp>``
in a child process, with a private project root (``SEGLAB_ROOT``, links to
``configs/`` and ``notebooks/``) so hand-off files do not land in ``data/``. Per-notebook
seconds are parsed from ``seglab run``'s output; ``total`` is the wall time of the
whole command (start-up, HTML export and index included). Its peak is the largest
sum of resident memory over the process tree (``seglab run`` and its kernels),
sampled every 100 ms with ``psutil``; ``ru_maxrss`` of the waited-for children (the
largest single process) is recorded beside it as a check. Every HTML page of the
report must stay under 10 MB.

Peers ("peers" table; see ``benchmarks/peers.py``), each in its own child process with
a time limit (``--peer-timeout``) and a memory limit (``--peer-memory``), on the same
cleaned transactions (read before the clock starts): ``lifetimes``'s
``summary_data_from_transaction_data`` against seglab's ``features`` stage, and a
pandas + scikit-learn RFM tutorial (groupby, log1p + StandardScaler, full k-sweep of
``KMeans(n_init=10)`` with sampled silhouette, final KMeans) against seglab's
``features``, ``basis``, ``consensus k`` and ``final fit``. ``ours/theirs`` is seglab's
time divided by the peer's (below 1: seglab is faster). The adjusted Rand index shows
whether speed costs accuracy: tutorial vs seglab, and each against the planted segments.

Threads. Every child runs inside ``threadpoolctl.threadpool_limits(--threads)``
(default: all cores) for BLAS/OpenMP, so scikit-learn gets the same threads on both
sides; DuckDB uses its default (all cores). The notebook run gets the same limit via
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS``. Children run with
``OMP_WAIT_POLICY=PASSIVE`` (``--omp-wait-policy``): on a shared machine whose load
exceeds its cores, OpenMP threads that spin while waiting make scikit-learn's KMeans
on small samples 20-50x slower (measured: 9,000 x 3 rows, k=5, ``n_init=10``, 2 threads,
load 5 on 2 cores: 3-6 s spinning, 0.16 s passive, 0.08 s with 1 thread).

Targets (1M customers / 10M lines): library pipeline under 30 s; ``seglab run`` under
60 s and 3 GB peak; each HTML page under 10 MB. Each is printed next to its figure with
ok/MISS.

Output: the tables on stdout and one JSON file per size (default
``benchmarks/results/<date>-<size>.json``; ``--json PATH`` for one size, or
``PATH-<size>.json`` for several) with machine, versions, git commit, load averages,
every run's stages, totals, targets and peer ratios. ``--repeat N`` runs the library
and notebook pipelines N times in fresh processes and reports the median time per
stage and the highest peak; peers run once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "demo-retail.yaml"
SIZES = {"10k": (10_000, 100_000), "100k": (100_000, 1_000_000), "1m": (1_000_000, 10_000_000)}
SEED = 42
MIB = 1024 * 1024
HTML_LIMIT_MIB = 10.0
TARGETS = {  # size -> figure -> limit
    "1m": {"library_s": 30.0, "notebooks_s": 60.0, "notebooks_peak_mib": 3072.0},
}
TABLES = ("transactions", "customers", "survey", "campaigns", "truth")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# measuring ---------------------------------------------------------------------------


def rss_kib(pid: str = "self") -> int:
    """Resident set size of a process in KiB, from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """Background thread keeping the highest VmRSS since the last ``reset``.

    With ``limit_mib`` the process exits (code 3) once it holds more than that, so a peer
    that would exhaust the machine's memory is stopped instead.
    """

    def __init__(self, interval: float = 0.02, limit_mib: float | None = None):
        super().__init__(daemon=True)
        self.interval, self.limit_kib = interval, (limit_mib or 0) * 1024
        self.peak = rss_kib()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            rss = rss_kib()
            self.peak = max(self.peak, rss)
            if self.limit_kib and rss > self.limit_kib:
                print(f"memory limit: RSS {rss / 1024:.0f} MiB", file=sys.stderr, flush=True)
                os._exit(3)

    def reset(self) -> None:
        self.peak = rss_kib()

    def peak_mib(self) -> float:
        self.peak = max(self.peak, rss_kib())
        return self.peak / 1024

    def stop(self) -> None:
        self._halt.set()


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def run_stages(stages: list, state: dict, sampler: RssSampler, on_stage=None) -> list[dict]:
    """Run ``(name, function, needs)`` stages in order; a failed stage does not stop the rest.

    A stage whose ``needs`` (state keys) are missing because an earlier stage failed is
    skipped. Returns one record per stage: seconds, peak MiB, load, status, error.
    """
    records = []
    for name, func, needs in stages:
        missing = [k for k in needs if k not in state]
        rec: dict[str, Any] = {"stage": name, "status": "ok"}
        if missing:
            rec.update(
                status="skipped", error=f"needs {', '.join(missing)} (an earlier stage failed)"
            )
        else:
            sampler.reset()
            t0 = time.perf_counter()
            try:
                func(state)
            except Exception:  # report and go on with the stages that do not depend on it
                rec.update(status="failed", error=traceback.format_exc())
                print(f"stage {name} failed:\n{rec['error']}", file=sys.stderr, flush=True)
            rec.update(
                seconds=round(time.perf_counter() - t0, 3), peak_mib=round(sampler.peak_mib(), 1)
            )
        rec["load"] = load1()
        records.append(rec)
        if on_stage:
            on_stage(records)
    return records


# the library pipeline (what notebooks 02-07 call) ------------------------------------


def st_imports(s: dict) -> None:
    """Import what the pipeline uses, so that no later stage pays for a first import."""
    import duckdb  # noqa: F401
    import sklearn.cluster  # noqa: F401

    from seglab import (  # noqa: F401
        basis,
        cleaning,
        clustering,
        evaluation,
        export,
        factors,
        features,
        intake,
        lifecycle,
        preprocessing,
        profiling,
        rfm,
        scoring,
        selection,
        value,
    )


def st_intake(s: dict) -> None:
    from seglab import intake

    cfg, project = s["cfg"], s["project"]
    s["tx"], _ = intake.load_transactions(cfg, project)
    s["customers"], _ = intake.load_customers(cfg, project)
    s["survey"], _ = intake.load_survey(cfg, project)
    s["campaigns"] = intake.load_campaigns(cfg, project)


def st_cleaning(s: dict) -> None:
    from seglab import cleaning, intake
    from seglab.io import write_frame

    cfg = s["cfg"]
    cleaned = cleaning.clean_transactions(s["tx"], cfg.cleaning, now=cfg.reference_date)
    del s["tx"]
    s["facts"]["rows_kept"] = cleaned.rows_kept
    intake.customer_coverage(cleaned.data, s["customers"])
    # notebook 02's hand-off: later stages read the file in the engine, as the notebooks do
    s["tx_path"] = write_frame(cleaned.data, s["out"] / "transactions.parquet")
    s["cu_path"] = write_frame(s["customers"], s["out"] / "customers.parquet")


def st_features(s: dict) -> None:
    from seglab import features

    s["table"] = features.build_for_config(s["tx_path"], s["cu_path"], s["cfg"])


def st_rfm_lifecycle_value(s: dict) -> None:
    from seglab import features, lifecycle, rfm, value

    cfg, table = s["cfg"], s["table"]
    opts = cfg.features
    scores = rfm.rfm_scores(table, bins=opts.rfm_bins, method=opts.rfm_method, cuts=opts.rfm_cuts)
    assignment = rfm.assign_rfm_segments(
        scores, segment_map=opts.rfm_segments, min_share=cfg.brief.min_segment_share
    )
    rfm.segment_summary(assignment.segments, scores.scores["monetary"])
    stages = lifecycle.lifecycle_stages(
        table, thresholds=opts.lifecycle_thresholds, reference_date=cfg.reference_date
    )
    tiers = value.value_tiers(
        table,
        method=opts.value_method,
        abc=opts.abc,
        tiers=opts.value_tiers,
        basis=opts.value_basis,
    )
    value.pareto_summary(table)
    forward = value.forward_value(table, horizon_days=opts.forward_horizon_days)
    s["features"] = features.attach(
        table,
        scores.scores[["R", "F", "M", "RFM"]],
        rfm_segment=assignment.segments,
        lifecycle_stage=stages.stages.astype("string"),
        value_tier=tiers["tier"],
        forward_value=forward.values["forward_value"],
    ).reset_index()


def st_factors(s: dict) -> None:
    from seglab import factors

    cfg = s["cfg"]
    opts, survey = cfg.factors, s["survey"]
    items, _ = factors.screen_items(
        survey,
        reverse=cfg.data.survey.reverse_items,
        scale=opts.scale,
        max_missing_share=opts.max_missing_share,
        max_item_missing_share=opts.max_item_missing_share,
    )
    factors.kmo(items)
    factors.bartlett(items)
    suggestion = factors.suggest_n_factors(
        items, n_iter=opts.n_iter, stop_early=opts.stop_early, random_state=cfg.random_state
    )
    n_factors = opts.n_factors or suggestion.n_factors
    rotation = None if opts.rotation == "none" else opts.rotation
    model = factors.FactorModel(
        n_factors=n_factors, method=opts.method, rotation=rotation, scores=opts.scores
    ).fit(items)
    s["factor_names"] = factors.name_factors(model, names=opts.names).to_dict()
    factors.reliability_table(model, items, threshold=opts.loading_threshold)
    factors.alpha_if_deleted_table(model, items, threshold=opts.loading_threshold)
    ids = s["customers"]["customer_id"]
    s["factor_scores"] = factors.score_table(
        model.transform(items), ids, survey.index
    ).reset_index()
    s["facts"]["n_factors"] = int(n_factors)


def st_basis(s: dict) -> None:
    from seglab import basis, preprocessing, selection

    cfg = s["cfg"]
    opts = cfg.clustering
    population = basis.split_population(s["features"], opts.basis, opts.categorical)
    preprocessing.correlation_check(population.clustered, population.numeric, threshold=0.9)
    prep = preprocessing.BasisPreprocessor(
        numeric=population.numeric,
        categorical=population.categorical,
        skew=opts.skew,
        winsorize=opts.winsorize,
        categorical_weight=opts.categorical_weight,
    )
    s["X"] = prep.fit_transform(population.clustered)
    s["population"], s["prep"] = population, prep
    sample = min(opts.silhouette_sample, len(s["X"]))
    selection.clusterability(s["X"], sample_size=sample, random_state=cfg.random_state)


def st_consensus(s: dict) -> None:
    from seglab import basis, selection

    cfg = s["cfg"]
    opts = cfg.clustering
    s["factory"] = basis.SegmenterFactory(method=opts.method)
    k_max = min(opts.k_max, cfg.brief.max_segments)
    s["consensus"] = selection.consensus_k(
        s["X"],
        k_range=range(opts.k_min, k_max + 1),
        make_model=s["factory"],
        random_state=cfg.random_state,
        sample_size=opts.sample_size,
        silhouette_sample=opts.silhouette_sample,
        n_bootstrap=max(5, opts.n_bootstrap // 4),
        min_share=cfg.brief.min_segment_share,
    )
    s["k"] = opts.k or s["consensus"].recommended_k
    s["facts"]["k"] = int(s["k"])


def st_final_fit(s: dict) -> None:
    from seglab import basis, clustering

    cfg = s["cfg"]
    opts, population = cfg.clustering, s["population"]
    model = clustering.Segmenter(
        n_clusters=s["k"],
        method=opts.method,
        random_state=cfg.random_state,
        fit_sample_size=opts.fit_sample_size,
    )
    model.fit(s["X"], order_by=population.clustered[opts.order_by].to_numpy())
    s["model"] = model
    s["segments"] = basis.assignments(population, model.labels_)
    s["facts"]["algorithm"] = model.algorithm_


def st_stability(s: dict) -> None:
    from seglab import selection

    cfg = s["cfg"]
    opts, seed, X, k = cfg.clustering, cfg.random_state, s["X"], s["k"]
    s["stability"] = selection.bootstrap_stability(
        X,
        s["factory"],
        k,
        n_bootstrap=opts.n_bootstrap,
        random_state=seed,
        sample_size=opts.sample_size,
        labels=s["model"].labels_ + 1,
    )
    head = X[: opts.sample_size]
    selection.seed_ari(head, s["factory"], k, seeds=tuple(range(seed, seed + 5)))
    selection.split_half(head, s["factory"], k, random_state=seed)


def st_profiling(s: dict) -> None:
    import pandas as pd

    from seglab import profiling

    cfg = s["cfg"]
    table = s["features"].merge(s["segments"][["customer_id", "segment_id"]], on="customer_id")
    table = table.merge(
        s["factor_scores"].drop(columns="survey_status"), on="customer_id", how="left"
    )
    profile = profiling.segment_profile(table, segment_col="segment_id", value_col="monetary")
    profiling.distinguishing_features(table, segment_col="segment_id", top_n=None)
    names = profiling.draft_names(profile, overrides=cfg.profiling.names)
    profiling.segment_highlights(profile, top_n=cfg.profiling.top_n)
    cards = profiling.persona_cards(
        profile, names, factor_names=s["factor_names"], objective=cfg.brief.objective
    )
    s["named"] = pd.DataFrame(
        {
            "segment_id": list(names),
            "segment": list(names.values()),
            "action": [cards[k]["action"] for k in names],
        }
    )


def _history_table(s: dict, cutoff, shares: bool = True):
    """The customer table at ``cutoff``; outcomes after it are its change to a later table."""
    from seglab import features

    table = features.build_for_config(
        s["tx_path"], None, s["cfg"], reference_date=cutoff, shares=shares
    )
    return table.reset_index()


def st_evaluation(s: dict) -> None:
    import pandas as pd

    from seglab import basis, evaluation, scoring

    cfg, opts, seed = s["cfg"], s["cfg"].evaluation, s["cfg"].random_state
    named, population = s["named"], s["population"]
    model = scoring.SegmentationModel(
        s["prep"], s["model"], population.numeric, population.categorical
    )
    segments = (
        s["segments"]
        .drop(columns="segment")
        .merge(named[["segment_id", "segment"]], on="segment_id")
    )
    table = s["features"].merge(
        segments[["customer_id", "segment_id", "segment"]], on="customer_id"
    )
    reference = pd.Timestamp(cfg.reference_date)
    cutoff = reference - pd.Timedelta(days=opts.horizon_days)
    history = _history_table(s, cutoff)
    history_buyers = history[~history["is_prospect"]]
    names_by_id = segments.drop_duplicates("segment_id").set_index("segment_id")["segment"]
    segment_then = pd.Series(
        model.predict(history_buyers).to_numpy(), index=history_buyers["customer_id"]
    ).map(names_by_id)
    outcomes = evaluation.outcomes_between(segment_then, history, table)
    then = outcomes.rename(columns={"segment": "segment_then"})
    evaluation.kpi_table(
        table, outcomes=then, campaigns=s["campaigns"], n_boot=opts.n_boot, random_state=seed
    )
    lift = evaluation.segment_lift(outcomes, n_boot=opts.n_boot, random_state=seed)
    with_rfm = outcomes.merge(table[["customer_id", "rfm_segment"]], on="customer_id", how="left")
    sep = evaluation.separation(with_rfm, "revenue_next", by=["segment", "rfm_segment"])
    segment_of = table.set_index("customer_id")["segment"]
    evaluation.campaign_uplift(s["campaigns"], segment_of, n_boot=opts.n_boot, random_state=seed)
    clustered = table[table["segment_id"] > 0]
    rule_columns = basis.select_columns(list(clustered.columns), opts.rule_features)
    _, fidelity = evaluation.surrogate_rules(
        clustered[rule_columns],
        clustered["segment"],
        max_depth=opts.rule_depth,
        random_state=seed,
        max_fit=opts.rule_fit_sample_size,
    )
    likelihood = _likelihood(s, cutoff, history, history_buyers, outcomes)
    _scorecard(s, table, sep, fidelity)
    table["likelihood"] = likelihood.predict_proba(table)
    s["scored"], s["lift"] = table, lift


def _likelihood(s: dict, cutoff, history, history_buyers, outcomes):
    import pandas as pd

    from seglab import evaluation, features

    cfg, opts = s["cfg"], s["cfg"].evaluation
    earlier = cutoff - pd.Timedelta(days=opts.horizon_days)
    shares = features.needs_shares(opts.likelihood_features)
    train_table = _history_table(s, earlier, shares=shares)
    train_table = train_table[~train_table["is_prospect"]]
    train_outcomes = evaluation.outcomes_between(
        pd.Series(0, index=train_table["customer_id"]), train_table, history
    )
    likelihood = evaluation.likelihood_to_buy(
        train_table, train_outcomes, opts.likelihood_features, random_state=cfg.random_state
    )
    quality = evaluation.evaluate_out_of_time(likelihood, history_buyers, outcomes)
    s["facts"]["likelihood_auc"] = round(float(quality.auc), 4)
    return likelihood


def _scorecard(s: dict, table, sep, fidelity) -> None:
    from seglab import evaluation

    cfg, k = s["cfg"], s["k"]
    shares = table["segment_id"].value_counts(normalize=True)
    channels = table.filter(like="share_channel_")
    jaccard = s["stability"].table["mean_jaccard"] if "stability" in s else None
    evaluation.scorecard(
        {
            "basis_available": 1.0,
            "assigned_share": float(table["segment_id"].notna().mean()),
            "min_segment_share": float(shares.drop(index=0, errors="ignore").min()),
            "min_share": cfg.brief.min_segment_share,
            "silhouette": float(s["consensus"].table.loc[k, "silhouette"]),
            "max_eta2": float(sep["eta_squared"].max()) if "eta_squared" in sep else None,
            "min_jaccard": float(jaccard.min()) if jaccard is not None else None,
            "reachable_share": float(channels.notna().any(axis=1).mean())
            if channels.shape[1]
            else None,
            "rule_fidelity": float(fidelity),
        }
    )


def st_export(s: dict) -> None:
    from seglab import export, scoring
    from seglab.io import write_frame

    out, population, table, named = s["out"], s["population"], s["scored"], s["named"]
    model = scoring.SegmentationModel(
        s["prep"], s["model"], population.numeric, population.categorical
    )
    model.names = {
        int(k): str(v) for k, v in zip(named["segment_id"], named["segment"], strict=True)
    }
    scoring.save_model(model, out / "segmentation_model.joblib", training=population.clustered)
    columns = [
        "customer_id",
        "segment_id",
        "segment",
        "rfm_segment",
        "lifecycle_stage",
        "value_tier",
    ]
    export.export_assignments(
        table[[*columns, "likelihood"]], "bench", out / "exports", duckdb_path=out / "seglab.duckdb"
    )
    actions = dict(zip(named["segment_id"], named["action"], strict=True))
    calls = export.action_list(
        table, actions, score_col="likelihood", segment_col="segment_id", missing="drop"
    )
    write_frame(calls, out / "exports" / "action_list.csv")


LIBRARY_STAGES = [
    ("imports", st_imports, ()),
    ("intake", st_intake, ()),
    ("cleaning", st_cleaning, ("tx",)),
    ("features", st_features, ("tx_path",)),
    ("rfm/lifecycle/value", st_rfm_lifecycle_value, ("table",)),
    ("factors", st_factors, ("survey", "customers")),
    ("basis", st_basis, ("features",)),
    ("consensus k", st_consensus, ("X",)),
    ("final fit", st_final_fit, ("k",)),
    ("stability", st_stability, ("model",)),
    ("profiling", st_profiling, ("segments", "factor_scores")),
    ("evaluation", st_evaluation, ("named", "consensus")),
    ("export", st_export, ("scored",)),
]


# configuration and data --------------------------------------------------------------


def data_dir(cache: Path, size: str) -> Path:
    return cache / size / "data"


def data_paths(cache: Path, size: str) -> dict[str, Path]:
    folder = data_dir(cache, size)
    names = {name: name for name in TABLES} | {"truth": "truth/segments"}
    return {name: folder / f"{stem}.parquet" for name, stem in names.items()}


def bench_config(cache: Path, size: str):
    """``configs/demo-retail.yaml`` reading the generated Parquet files (no demo generation)."""
    from seglab.config import load_config, parse_config

    raw = load_config(CONFIG).model_dump(mode="json")
    raw["data"]["demo"] = None
    for name, path in data_paths(cache, size).items():
        raw["data"][name]["path"] = str(path)
    return parse_config(raw, origin=f"{CONFIG} (benchmark data {size})")


def stamp_settings(size: str) -> dict:
    from seglab import datasets

    n_customers, n_lines = SIZES[size]
    return {
        "n_customers": n_customers,
        "n_lines": n_lines,
        "random_state": SEED,
        "format": "parquet",
        "generator_version": datasets.GENERATOR_VERSION,
    }


def data_is_current(cache: Path, size: str) -> bool:
    stamp = data_dir(cache, size) / "stamp.json"
    if not stamp.is_file() or not all(p.is_file() for p in data_paths(cache, size).values()):
        return False
    return json.loads(stamp.read_text()) == stamp_settings(size)


# child processes -----------------------------------------------------------------------


def worker_generate(args: argparse.Namespace) -> dict:
    from seglab import datasets
    from seglab.io import write_json

    n_customers, n_lines = SIZES[args.size]
    folder = data_dir(args.cache, args.size)
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    demo = datasets.make_retail(n_customers=n_customers, n_lines=n_lines, random_state=SEED)
    datasets.write_demo(demo, folder, fmt="parquet")
    seconds = time.perf_counter() - t0
    write_json(folder / "stamp.json", stamp_settings(args.size))
    return {"seconds": round(seconds, 2), "peak_mib": round(_self_maxrss_mib(), 1), "load": load1()}


def _self_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _library_outputs(s: dict, work: Path, with_peers: bool) -> None:
    """Untimed: hand the peers the cleaned transactions and seglab's segments."""
    if not with_peers or "segments" not in s:
        return
    columns = ["customer_id", "order_id", "timestamp", "amount"]
    import pandas as pd

    pd.read_parquet(s["tx_path"], columns=columns).to_parquet(work / "cleaned.parquet", index=False)
    clustered = s["segments"][s["segments"]["reason"] == "clustered"]
    clustered[["customer_id", "segment_id"]].to_parquet(
        work / "seglab_segments.parquet", index=False
    )


def _ari_vs_truth(s: dict) -> float | None:
    import pandas as pd

    from seglab import basis

    if "segments" not in s:
        return None
    truth = pd.read_parquet(s["cfg"].data.truth.path)[["customer_id", "segment"]]
    truth["customer_id"] = truth["customer_id"].astype("string")
    return round(basis.ari_vs_truth(s["segments"], truth), 4)


def worker_library(args: argparse.Namespace) -> dict:
    from threadpoolctl import threadpool_limits

    from seglab.paths import ProjectPaths

    work = args.cache / args.size / "work"
    out = work / "library-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    state = {"cfg": bench_config(args.cache, args.size), "project": ProjectPaths(ROOT)}
    state |= {"facts": {}, "out": out}
    sampler = RssSampler()
    sampler.start()
    load_start = load1()
    with threadpool_limits(limits=args.threads):
        stages = run_stages(LIBRARY_STAGES, state, sampler)
        state["facts"]["ari_vs_truth"] = _ari_vs_truth(state)
    sampler.stop()
    peak = _self_maxrss_mib()
    _library_outputs(state, work, args.peers)
    return {
        "stages": stages,
        "total_s": round(sum(r.get("seconds", 0) for r in stages), 3),
        "peak_mib": round(peak, 1),
        "load_start": load_start,
        "load_end": load1(),
        "facts": state["facts"],
    }


def _peer_state(args: argparse.Namespace) -> dict:
    import pandas as pd

    cfg = bench_config(args.cache, args.size)
    work = args.cache / args.size / "work"
    return {
        "tx": pd.read_parquet(work / "cleaned.parquet"),
        "reference_date": pd.Timestamp(cfg.reference_date),
        "silhouette_sample": cfg.clustering.silhouette_sample,
        "facts": {},
    }


def worker_peer(args: argparse.Namespace) -> dict:
    """Time one peer's stages; the result file is rewritten after each stage (for timeouts)."""
    import pandas as pd
    import peers
    from threadpoolctl import threadpool_limits

    from seglab.io import write_json

    state = _peer_state(args)
    sampler = RssSampler(limit_mib=args.peer_memory)
    sampler.start()
    stages = [(name, func, ()) for name, func in peers.PEERS[args.worker_peer]]
    result: dict[str, Any] = {"load_start": load1(), "facts": state["facts"]}

    def save(records: list[dict]) -> None:
        write_json(args.result, result | {"stages": records})

    with threadpool_limits(limits=args.threads):
        result["stages"] = run_stages(stages, state, sampler, on_stage=save)
    sampler.stop()
    if "labels" in state:
        work = args.cache / args.size / "work"
        ours = pd.read_parquet(work / "seglab_segments.parquet")
        truth = pd.read_parquet(data_paths(args.cache, args.size)["truth"])
        result["agreement"] = peers.agreement(state["labels"], ours, truth)
    result |= {"peak_mib": round(_self_maxrss_mib(), 1), "load_end": load1()}
    return result


def _notebook_root(work: Path) -> Path:
    """A private project root: links to configs/ and notebooks/, its own data/ and reports/."""
    root = work / "nbroot"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("configs", "notebooks"):
        (root / name).symlink_to(ROOT / name, target_is_directory=True)
    return root


def _watch_tree(proc: subprocess.Popen, interval: float = 0.1) -> dict:
    """Poll a process tree until it exits: highest summed RSS and highest single RSS (MiB)."""
    import psutil

    top = psutil.Process(proc.pid)
    peak_sum = peak_one = 0
    while proc.poll() is None:
        total = 0
        try:
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            peak_one = max(peak_one, rss)
        peak_sum = max(peak_sum, total)
        time.sleep(interval)
    return {"tree_peak_mib": round(peak_sum / MIB, 1), "single_peak_mib": round(peak_one / MIB, 1)}


NB_LINE = re.compile(r"^\s+(\d\d-[\w-]+)\s+(ok|FAILED|skipped)\s+([\d.]+)?")


def parse_notebook_times(text: str) -> dict[str, dict]:
    """``{notebook: {status, seconds}}`` from the lines ``seglab run`` prints."""
    out = {}
    for line in text.splitlines():
        m = NB_LINE.match(line)
        if m:
            secs = float(m.group(3)) if m.group(3) else None
            out[m.group(1)] = {"status": m.group(2).lower(), "seconds": secs}
    return out


def _html_sizes(report: Path) -> dict[str, float]:
    return {p.name: round(p.stat().st_size / MIB, 2) for p in sorted(report.glob("*.html"))}


def worker_notebooks(args: argparse.Namespace) -> dict:
    """Run ``seglab run`` on the benchmark config in a private project root; measure it."""
    from seglab.config import dump_config
    from seglab.io import write_text

    work = args.cache / args.size / "work"
    root = _notebook_root(work)
    config = write_text(root / "bench.yaml", dump_config(bench_config(args.cache, args.size)))
    seglab = Path(sys.executable).with_name("seglab")
    cmd = [str(seglab), "run", "--config", str(config), "--out", str(root / "reports")]
    env = os.environ | {"SEGLAB_ROOT": str(root), "COLUMNS": "200"}
    env |= dict.fromkeys(THREAD_ENV, str(args.threads))
    load_start = load1()
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=err, text=True)
        tree = _watch_tree(proc)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    index = Path(stdout.strip().splitlines()[-1]) if stdout.strip() else None
    reports = sorted((root / "reports").glob("*/index.html"))
    report = index.parent if index else (reports[-1].parent if reports else root)
    result = {
        "returncode": proc.returncode,
        "seconds": round(seconds, 2),
        "notebooks": parse_notebook_times(stderr) or _manifest_times(report),
        "children_maxrss_mib": round(children, 1),
        "html_mib": _html_sizes(report),
        "load_start": load_start,
        "load_end": load1(),
        "output": stderr[-4000:] if proc.returncode else "",
    } | tree
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return result


def _manifest_times(report: Path) -> dict[str, dict]:
    manifest = report / "manifest.json"
    if not manifest.is_file():
        return {}
    nbs = json.loads(manifest.read_text())["notebooks"]
    return {k: {"status": v["status"], "seconds": v["seconds"]} for k, v in nbs.items()}


WORKERS = {"generate": worker_generate, "library": worker_library, "notebooks": worker_notebooks}


def run_worker(args: argparse.Namespace) -> None:
    from seglab.io import write_json

    func = worker_peer if args.worker == "peer" else WORKERS[args.worker]
    write_json(args.result, func(args))


def spawn(args: argparse.Namespace, worker: str, timeout: float | None = None, **extra) -> dict:
    """Run ``worker`` in a fresh Python process; its JSON result, or an error record."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--worker", worker, "--result", str(result)]
        cmd += ["--size", extra.get("size", ""), "--cache", str(args.cache)]
        cmd += ["--threads", str(args.threads), "--peer-memory", str(args.peer_memory)]
        cmd += ["--worker-peer", extra.get("peer", "")]
        cmd += [] if args.peers else ["--no-peers"]
        cmd += ["--keep"] if args.keep else []
        env = os.environ | dict.fromkeys(THREAD_ENV, str(args.threads))
        if args.omp_wait_policy != "default":
            env["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, timeout=timeout, capture_output=True, text=True, cwd=ROOT, env=env
            )
            code, err = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code = "timeout"
            err = (
                (exc.stderr or b"").decode(errors="replace")
                if isinstance(exc.stderr, bytes)
                else ""
            )
        out = json.loads(result.read_text()) if result.is_file() else {}
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    if code != 0:
        out |= {"error": f"exit {code}", "stderr": (err or "")[-4000:]}
    return out


# orchestration -----------------------------------------------------------------------


def machine_info() -> dict:
    import duckdb
    import pandas as pd
    import sklearn

    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    )
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "scikit-learn": sklearn.__version__,
        "git_commit": git.stdout.strip() or None,
        "git_dirty": bool(dirty.stdout.strip()),
    }


def ensure_data(args: argparse.Namespace, size: str) -> dict:
    if data_is_current(args.cache, size):
        return {"reused": True, "folder": str(data_dir(args.cache, size))}
    print(f"[{size}] generating data into {data_dir(args.cache, size)} ...", flush=True)
    gen = spawn(args, "generate", size=size)
    if "error" in gen:
        raise SystemExit(f"data generation failed:\n{gen.get('stderr')}")
    return gen | {"reused": False, "folder": str(data_dir(args.cache, size))}


def median_runs(runs: list[dict]) -> dict:
    """Median seconds per stage and highest peak over repeated library runs."""
    base = runs[0]
    stages = []
    for i, rec in enumerate(base["stages"]):
        secs = [
            r["stages"][i].get("seconds") for r in runs if r["stages"][i].get("seconds") is not None
        ]
        peaks = [r["stages"][i].get("peak_mib", 0) for r in runs]
        stages.append(
            rec
            | {
                "seconds": round(statistics.median(secs), 3) if secs else None,
                "peak_mib": max(peaks),
                "load": max(r["stages"][i]["load"] for r in runs),
            }
        )
    return {
        "stages": stages,
        "total_s": round(statistics.median(r["total_s"] for r in runs), 3),
        "peak_mib": max(r["peak_mib"] for r in runs),
        "facts": base.get("facts", {}),
        "runs": runs,
    }


def run_library(args: argparse.Namespace, size: str) -> dict:
    runs = []
    for i in range(args.repeat):
        print(f"[{size}] library pipeline, run {i + 1}/{args.repeat} ...", flush=True)
        run = spawn(args, "library", size=size)
        if "stages" not in run:
            return run | {"stages": [], "total_s": None}
        runs.append(run)
    return median_runs(runs)


def run_notebooks(args: argparse.Namespace, size: str) -> dict:
    runs = []
    for i in range(args.repeat):
        print(f"[{size}] seglab run (notebooks), run {i + 1}/{args.repeat} ...", flush=True)
        runs.append(spawn(args, "notebooks", size=size))
    best = dict(runs[0])
    if args.repeat > 1 and all("seconds" in r for r in runs):
        best["seconds"] = round(statistics.median(r["seconds"] for r in runs), 2)
        best["tree_peak_mib"] = max(r.get("tree_peak_mib", 0) for r in runs)
        best["runs"] = runs
    return best


def run_peers(args: argparse.Namespace, size: str) -> dict:
    out = {}
    for peer in ("lifetimes", "tutorial"):
        print(f"[{size}] peer {peer} (limit {args.peer_timeout:.0f} s) ...", flush=True)
        res = spawn(args, "peer", timeout=args.peer_timeout, size=size, peer=peer)
        out[peer] = res
    return out


def stage_seconds(block: dict, name: str) -> float | None:
    for rec in block.get("stages", []):
        if rec["stage"] == name and rec["status"] == "ok":
            return rec["seconds"]
    return None


PEER_PAIRS = [  # (peer, peer stage, seglab stage)
    ("lifetimes", "customer summary", "features"),
    ("tutorial", "rfm groupby", "features"),
    ("tutorial", "scale", "basis"),
    ("tutorial", "k sweep", "consensus k"),
    ("tutorial", "final fit", "final fit"),
]


def peer_ratios(library: dict, peers: dict, timeout: float) -> list[dict]:
    rows = []
    for peer, theirs_name, ours_name in PEER_PAIRS:
        res = peers.get(peer, {})
        ours = stage_seconds(library, ours_name)
        theirs = stage_seconds(res, theirs_name)
        rec = next((r for r in res.get("stages", []) if r["stage"] == theirs_name), None)
        if theirs is None:
            status = _peer_failure(res, rec, timeout)
        else:
            status = "ok"
        ratio = round(ours / theirs, 3) if ours is not None and theirs else None
        rows.append(
            {
                "peer": peer,
                "peer_stage": theirs_name,
                "seglab_stage": ours_name,
                "seglab_s": ours,
                "peer_s": theirs,
                "peer_peak_mib": rec.get("peak_mib") if rec else None,
                "ours_over_theirs": ratio,
                "status": status,
            }
        )
    return rows


def _peer_failure(res: dict, rec: dict | None, timeout: float) -> str:
    if rec and rec["status"] != "ok":
        return rec["status"] + ": " + rec.get("error", "").strip().splitlines()[-1][:120]
    if res.get("error") == "exit timeout":
        return f">{timeout:.0f} s"
    if res.get("error") == "exit 3":
        return "stopped: memory limit"
    return res.get("error", "not run")


def check_targets(size: str, library: dict | None, notebooks: dict | None) -> list[dict]:
    figures = {
        "library_s": (library or {}).get("total_s"),
        "notebooks_s": (notebooks or {}).get("seconds"),
        "notebooks_peak_mib": (notebooks or {}).get("tree_peak_mib"),
    }
    out = []
    for name, limit in TARGETS.get(size, {}).items():
        value = figures[name]
        ok = None if value is None else value < limit
        out.append({"figure": name, "limit": limit, "value": value, "ok": ok})
    if notebooks and notebooks.get("html_mib"):
        largest = max(notebooks["html_mib"].values())
        out.append(
            {
                "figure": "largest_html_mib",
                "limit": HTML_LIMIT_MIB,
                "value": largest,
                "ok": largest < HTML_LIMIT_MIB,
            }
        )
    return out


# printing ----------------------------------------------------------------------------


def _fmt(v: Any, spec: str = ",.1f", width: int = 9) -> str:
    return f"{'-' if v is None else format(v, spec):>{width}}"


def _mark(targets: list[dict], figure: str) -> str:
    t = next((t for t in targets if t["figure"] == figure), None)
    if t is None:
        return ""
    verdict = "n/a" if t["ok"] is None else ("ok" if t["ok"] else "MISS")
    unit = " s" if figure.endswith("_s") else " MiB"
    return f"  target < {t['limit']:,.0f}{unit}: {verdict}"


def print_library(lib: dict, targets: list[dict], threads: int) -> None:
    print(f"\nlibrary pipeline (one child process, {threads} BLAS/OpenMP threads)")
    print(f"  {'stage':<22}{'seconds':>9}{'peak MiB':>10}{'load':>7}  status")
    for r in lib.get("stages", []):
        status = r["status"]
        if r.get("error") and status != "ok":
            status += ": " + r["error"].strip().splitlines()[-1][:90]
        line = f"  {r['stage']:<22}{_fmt(r.get('seconds'), ',.2f')}{_fmt(r.get('peak_mib'), ',.0f', 10)}"
        print(f"{line}{_fmt(r.get('load'), '.2f', 7)}  {status}")
    total = (
        f"  {'total':<22}{_fmt(lib.get('total_s'), ',.2f')}{_fmt(lib.get('peak_mib'), ',.0f', 10)}"
    )
    print(total + _mark(targets, "library_s"))
    facts = lib.get("facts") or {}
    if facts:
        print("  facts: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    if lib.get("error"):
        print(f"  worker failed ({lib['error']}):\n{lib.get('stderr', '')}")


def print_notebooks(nb: dict, targets: list[dict]) -> None:
    print("\nnotebook pipeline (seglab run, HTML reports)")
    print(f"  {'notebook':<22}{'seconds':>9}  status")
    for name, rec in nb.get("notebooks", {}).items():
        print(f"  {name:<22}{_fmt(rec.get('seconds'), ',.1f')}  {rec.get('status')}")
    print(
        f"  {'total (wall)':<22}{_fmt(nb.get('seconds'), ',.1f')}" + _mark(targets, "notebooks_s")
    )
    print(
        f"  {'peak MiB (tree sum)':<22}{_fmt(nb.get('tree_peak_mib'), ',.0f')}"
        + _mark(targets, "notebooks_peak_mib")
    )
    print(
        f"  {'peak MiB (1 process)':<22}{_fmt(nb.get('single_peak_mib'), ',.0f')}"
        f"  (ru_maxrss of children: {_fmt(nb.get('children_maxrss_mib'), ',.0f', 0)})"
    )
    html = nb.get("html_mib") or {}
    if html:
        name = max(html, key=html.get)
        print(
            f"  {'largest HTML MiB':<22}{_fmt(html[name], ',.2f')}  ({name})"
            + _mark(targets, "largest_html_mib")
        )
    if nb.get("error") or nb.get("returncode"):
        print(
            f"  seglab run failed: {nb.get('error') or nb.get('returncode')}\n{nb.get('output') or nb.get('stderr', '')}"
        )


def print_peers(peers: dict, ratios: list[dict]) -> None:
    print("\npeers (same cleaned transactions; ours/theirs < 1: seglab faster)")
    print(
        f"  {'peer stage':<30}{'theirs s':>10}{'peak MiB':>10}  {'seglab stage':<13}{'ours s':>8}"
        f"{'ours/theirs':>12}"
    )
    for r in ratios:
        theirs = _fmt(r["peer_s"], ",.2f", 10) if r["status"] == "ok" else f"{r['status']:>10}"
        print(
            f"  {r['peer'] + ': ' + r['peer_stage']:<30}{theirs}{_fmt(r['peer_peak_mib'], ',.0f', 10)}"
            f"  {r['seglab_stage']:<13}{_fmt(r['seglab_s'], ',.2f', 8)}{_fmt(r['ours_over_theirs'], '.3f', 12)}"
        )
    tut = peers.get("tutorial", {})
    agree = tut.get("agreement")
    if agree:
        print(
            f"  tutorial k={tut['facts'].get('tutorial_k')}; ARI tutorial vs seglab "
            f"{agree['ari_tutorial_vs_seglab']:.3f}; vs planted truth: seglab "
            f"{agree['ari_seglab_vs_truth']:.3f}, tutorial {agree['ari_tutorial_vs_truth']:.3f} "
            f"({agree['customers_compared']:,} customers)"
        )
    for name, res in peers.items():
        if res.get("stderr") and res.get("error") not in (None, "exit timeout", "exit 3"):
            print(f"  {name} failed ({res['error']}):\n{res['stderr']}")


def print_size(res: dict, threads: int) -> None:
    n_c, n_l = SIZES[res["size"]]
    print(
        f"\n=== {res['size']}: {n_c:,} customers / {n_l:,} lines  "
        f"(load average at start {res['machine']['load_average']})"
    )
    gen = res["generation"]
    if gen.get("reused"):
        print(f"data: reused {gen['folder']} (generation not timed in this run)")
    else:
        print(
            f"data: generated in {gen['seconds']:.1f} s, peak {gen['peak_mib']:,.0f} MiB "
            "(not part of any stage)"
        )
    if res.get("library"):
        print_library(res["library"], res["targets"], threads)
    if res.get("peers"):
        print_peers(res["peers"], res["peer_ratios"])
    if res.get("notebooks"):
        print_notebooks(res["notebooks"], res["targets"])


# main --------------------------------------------------------------------------------


def json_path(args: argparse.Namespace, size: str) -> Path:
    if args.json is None:
        return ROOT / "benchmarks" / "results" / f"{datetime.now():%Y-%m-%d}-{size}.json"
    path = Path(args.json)
    return path if len(args.sizes) == 1 else path.with_name(f"{path.stem}-{size}{path.suffix}")


def bench_size(args: argparse.Namespace, size: str) -> dict:
    from seglab.io import write_json

    res: dict[str, Any] = {"size": size, "started": datetime.now().isoformat(timespec="seconds")}
    res["machine"] = machine_info()
    res["settings"] = {
        "threads": args.threads,
        "repeat": args.repeat,
        "peer_timeout_s": args.peer_timeout,
        "peer_memory_mib": args.peer_memory,
        "omp_wait_policy": args.omp_wait_policy,
        "config": str(CONFIG.relative_to(ROOT)),
    }
    res["generation"] = ensure_data(args, size)
    res["library"] = run_library(args, size)
    if args.peers:
        res["peers"] = run_peers(args, size)
        res["peer_ratios"] = peer_ratios(res["library"], res["peers"], args.peer_timeout)
    if args.notebooks:
        res["notebooks"] = run_notebooks(args, size)
    res["targets"] = check_targets(size, res["library"], res.get("notebooks"))
    res["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print_size(res, args.threads)
    path = write_json(json_path(args, size), res)
    print(f"\nwrote {path}")
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["100k", "1m"], choices=list(SIZES))
    ap.add_argument("--repeat", type=int, default=1, help="library and notebook runs per size")
    ap.add_argument("--no-notebooks", dest="notebooks", action="store_false")
    ap.add_argument("--no-peers", dest="peers", action="store_false")
    ap.add_argument("--peer-timeout", type=float, default=300.0, help="seconds per peer")
    ap.add_argument(
        "--peer-memory", type=float, default=8192.0, help="MiB; a peer above it is stopped"
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="BLAS/OpenMP threads")
    ap.add_argument(
        "--omp-wait-policy",
        default="passive",
        choices=["passive", "active", "default"],
        help="OMP_WAIT_POLICY of the children (passive: idle OpenMP threads sleep instead of spinning)",
    )
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    ap.add_argument(
        "--json", default=None, help="result file (default benchmarks/results/<date>-<size>.json)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the notebook run's folder")
    for hidden in ("--worker", "--worker-peer", "--result", "--size"):
        ap.add_argument(hidden, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.cache = args.cache.resolve()
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    for size in args.sizes:
        bench_size(args, size)


if __name__ == "__main__":
    main()
