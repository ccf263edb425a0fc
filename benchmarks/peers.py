"""What users would otherwise run, for ``benchmarks/run.py`` to compare seglab against.

Two peers, each a list of ``(stage name, function)`` pairs that ``run.py`` times one by
one in a child process (with a time limit) on the cleaned transactions the seglab
pipeline produced:

- ``lifetimes``: ``lifetimes.utils.summary_data_from_transaction_data`` (frequency,
  recency, T and monetary value per customer), the customer summary of the
  ``lifetimes`` package. Compared with seglab's customer-table build.
- ``tutorial``: the pandas + scikit-learn pipeline of popular RFM tutorials:
  ``groupby().agg()`` for recency, frequency and monetary value; ``log1p`` and
  ``StandardScaler``; a k-sweep ``k = 2..10`` of ``KMeans(n_init=10)`` on every
  customer with inertia (elbow) and ``silhouette_score`` on a sample; k chosen by the
  highest silhouette; a final ``KMeans`` on every customer.

Each stage function takes and updates a dict of state; nothing here measures time or
memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

K_RANGE = range(2, 11)
SEED = 0


# lifetimes ---------------------------------------------------------------------------


def lifetimes_summary(s: dict) -> None:
    """Frequency, recency, T and monetary value per customer, daily periods."""
    from lifetimes.utils import summary_data_from_transaction_data

    s["summary"] = summary_data_from_transaction_data(
        s["tx"],
        "customer_id",
        "timestamp",
        monetary_value_col="amount",
        observation_period_end=s["reference_date"],
        freq="D",
    )
    s["facts"]["lifetimes_customers"] = len(s["summary"])


def lifetimes_imports(s: dict) -> None:
    import lifetimes.utils  # noqa: F401


LIFETIMES = [("imports", lifetimes_imports), ("customer summary", lifetimes_summary)]


# tutorial ----------------------------------------------------------------------------


def tutorial_rfm(s: dict) -> None:
    """Recency (days), frequency (distinct orders) and monetary (sum) per customer."""
    rfm = (
        s["tx"]
        .groupby("customer_id")
        .agg(
            last=("timestamp", "max"), frequency=("order_id", "nunique"), monetary=("amount", "sum")
        )
    )
    rfm["recency"] = (pd.Timestamp(s["reference_date"]) - rfm["last"]).dt.days
    s["rfm"] = rfm[["recency", "frequency", "monetary"]]
    s["facts"]["tutorial_customers"] = len(rfm)


def tutorial_scale(s: dict) -> None:
    """log1p of each column (spend can be negative: clipped at 0 first), then z-scores."""
    from sklearn.preprocessing import StandardScaler

    s["X"] = StandardScaler().fit_transform(np.log1p(s["rfm"].clip(lower=0)))


def tutorial_k_sweep(s: dict) -> None:
    """KMeans(n_init=10) on every customer for k = 2..10: inertia and sampled silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rows = []
    for k in K_RANGE:
        labels = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(s["X"])
        sil = silhouette_score(
            s["X"],
            labels.labels_,
            sample_size=min(s["silhouette_sample"], len(s["X"])),
            random_state=SEED,
        )
        rows.append({"k": k, "inertia": float(labels.inertia_), "silhouette": float(sil)})
    sweep = pd.DataFrame(rows).set_index("k")
    s["k"] = int(sweep["silhouette"].idxmax())
    s["facts"]["tutorial_k"] = s["k"]
    s["facts"]["tutorial_sweep"] = sweep.round(4).reset_index().to_dict(orient="records")


def tutorial_final_fit(s: dict) -> None:
    """The final KMeans(n_init=10) on every customer with the chosen k."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=s["k"], n_init=10, random_state=SEED).fit(s["X"])
    s["labels"] = pd.Series(model.labels_, index=s["rfm"].index, name="tutorial")


def tutorial_imports(s: dict) -> None:
    import sklearn.cluster
    import sklearn.metrics
    import sklearn.preprocessing  # noqa: F401


TUTORIAL = [
    ("imports", tutorial_imports),
    ("rfm groupby", tutorial_rfm),
    ("scale", tutorial_scale),
    ("k sweep", tutorial_k_sweep),
    ("final fit", tutorial_final_fit),
]

PEERS = {"lifetimes": LIFETIMES, "tutorial": TUTORIAL}


def agreement(labels: pd.Series, ours: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Adjusted Rand index: tutorial vs seglab, and each against the planted segments.

    Computed on the customers all three assign (seglab's clustered buyers).
    """
    from sklearn.metrics import adjusted_rand_score

    both = (
        ours.set_index("customer_id")[["segment_id"]]
        .join(labels, how="inner")
        .join(truth.set_index("customer_id")["segment"], how="inner")
    )
    return {
        "customers_compared": len(both),
        "ari_tutorial_vs_seglab": round(
            float(adjusted_rand_score(both["segment_id"], both["tutorial"])), 4
        ),
        "ari_seglab_vs_truth": round(
            float(adjusted_rand_score(both["segment"], both["segment_id"])), 4
        ),
        "ari_tutorial_vs_truth": round(
            float(adjusted_rand_score(both["segment"], both["tutorial"])), 4
        ),
    }
