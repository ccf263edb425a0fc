"""Number of segments (consensus of criteria), segment stability and clustering tendency."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logsumexp
from threadpoolctl import threadpool_limits

from seglab.errors import InputDataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = [
    "CRITERIA",
    "Clusterability",
    "ConsensusResult",
    "ModelFactory",
    "SeedARI",
    "StabilityResult",
    "bootstrap_stability",
    "clusterability",
    "consensus_k",
    "default_model",
    "hopkins",
    "plot_criteria",
    "plot_projection",
    "plot_silhouette",
    "plot_stability",
    "seed_ari",
    "silhouette_values",
    "split_half",
    "stability_reading",
]

#: ``make_model(k, random_state) -> estimator`` with ``fit(X)``, ``labels_`` and ``predict(X)``.
ModelFactory = Callable[[int, int], Any]

#: Criteria that can vote in :func:`consensus_k`, in the order they are reported.
CRITERIA: tuple[str, ...] = (
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "gap",
    "bic",
    "knee",
    "stability",
)

#: Hennig (2007) / ``fpc::clusterboot`` reading of a cluster's mean bootstrap Jaccard.
STABILITY_BANDS: tuple[tuple[float, str], ...] = (
    (0.85, "highly stable"),
    (0.75, "stable"),
    (0.60, "doubtful"),
    (0.50, "unstable"),
    (-np.inf, "dissolved"),
)
#: A bootstrap replicate "dissolves" a cluster when its Jaccard is at most this (fpc's default).
DISSOLUTION = 0.5
#: The stability vote needs every cluster's mean Jaccard at or above this.
STABLE_JACCARD = 0.75

_SEED_MAX = 2**31 - 1
# bytes allowed for one block of the pairwise-distance computations (silhouette)
_BLOCK_BYTES = 32 * 2**20


def default_model(k: int, random_state: int | None = None) -> Any:
    """The default model factory: ``KMeans(n_clusters=k, n_init=4, random_state=random_state)``.

    Parameters
    ----------
    k : int
        Number of segments.
    random_state : int, optional
        Seed of the k-means++ initialisations.

    Returns
    -------
    sklearn.cluster.KMeans
        Unfitted.
    """
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=random_state)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _check_X(X: ArrayLike, *, min_rows: int = 3) -> np.ndarray:
    """Validate the numeric matrix and return it as a float64 array (no copy when possible)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputDataError(
            f"X must be a numeric matrix (customers x basis variables); converting it failed "
            f"({exc}); encode or drop non-numeric columns first (seglab.preprocessing)"
        ) from exc
    if arr.ndim != 2:
        raise InputDataError(
            f"X must be 2-D (customers x basis variables), got an array of shape {arr.shape}"
        )
    n, p = arr.shape
    if n < min_rows or p < 1:
        raise InputDataError(
            f"X has {n} rows and {p} columns; at least {min_rows} rows and 1 column are needed"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = int(bad.any(axis=1).sum())
        cols = np.flatnonzero(bad.any(axis=0)).tolist()
        raise InputDataError(
            f"X has {rows} of {n} rows with missing or infinite values (columns {cols}); "
            "impute or drop them before choosing the number of segments"
        )
    return arr


def _check_labels(labels: ArrayLike, n: int) -> np.ndarray:
    lab = np.asarray(labels).ravel()
    if lab.shape[0] != n:
        raise InputDataError(f"labels has {lab.shape[0]} entries but X has {n} rows")
    return lab


def _rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A child stream of ``random_state``.

    Spawning keeps our draws apart from the stream a user may have made the
    data with: ``default_rng(0)`` data probed with ``random_state=0`` would
    otherwise put Hopkins probes exactly on data points.
    """
    return np.random.default_rng(random_state).spawn(1)[0]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, _SEED_MAX))


def _sample_indices(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a simple random sample of ``size`` rows (all rows when ``size >= n``)."""
    if size is None or size >= n:
        return np.arange(n)
    if size < 1:
        raise ValueError(f"sample size must be a positive integer, got {size}")
    return np.sort(rng.choice(n, size=int(size), replace=False))


def _sample_note(rows: int, n: int, what: str) -> dict[str, Any]:
    return {"rows": int(rows), "of": int(n), "sampled": bool(rows < n), "used_for": what}


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique labels and the 0..k-1 code of each row."""
    uniq, inv = np.unique(labels, return_inverse=True)
    return uniq, inv.ravel()


def _fit_labels(
    make_model: ModelFactory, k: int, seed: int, X: np.ndarray
) -> tuple[Any, np.ndarray]:
    model = make_model(k, seed)
    model.fit(X)
    labels = getattr(model, "labels_", None)
    if labels is None:
        labels = model.predict(X)
    labels = np.asarray(labels).ravel()
    if labels.shape[0] != X.shape[0]:
        raise ValueError(
            f"the model built by make_model({k}, ...) returned {labels.shape[0]} labels "
            f"for {X.shape[0]} rows"
        )
    return model, labels


def _wss(X: np.ndarray, labels: np.ndarray) -> float:
    """Within-cluster sum of squares around each cluster's mean (model-agnostic inertia)."""
    _, inv = _codes(labels)
    k = int(inv.max()) + 1
    counts = np.bincount(inv, minlength=k).astype(float)
    centres = (
        np.column_stack([np.bincount(inv, weights=X[:, j], minlength=k) for j in range(X.shape[1])])
        / counts[:, None]
    )
    return float(((X - centres[inv]) ** 2).sum())


def _single_thread() -> threadpool_limits:
    """One BLAS/OpenMP thread: k-means on samples is ~10x faster on a busy 2-core machine."""
    return threadpool_limits(limits=1)


# ---------------------------------------------------------------------------
# silhouette without an n x n matrix
# ---------------------------------------------------------------------------


def _silhouette_many(X: np.ndarray, labelings: Sequence[np.ndarray]) -> np.ndarray:
    """Silhouette width of every row for several labelings at once.

    Distances are computed block by block (a few thousand rows at a time, at
    most ``_BLOCK_BYTES`` per block) and summed per cluster with one matrix
    product against the stacked one-hot indicators of all labelings, so the
    distance pass is shared between labelings and no ``n x n`` matrix is held.
    Singleton clusters get silhouette 0 (as in scikit-learn).
    """
    n = X.shape[0]
    codes = []
    offsets = [0]
    for lab in labelings:
        _, inv = _codes(np.asarray(lab).ravel())
        codes.append(inv)
        offsets.append(offsets[-1] + int(inv.max()) + 1)
    onehot = np.zeros((n, offsets[-1]))
    for inv, off in zip(codes, offsets[:-1], strict=True):
        onehot[np.arange(n), off + inv] = 1.0
    sizes = onehot.sum(axis=0)
    sq = np.einsum("ij,ij->i", X, X)
    out = np.zeros((len(codes), n))
    block = max(1, _BLOCK_BYTES // (8 * max(n, 1)))
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = np.arange(stop - start)
        d = sq[start:stop, None] + sq[None, :] - 2.0 * (X[start:stop] @ X.T)
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        d[rows, np.arange(start, stop)] = 0.0
        sums = d @ onehot
        for j, (inv, off) in enumerate(zip(codes, offsets[:-1], strict=True)):
            k = offsets[j + 1] - off
            s = sums[:, off : off + k]
            sz = sizes[off : off + k]
            own = inv[start:stop]
            own_size = sz[own]
            a = s[rows, own] / np.maximum(own_size - 1.0, 1.0)
            means = s / sz
            means[rows, own] = np.inf
            b = means.min(axis=1) if k > 1 else np.full(stop - start, np.nan)
            denom = np.maximum(a, b)
            with np.errstate(invalid="ignore", divide="ignore"):
                sil = np.where(denom > 0, (b - a) / denom, 0.0)
            sil[own_size <= 1] = 0.0
            out[j, start:stop] = sil
    return out


def silhouette_values(X: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """Silhouette width of each row (Euclidean), computed in blocks without an ``n x n`` matrix.

    Equal to :func:`sklearn.metrics.silhouette_samples` but memory-light.
    It is still O(n^2) in time: call it on a sample (a few thousand rows).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
    """
    arr = _check_X(X, min_rows=2)
    lab = _check_labels(labels, arr.shape[0])
    return _silhouette_many(arr, [lab])[0]


# ---------------------------------------------------------------------------
# bootstrap stability (Hennig's clusterboot)
# ---------------------------------------------------------------------------


def stability_reading(jaccard: float) -> str:
    """Read a cluster's mean bootstrap Jaccard similarity as Hennig (2007) does.

    ``>= 0.85`` highly stable; ``>= 0.75`` stable; ``>= 0.6`` doubtful (a
    pattern exists but which customers belong to it is doubtful); ``>= 0.5``
    unstable (do not trust it); ``< 0.5`` dissolved.

    Parameters
    ----------
    jaccard : float

    Returns
    -------
    str
        One of ``"highly stable"``, ``"stable"``, ``"doubtful"``,
        ``"unstable"``, ``"dissolved"``; ``"not assessed"`` for NaN.

    Examples
    --------
    >>> stability_reading(0.75), stability_reading(0.7499)
    ('stable', 'doubtful')
    """
    if jaccard is None or not np.isfinite(jaccard):
        return "not assessed"
    for threshold, word in STABILITY_BANDS:
        if jaccard >= threshold:
            return word
    return "dissolved"  # pragma: no cover - the last band is -inf


def _max_jaccard(base: np.ndarray, boot: np.ndarray, k0: int) -> np.ndarray:
    """For each base cluster, the best Jaccard with any bootstrap cluster (same points)."""
    _, inv_b = _codes(boot)
    kb = int(inv_b.max()) + 1
    table = np.zeros((k0, kb))
    np.add.at(table, (base, inv_b), 1.0)
    r = table.sum(axis=1, keepdims=True)
    c = table.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = table / (r + c - table)
    best = jac.max(axis=1)
    best[r[:, 0] == 0] = np.nan  # cluster absent from this resample
    return best


@dataclass(frozen=True)
class StabilityResult:
    """Bootstrap stability of each segment (Hennig's clusterboot).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per segment (index ``segment``): ``size`` and ``share`` in the
        base fit, ``mean_jaccard``, ``reading`` (see
        :func:`stability_reading`), ``times_dissolved`` (replicates with
        Jaccard <= 0.5) and ``times_absent`` (replicates that drew none of its
        customers; excluded from the mean).
    jaccard : pandas.DataFrame
        Replicates x segments: best Jaccard of each segment in each replicate.
    k : int
    n_bootstrap : int
    labels : numpy.ndarray
        Segment of each row of the base fit (the sample when one was drawn).
    sampled : dict
        Rows the base fit and the refits used, out of how many.
    """

    table: pd.DataFrame
    jaccard: pd.DataFrame
    k: int
    n_bootstrap: int
    labels: np.ndarray = field(repr=False)
    sampled: dict[str, Any]

    @property
    def mean_jaccard(self) -> float:
        """Mean over segments of the per-segment mean Jaccard."""
        return float(self.table["mean_jaccard"].mean())

    @property
    def min_jaccard(self) -> float:
        """Lowest per-segment mean Jaccard (the weakest segment)."""
        return float(self.table["mean_jaccard"].min())

    def plot(self, ax: Axes | None = None) -> Axes:
        """Shortcut for :func:`plot_stability`."""
        return plot_stability(self, ax=ax)


def bootstrap_stability(
    X: ArrayLike,
    make_model: ModelFactory | None,
    k: int,
    n_bootstrap: int = 20,
    random_state: int | np.random.Generator | None = None,
    sample_size: int | None = None,
    labels: ArrayLike | None = None,
) -> StabilityResult:
    """Per-segment stability under bootstrap resampling (Hennig 2007, ``fpc::clusterboot``).

    The model is fitted on the data (or on a random sample of ``sample_size``
    rows, the *base*). For each of ``n_bootstrap`` replicates, rows of the base
    are drawn with replacement and the model is refitted (with a fresh seed).
    For every original segment, the Jaccard similarity with each replicate
    segment is computed on the customers present in both (the distinct rows
    drawn), and the best match is kept. A segment's stability is the mean of
    these best Jaccards over replicates.

    Hennig's reading: ``>= 0.85`` highly stable, ``>= 0.75`` stable (a valid
    segment), ``0.6-0.75`` doubtful (a pattern, but membership is doubtful),
    ``0.5-0.6`` unstable, ``< 0.5`` dissolved. A replicate *dissolves* a
    segment when its Jaccard is ``<= 0.5`` (``fpc``'s ``dissolution``
    default).

    Cost: ``n_bootstrap + 1`` fits on the base; pass ``sample_size`` for large
    data (5-20 thousand rows is plenty to judge stability).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Preprocessed (standardised) basis variables.
    make_model : callable or None
        ``make_model(k, random_state) -> estimator`` with ``fit`` and
        ``labels_``; ``None`` uses :func:`default_model` (k-means).
    k : int
        Number of segments.
    n_bootstrap : int
        Bootstrap replicates (``fpc`` default: 100; 20 gives a usable reading).
    random_state : int, numpy Generator or None
        Seeds the sample, the resamples and every model fit.
    sample_size : int, optional
        Base sample size; ``None`` uses every row.
    labels : array-like of shape (n_samples,), optional
        The segments to assess (e.g. the final model's ``labels_``). When given, they are
        the base partition instead of a fresh fit, so the table is indexed by *these*
        segment labels and reads directly against the report's segments.

    Returns
    -------
    StabilityResult
    """
    arr = _check_X(X)
    given = None if labels is None else np.asarray(labels)
    if given is not None and given.shape[0] != arr.shape[0]:
        raise ValueError(f"labels has {given.shape[0]} entries for {arr.shape[0]} rows of X")
    if k < 2:
        raise ValueError(f"k must be at least 2 to assess stability, got {k}")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    make_model = make_model or default_model
    rng = _rng(random_state)
    n = arr.shape[0]
    idx = _sample_indices(n, sample_size, rng)
    base = arr[idx]
    m = base.shape[0]
    with _single_thread():
        base_seed = _seed(rng)
        if given is None:
            _, labels = _fit_labels(make_model, k, base_seed, base)
        else:
            labels = given[idx]
        uniq, code = _codes(labels)
        k0 = len(uniq)
        jac = np.empty((n_bootstrap, k0))
        for b in range(n_bootstrap):
            draw = rng.integers(0, m, size=m)
            _, boot_labels = _fit_labels(make_model, k, _seed(rng), base[draw])
            rows, first = np.unique(draw, return_index=True)
            jac[b] = _max_jaccard(code[rows], boot_labels[first], k0)
    sizes = np.bincount(code, minlength=k0)
    present = (~np.isnan(jac)).sum(axis=0)
    means = np.where(present > 0, np.nansum(jac, axis=0) / np.maximum(present, 1), np.nan)
    table = pd.DataFrame(
        {
            "size": sizes,
            "share": sizes / m,
            "mean_jaccard": means,
            "reading": [stability_reading(v) for v in means],
            "times_dissolved": (jac <= DISSOLUTION).sum(axis=0),
            "times_absent": np.isnan(jac).sum(axis=0),
        },
        index=pd.Index(uniq, name="segment"),
    )
    sampled = {
        "base": _sample_note(m, n, "base fit whose segments are assessed"),
        "bootstrap": {
            "rows": int(m),
            "replicates": int(n_bootstrap),
            "used_for": "refits on resamples (with replacement) of the base",
        },
    }
    return StabilityResult(
        table=table,
        jaccard=pd.DataFrame(
            jac, columns=table.index, index=pd.RangeIndex(n_bootstrap, name="replicate")
        ),
        k=int(k),
        n_bootstrap=int(n_bootstrap),
        labels=labels,
        sampled=sampled,
    )


# ---------------------------------------------------------------------------
# seed agreement and split-half replication
# ---------------------------------------------------------------------------


class SeedARI(NamedTuple):
    """Agreement between solutions from different seeds; unpacks as ``(mean, matrix)``."""

    mean: float
    matrix: pd.DataFrame


def seed_ari(
    X: ArrayLike,
    make_model: ModelFactory | None,
    k: int,
    seeds: Iterable[int] = (0, 1, 2, 3, 4),
    sample_size: int | None = None,
    random_state: int | np.random.Generator | None = None,
) -> SeedARI:
    """Adjusted Rand index between the solutions fitted with different seeds.

    A mean near 1 says the segmentation does not depend on the random start;
    well below 1 says the algorithm lands on different local optima (try more
    ``n_init`` or another k).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    make_model : callable or None
        Model factory (``None``: k-means).
    k : int
    seeds : iterable of int
        One fit per seed (at least two).
    sample_size : int, optional
        Fit on a random sample of this many rows (``None``: all rows).
    random_state : int, numpy Generator or None
        Seeds the sample only.

    Returns
    -------
    SeedARI
        ``mean`` of the pairwise ARIs (off-diagonal) and the seeds x seeds
        ``matrix``.
    """
    from sklearn.metrics import adjusted_rand_score

    arr = _check_X(X)
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seed_ari needs at least two seeds, got {seeds}")
    make_model = make_model or default_model
    sub = arr[_sample_indices(arr.shape[0], sample_size, _rng(random_state))]
    with _single_thread():
        labels = [_fit_labels(make_model, k, s, sub)[1] for s in seeds]
    mat = np.eye(len(seeds))
    for i in range(len(seeds)):
        for j in range(i + 1, len(seeds)):
            mat[i, j] = mat[j, i] = adjusted_rand_score(labels[i], labels[j])
    frame = pd.DataFrame(
        mat, index=pd.Index(seeds, name="seed"), columns=pd.Index(seeds, name="seed")
    )
    return SeedARI(float(mat[np.triu_indices(len(seeds), 1)].mean()), frame)


def split_half(
    X: ArrayLike,
    make_model: ModelFactory | None,
    k: int,
    random_state: int | np.random.Generator | None = None,
    sample_size: int | None = None,
) -> float:
    """Split-half replication: do two halves of the customers give the same segments?

    The rows (or a random sample of ``sample_size`` rows) are shuffled and
    cut into halves A and B; a model is fitted on each. On A, the labels of
    A's own model are compared (adjusted Rand index) with the labels B's
    model predicts for A's customers; likewise on B. The result is the mean
    of the two ARIs. Near 1: the segmentation replicates; near 0: it is an
    arbitrary cut of this particular data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    make_model : callable or None
        Model factory; the estimator needs ``predict``. ``None``: k-means.
    k : int
    random_state : int, numpy Generator or None
        Seeds the split and the two fits.
    sample_size : int, optional
        Split a random sample of this many rows instead of all rows.

    Returns
    -------
    float
    """
    from sklearn.metrics import adjusted_rand_score

    arr = _check_X(X, min_rows=4)
    make_model = make_model or default_model
    rng = _rng(random_state)
    idx = _sample_indices(arr.shape[0], sample_size, rng)
    perm = rng.permutation(idx)
    half = len(perm) // 2
    a, b = arr[np.sort(perm[:half])], arr[np.sort(perm[half : 2 * half])]
    with _single_thread():
        model_a, lab_a = _fit_labels(make_model, k, _seed(rng), a)
        model_b, lab_b = _fit_labels(make_model, k, _seed(rng), b)
        if not (hasattr(model_a, "predict") and hasattr(model_b, "predict")):
            raise TypeError("split_half needs models with a predict(X) method")
        ari_a = adjusted_rand_score(lab_a, np.asarray(model_b.predict(a)).ravel())
        ari_b = adjusted_rand_score(lab_b, np.asarray(model_a.predict(b)).ravel())
    return float((ari_a + ari_b) / 2)


# ---------------------------------------------------------------------------
# clustering tendency
# ---------------------------------------------------------------------------


def _hopkins(
    arr: np.ndarray, sample_size: int, rng: np.random.Generator
) -> tuple[float, float, int]:
    from sklearn.neighbors import NearestNeighbors

    n, d = arr.shape
    m = int(min(sample_size, max(10, n // 10), n - 1))
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    nn = NearestNeighbors(n_neighbors=2).fit(arr)
    probes = rng.uniform(lo, hi, size=(m, d))
    u = nn.kneighbors(probes, n_neighbors=1, return_distance=True)[0][:, 0]
    picked = rng.choice(n, size=m, replace=False)
    w = nn.kneighbors(arr[picked], n_neighbors=2, return_distance=True)[0][:, 1]
    with np.errstate(divide="ignore"):
        log_u = d * np.log(u)
        log_w = d * np.log(w)
    su, sw = logsumexp(log_u), logsumexp(log_w)
    if np.isneginf(su) and np.isneginf(sw):
        return 0.5, 0.5, m
    h = float(expit(su - sw))
    p_value = float(stats.beta.sf(h, m, m))
    return h, p_value, m


def hopkins(
    X: ArrayLike,
    sample_size: int = 1000,
    random_state: int | np.random.Generator | None = None,
) -> float:
    """Hopkins statistic of clustering tendency (about 0.5: no structure; near 1: clustered).

    ``m`` probe points are drawn uniformly in the data's bounding box and
    ``m`` customers are drawn from the data. With ``u`` the distance from
    each probe to its nearest customer and ``w`` the distance from each drawn
    customer to its nearest *other* customer, in ``d`` dimensions::

        H = sum(u**d) / (sum(u**d) + sum(w**d))

    Convention: the original Hopkins-Skellam orientation (as in the R
    ``hopkins`` package and current ``factoextra``), where random data gives
    about 0.5 and clustered data approaches 1, because "higher = more
    structure" is the reading analysts expect. (Older ``factoextra`` returned
    ``1 - H``, where 0 meant clustered.) Distances are raised to the power
    ``d`` as in Cross & Jain (1982) and Wright (2022): then ``H`` follows a
    Beta(m, m) distribution under complete spatial randomness, which gives
    the p-value reported by :func:`clusterability`.

    Nearest neighbours are searched among all rows with
    :class:`sklearn.neighbors.NearestNeighbors` (a tree; no ``n x n``
    matrix). The number of probes is ``min(sample_size, max(10, n // 10))``
    so that the probes stay a small fraction of the data.

    Caveat: the reference is uniform in the bounding box, so a single
    compact blob, heavy skew or a few outliers stretching the box also read
    as "clustered". Read the statistic together with stability and the
    projection plot.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    sample_size : int
        Probe points (and customers drawn).
    random_state : int, numpy Generator or None

    Returns
    -------
    float
    """
    arr = _check_X(X, min_rows=4)
    return _hopkins(arr, sample_size, _rng(random_state))[0]


@dataclass(frozen=True)
class Clusterability:
    """Clustering tendency in one number and one sentence.

    Attributes
    ----------
    hopkins : float
        See :func:`hopkins`.
    p_value : float
        One-sided p-value of ``H`` under uniform random data (Beta(m, m)).
    reading : str
        Plain-language verdict.
    sample_size : int
        Probe points used (``m``).
    n_samples : int
        Rows searched for nearest neighbours.
    """

    hopkins: float
    p_value: float
    reading: str
    sample_size: int
    n_samples: int


def _clusterability_reading(h: float) -> str:
    if h >= 0.75:
        return "strong group structure: segments reflect real groups in the data"
    if h >= 0.6:
        return "weak group structure: segments are partly real, partly arbitrary cuts"
    return "no real group structure: segments will be arbitrary cuts"


def clusterability(
    X: ArrayLike,
    sample_size: int = 1000,
    random_state: int | np.random.Generator | None = None,
    max_rows: int | None = 20_000,
) -> Clusterability:
    """Is there group structure worth segmenting? Hopkins statistic plus a plain sentence.

    Reading: ``H >= 0.75`` "strong group structure"; ``0.6 <= H < 0.75``
    "weak group structure"; ``H < 0.6`` "no real group structure: segments
    will be arbitrary cuts". Without real structure, segments can still be
    useful as a business partition (e.g. value tiers), but the data does not
    choose them: say so in the report.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    sample_size : int
        Probe points for :func:`hopkins`.
    random_state : int, numpy Generator or None
    max_rows : int or None, default 20_000
        Larger data is replaced by a uniform random sample of this many rows
        before the nearest-neighbour search (Hopkins' statistic of a random
        sample estimates the same tendency; uniform probes defeat the k-d
        tree, so at a million rows the full search took most of a minute,
        and 26 s at 100,000). ``n_samples`` of
        the result says how many rows were searched. None: always all rows.

    Returns
    -------
    Clusterability
    """
    arr = _check_X(X, min_rows=4)
    rng = _rng(random_state)
    if max_rows is not None and arr.shape[0] > max_rows:
        arr = arr[np.sort(rng.choice(arr.shape[0], size=max_rows, replace=False))]
    h, p_value, m = _hopkins(arr, sample_size, rng)
    return Clusterability(h, p_value, _clusterability_reading(h), m, arr.shape[0])


# ---------------------------------------------------------------------------
# number of segments
# ---------------------------------------------------------------------------


def _knee(ks: np.ndarray, values: np.ndarray) -> int | None:
    """Knee of a decreasing curve: the point farthest from the chord joining its ends.

    Both axes are first scaled to [0, 1]; on those axes the distance to the
    chord is proportional to Kneedle's difference curve (Satopaa et al. 2011,
    sensitivity 0), so the two methods pick the same point.
    """
    ok = np.isfinite(values)
    ks, values = ks[ok], values[ok]
    if len(ks) < 3 or values.max() == values.min():
        return None
    x = (ks - ks.min()) / (ks.max() - ks.min())
    y = (values - values.min()) / (values.max() - values.min())
    # chord from (0, y0) to (1, y1); for a decreasing curve y0 = 1, y1 = 0: distance ~ 1 - x - y
    y0, y1 = y[0], y[-1]
    dist = (y0 + (y1 - y0) * x) - y
    return int(ks[int(np.argmax(dist))])


def _gap_statistic(
    Xg: np.ndarray,
    ks: Sequence[int],
    make_model: ModelFactory,
    seed: int,
    n_refs: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Gap(k) and s_k (Tibshirani, Walther & Hastie 2001) with PCA-aligned uniform references."""
    log_w = np.array([np.log(_wss(Xg, _fit_labels(make_model, k, seed, Xg)[1])) for k in ks])
    mean = Xg.mean(axis=0)
    centred = Xg - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    ref = np.empty((n_refs, len(ks)))
    for b in range(n_refs):
        Z = rng.uniform(lo, hi, size=rotated.shape) @ vt + mean
        for j, k in enumerate(ks):
            ref[b, j] = np.log(_wss(Z, _fit_labels(make_model, k, seed, Z)[1]))
    gap = ref.mean(axis=0) - log_w
    s = ref.std(axis=0) * np.sqrt(1.0 + 1.0 / n_refs)
    return gap, s


@dataclass(frozen=True)
class ConsensusResult:
    """Number-of-segments criteria side by side, their votes and the recommendation.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``k``; columns ``inertia``, ``silhouette``,
        ``calinski_harabasz``, ``davies_bouldin``, ``gap``, ``gap_se``,
        ``bic``, ``stability_mean``, ``stability_min``, ``min_share``,
        ``eligible`` (criteria not run are NaN).
    votes : pandas.DataFrame
        Index ``criterion``; columns ``k`` (nullable int: no vote when the
        criterion could not decide), ``rule`` and ``reason``.
    recommended_k : int
    reason : str
        One sentence.
    sampled : dict
        For each step, the rows it used out of how many (``sampled`` is
        ``True`` when that is fewer than all rows).
    min_share : float
        The eligibility threshold used.
    """

    table: pd.DataFrame
    votes: pd.DataFrame
    recommended_k: int
    reason: str
    sampled: dict[str, Any]
    min_share: float

    def plot(self, axes: Any = None) -> np.ndarray:
        """Shortcut for :func:`plot_criteria`."""
        return plot_criteria(self, axes=axes)


_RULES = {
    "silhouette": "highest mean silhouette width",
    "calinski_harabasz": "highest Calinski-Harabasz index",
    "davies_bouldin": "lowest Davies-Bouldin index",
    "gap": "smallest k with Gap(k) >= Gap(k+1) - s(k+1) (Tibshirani 2001)",
    "bic": "lowest BIC of a full-covariance Gaussian mixture",
    "knee": "knee of the inertia curve (farthest point from the chord, Kneedle)",
    "stability": "largest k whose every segment has mean bootstrap Jaccard >= 0.75, "
    "else the highest mean Jaccard",
}


def _vote(criterion: str, t: pd.DataFrame, eligible: np.ndarray) -> tuple[int | None, str]:
    ks = t.index.to_numpy()
    el = t[eligible]

    def best(col: str, higher: bool, label: str) -> tuple[int | None, str]:
        s = el[col].dropna()
        if s.empty:
            return None, f"{label} not available for any eligible k"
        k = int(s.idxmax() if higher else s.idxmin())
        return k, f"{label} {'highest' if higher else 'lowest'} at k={k} ({s[k]:.3g})"

    if criterion == "silhouette":
        return best("silhouette", True, "mean silhouette")
    if criterion == "calinski_harabasz":
        return best("calinski_harabasz", True, "Calinski-Harabasz")
    if criterion == "davies_bouldin":
        return best("davies_bouldin", False, "Davies-Bouldin")
    if criterion == "bic":
        return best("bic", False, "Gaussian-mixture BIC")
    if criterion == "gap":
        gap, se = t["gap"].to_numpy(), t["gap_se"].to_numpy()
        holds = [
            i
            for i in range(len(ks) - 1)
            if np.isfinite(gap[i]) and gap[i] >= gap[i + 1] - se[i + 1]
        ]
        ok = [i for i in holds if eligible[i]]
        note = ""
        if holds and not eligible[holds[0]]:
            note = f"the rule picks k={ks[holds[0]]}, which is not eligible; "
        if ok:
            i = ok[0]
            return int(ks[i]), note + (
                f"Gap({ks[i]}) = {gap[i]:.3f} >= Gap({ks[i + 1]}) - s = "
                f"{gap[i + 1] - se[i + 1]:.3f}"
            )
        k, _ = best("gap", True, "gap")
        if k is None:
            return None, "gap statistic not available"
        return k, note + f"no eligible k satisfies the rule; largest gap among eligible k at k={k}"
    if criterion == "knee":
        k = _knee(ks.astype(float), t["inertia"].to_numpy())
        if k is None:
            return None, "inertia curve too short or flat for a knee"
        if bool(t.loc[k, "eligible"]):
            return k, f"inertia curve bends most sharply at k={k}"
        below = [int(x) for x in el.index if x < k]
        above = [int(x) for x in el.index if x > k]
        if not below and not above:
            return None, f"knee at k={k}, but no k is eligible"
        alt = max(below) if below else min(above)
        return (
            alt,
            f"knee at k={k} (not eligible: smallest segment too small); nearest eligible k={alt}",
        )
    if criterion == "stability":
        s = el[["stability_mean", "stability_min"]].dropna()
        if s.empty:
            return None, "stability not available"
        ok = s.index[s["stability_min"] >= STABLE_JACCARD]
        if len(ok):
            k = int(ok.max())
            return (
                k,
                f"largest k with every segment stable "
                f"(min mean Jaccard {s.loc[k, 'stability_min']:.2f})",
            )
        k = int(s["stability_mean"].idxmax())
        return k, (
            f"no k has every segment stable; highest mean Jaccard at k={k} "
            f"({s.loc[k, 'stability_mean']:.2f})"
        )
    raise ValueError(criterion)  # pragma: no cover


def _fmt_ks(ks: Iterable[int]) -> str:
    ks = [int(k) for k in ks]
    return ", ".join(map(str, ks))


def consensus_k(
    X: ArrayLike,
    k_range: Iterable[int] = range(2, 11),
    make_model: ModelFactory | None = None,
    random_state: int | np.random.Generator | None = None,
    sample_size: int | None = 20_000,
    silhouette_sample: int = 10_000,
    n_bootstrap: int = 20,
    n_gap_refs: int = 10,
    min_share: float = 0.05,
    criteria: Iterable[str] | None = None,
    gap_sample: int = 5_000,
    stability_sample: int = 5_000,
    covariance_type: str = "full",
) -> ConsensusResult:
    """Recommend a number of segments by a vote of several criteria (what NbClust does in R).

    For each k the model is fitted on a random sample of ``sample_size`` rows
    (the *sweep sample*) and these are computed (rules in brackets):

    - ``inertia``: within-segment sum of squares on the sweep sample
      [``knee``: the point of the inertia-vs-k curve farthest from the chord
      joining its ends, both axes scaled to [0, 1]; equivalent to Kneedle
      with sensitivity 0. A knee on an ineligible k passes its vote to the
      nearest eligible smaller k];
    - ``silhouette``: mean silhouette width on a sub-sample of
      ``silhouette_sample`` rows (O(n^2), computed blockwise) [max];
    - ``calinski_harabasz`` [max] and ``davies_bouldin`` [min] on the sweep
      sample;
    - ``gap``, ``gap_se``: gap statistic on a sub-sample of ``gap_sample``
      rows, against ``n_gap_refs`` data sets drawn uniformly in the bounding
      box of the sample's principal axes (Tibshirani, Walther & Hastie 2001,
      reference (b)); every reference is clustered with ``make_model`` [the
      smallest k with Gap(k) >= Gap(k+1) - s(k+1); if none, the largest gap];
    - ``bic``: BIC of a ``GaussianMixture(k, covariance_type)`` on the sweep
      sample; ``"full"`` by default because basis variables are correlated
      and a diagonal model needs extra components to mimic tilted segments
      (which inflates k) [min];
    - ``stability_mean``, ``stability_min``: mean and lowest per-segment mean
      Jaccard from :func:`bootstrap_stability` on a sub-sample of
      ``stability_sample`` rows [the largest k whose every segment reaches
      0.75 ("stable"); if none, the highest mean];
    - ``min_share``: smallest segment's share of the sweep sample. A k whose
      smallest segment is below ``min_share`` is **not eligible**: it cannot
      receive a vote (a segment that small is not "substantial").

    ``recommended_k`` is the k with the most votes; a tie is broken by the
    higher mean silhouette. With more than 20 000 rows, run the final fit on
    everyone with the recommended k afterwards; everything here works on
    samples, described in ``sampled``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Preprocessed (standardised) basis variables.
    k_range : iterable of int
        Candidate numbers of segments (each >= 2; at least three for a knee).
    make_model : callable, optional
        ``make_model(k, random_state) -> estimator`` with ``fit`` and
        ``labels_``; default :func:`default_model` (k-means, ``n_init=4``).
    random_state : int, numpy Generator or None
        Seeds every sample, reference data set, resample and model.
    sample_size : int or None
        Rows of the sweep sample (``None``: all rows).
    silhouette_sample, gap_sample, stability_sample : int
        Sub-samples of the sweep sample for the O(n^2) or refit-heavy steps.
    n_bootstrap : int
        Bootstrap replicates per k for the stability criterion.
    n_gap_refs : int
        Reference data sets (B) for the gap statistic.
    min_share : float
        Smallest acceptable segment share (0 disables the check).
    criteria : iterable of str, optional
        Criteria that vote (subset of :data:`CRITERIA`; default all). Gap,
        BIC and stability are only computed when they vote.
    covariance_type : {"full", "diag", "tied", "spherical"}
        Covariance of the Gaussian mixtures behind the BIC.

    Returns
    -------
    ConsensusResult

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(600, centers=3, random_state=0)
    >>> res = consensus_k(X, range(2, 6), random_state=0, n_bootstrap=5, n_gap_refs=3)
    >>> res.recommended_k
    3
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
    from sklearn.mixture import GaussianMixture

    arr = _check_X(X)
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 2:
        raise ValueError(f"k_range must hold integers >= 2, got {ks}")
    n = arr.shape[0]
    if ks[-1] >= n:
        raise InputDataError(f"k up to {ks[-1]} needs more than {n} rows")
    crit = list(CRITERIA) if criteria is None else list(dict.fromkeys(criteria))
    unknown = sorted(set(crit) - set(CRITERIA))
    if unknown or not crit:
        raise ValueError(f"unknown criteria {unknown}; choose from {list(CRITERIA)}")
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share must be in [0, 1), got {min_share}")
    make_model = make_model or default_model

    # independent streams so that switching a criterion off does not change the others
    rng = _rng(random_state)
    model_seed = _seed(rng)
    r_sweep, r_sil, r_gap, r_bic, r_stab = rng.spawn(5)
    sweep_idx = _sample_indices(n, sample_size, r_sweep)
    Xs = arr[sweep_idx]
    m = Xs.shape[0]
    sil_idx = _sample_indices(m, silhouette_sample, r_sil)
    sampled: dict[str, Any] = {
        "n_samples": int(n),
        "sweep": _sample_note(
            m, n, "model fits, inertia, Calinski-Harabasz, Davies-Bouldin, segment shares"
        ),
        "silhouette": _sample_note(len(sil_idx), n, "mean silhouette width (pairwise distances)"),
    }

    rows: dict[int, dict[str, float]] = {}
    labelings = []
    with _single_thread():
        for k in ks:
            _, labels = _fit_labels(make_model, k, model_seed, Xs)
            labelings.append(labels)
            counts = np.unique(labels, return_counts=True)[1]
            multi = len(counts) > 1
            rows[k] = {
                "inertia": _wss(Xs, labels),
                "calinski_harabasz": calinski_harabasz_score(Xs, labels) if multi else np.nan,
                "davies_bouldin": davies_bouldin_score(Xs, labels) if multi else np.nan,
                "min_share": counts.min() / m,
            }
        sil = _silhouette_many(Xs[sil_idx], [lab[sil_idx] for lab in labelings]).mean(axis=1)
        for k, s in zip(ks, sil, strict=True):
            rows[k]["silhouette"] = float(s)

        if "gap" in crit:
            gap_idx = _sample_indices(m, gap_sample, r_gap)
            gap, se = _gap_statistic(Xs[gap_idx], ks, make_model, model_seed, n_gap_refs, r_gap)
            for j, k in enumerate(ks):
                rows[k]["gap"], rows[k]["gap_se"] = gap[j], se[j]
            sampled["gap"] = _sample_note(len(gap_idx), n, "gap statistic (observed fits)")
            sampled["gap"]["reference_sets"] = int(n_gap_refs)
        if "bic" in crit:
            bic_seed = _seed(r_bic)
            for k in ks:
                gm = GaussianMixture(k, covariance_type=covariance_type, random_state=bic_seed)
                rows[k]["bic"] = gm.fit(Xs).bic(Xs)
            sampled["bic"] = _sample_note(m, n, f"Gaussian mixture BIC ({covariance_type})")
        if "stability" in crit:
            stab_idx = _sample_indices(m, stability_sample, r_stab)
            for k in ks:
                st = bootstrap_stability(
                    Xs[stab_idx], make_model, k, n_bootstrap=n_bootstrap, random_state=_seed(r_stab)
                )
                rows[k]["stability_mean"] = st.mean_jaccard
                rows[k]["stability_min"] = st.min_jaccard
            sampled["stability"] = _sample_note(len(stab_idx), n, "bootstrap stability base")
            sampled["stability"]["replicates"] = int(n_bootstrap)

    columns = [
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
    ]
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).astype(float)
    table.index = pd.Index(ks, name="k")
    eligible = (table["min_share"] >= min_share).to_numpy()
    table["eligible"] = eligible
    excluded = [k for k, e in zip(ks, eligible, strict=True) if not e]
    none_eligible = not eligible.any()
    vote_on = np.ones_like(eligible) if none_eligible else eligible

    vote_rows = []
    for c in crit:
        k, why = _vote(c, table, vote_on)
        vote_rows.append((c, k, _RULES[c], why))
    votes = pd.DataFrame(vote_rows, columns=["criterion", "k", "rule", "reason"]).set_index(
        "criterion"
    )
    votes["k"] = votes["k"].astype("Int64")

    cast = votes["k"].dropna().astype(int)
    if cast.empty:
        sil_el = table.loc[vote_on, "silhouette"]
        recommended = int(sil_el.idxmax())
        why = f"no criterion could vote; k={recommended} has the highest silhouette"
    else:
        counts = cast.value_counts()
        top = counts[counts == counts.max()].index.tolist()
        recommended = int(max(top, key=lambda k: (table.loc[k, "silhouette"], -k)))
        agree = cast.index[cast == recommended].tolist()
        why = (
            f"k={recommended}: {len(agree)} of {len(cast)} criteria vote for it "
            f"({', '.join(agree)})"
        )
        if len(top) > 1:
            why += (
                f", tied with k={_fmt_ks(t for t in top if t != recommended)} and chosen "
                f"for its higher silhouette"
            )
    if none_eligible:
        why += (
            f"; no k in the range gives every segment at least {min_share:.0%} of customers, "
            "so all k were allowed to vote"
        )
    elif excluded:
        why += (
            f"; k={_fmt_ks(excluded)} not eligible because the smallest segment is under "
            f"{min_share:.0%} of customers"
        )
    if any(v["sampled"] for v in sampled.values() if isinstance(v, dict)):
        why += f" (computed on samples of the {n:,} rows; see `sampled`)"
    return ConsensusResult(
        table=table,
        votes=votes,
        recommended_k=recommended,
        reason=why + ".",
        sampled=sampled,
        min_share=float(min_share),
    )


# ---------------------------------------------------------------------------
# plots (each takes ax=None / axes=None and returns what it drew on)
# ---------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots()
    return new_ax


_PANELS: tuple[tuple[str, str, str | None], ...] = (
    ("inertia", "Inertia (within SS)", "knee"),
    ("silhouette", "Silhouette (max)", "silhouette"),
    ("calinski_harabasz", "Calinski-Harabasz (max)", "calinski_harabasz"),
    ("davies_bouldin", "Davies-Bouldin (min)", "davies_bouldin"),
    ("gap", "Gap statistic", "gap"),
    ("bic", "GMM BIC (min)", "bic"),
    ("stability_mean", "Bootstrap Jaccard", "stability"),
    ("min_share", "Smallest segment share", None),
)


def plot_criteria(result: ConsensusResult, axes: Any = None) -> np.ndarray:
    """One small plot per criterion against k, with the recommended k and each vote marked.

    The recommended k is a dashed vertical line on every panel; the
    criterion's own vote is a filled red marker; ineligible ks (smallest
    segment under ``min_share``) are shaded grey.

    Parameters
    ----------
    result : ConsensusResult
    axes : array of matplotlib Axes, optional
        At least as many Axes as panels with data (up to 8); a 2 x 4 grid is
        created when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    t = result.table
    panels = [p for p in _PANELS if t[p[0]].notna().any()]
    if axes is None:
        import matplotlib.pyplot as plt

        ncols = 4
        nrows = int(np.ceil(len(panels) / ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    flat = np.asarray(axes, dtype=object).ravel()
    if len(flat) < len(panels):
        raise ValueError(f"plot_criteria needs {len(panels)} axes, got {len(flat)}")
    ks = t.index.to_numpy()
    votes = result.votes["k"]
    for ax, (col, title, crit) in zip(flat, panels, strict=False):
        ax.plot(ks, t[col], "o-", color="C0", ms=4)
        if col == "gap":
            ax.errorbar(ks, t["gap"], yerr=t["gap_se"], fmt="none", ecolor="C0", capsize=2)
        if col == "stability_mean":
            ax.plot(ks, t["stability_min"], "s--", color="C1", ms=3, label="weakest segment")
            ax.axhline(STABLE_JACCARD, color="grey", lw=0.8, ls=":")
            ax.legend(fontsize="x-small", loc="lower left")
        if col == "min_share":
            ax.axhline(result.min_share, color="grey", lw=0.8, ls=":")
        for k in ks[~t["eligible"].to_numpy(dtype=bool)]:
            ax.axvspan(k - 0.5, k + 0.5, color="0.85", zorder=0)
        ax.axvline(result.recommended_k, color="C3", ls="--", lw=1)
        if crit is not None and crit in votes.index and pd.notna(votes[crit]):
            kv = int(votes[crit])
            ax.plot([kv], [t.loc[kv, col]], "o", color="C3", ms=7)
        ax.set_title(title, fontsize="small")
        ax.set_xticks(ks)
        ax.tick_params(labelsize="x-small")
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    flat[0].figure.suptitle(
        f"Number of segments: k={result.recommended_k} recommended (dashed); "
        "red dot = each criterion's vote; grey = not eligible",
        fontsize="small",
    )
    return np.asarray(axes)


def plot_stability(result: StabilityResult, ax: Axes | None = None) -> Axes:
    """Bar per segment of its mean bootstrap Jaccard, over Hennig's reading bands.

    Parameters
    ----------
    result : StabilityResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    bands = [
        (0.0, 0.5, "dissolved", "#f4cccc"),
        (0.5, 0.6, "unstable", "#fce5cd"),
        (0.6, 0.75, "doubtful", "#fff2cc"),
        (0.75, 0.85, "stable", "#d9ead3"),
        (0.85, 1.0, "highly stable", "#b6d7a8"),
    ]
    for lo, hi, word, colour in bands:
        ax.axhspan(lo, hi, color=colour, zorder=0)
        ax.text(
            1.01,
            (lo + hi) / 2,
            word,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize="x-small",
        )
    t = result.table
    x = np.arange(len(t))
    ax.bar(x, t["mean_jaccard"], color="C0", width=0.6, zorder=2)
    ax.set_xticks(x, [str(s) for s in t.index])
    ax.set_ylim(0, 1)
    ax.set_xlabel("segment")
    ax.set_ylabel("mean Jaccard over bootstrap refits")
    ax.set_title(f"Segment stability, k={result.k}, {result.n_bootstrap} bootstrap refits")
    return ax


def plot_silhouette(
    X: ArrayLike,
    labels: ArrayLike,
    sample_size: int = 5_000,
    random_state: int | np.random.Generator | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Classic silhouette plot (one sorted band per segment) on a random sample.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Segment of each row.
    sample_size : int
        Rows drawn for the plot (silhouettes are O(n^2)).
    random_state : int, numpy Generator or None
        Seeds the sample.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    arr = _check_X(X, min_rows=2)
    lab = _check_labels(labels, arr.shape[0])
    idx = _sample_indices(arr.shape[0], sample_size, _rng(random_state))
    sub_lab = lab[idx]
    sil = _silhouette_many(arr[idx], [sub_lab])[0]
    ax = _axes(ax)
    uniq = np.unique(sub_lab)
    y = 0
    gap = max(1, len(idx) // 100)
    for i, seg in enumerate(uniq):
        vals = np.sort(sil[sub_lab == seg])
        ax.fill_betweenx(np.arange(y, y + len(vals)), 0, vals, color=f"C{i % 10}", alpha=0.8, lw=0)
        ax.text(
            -0.02,
            y + len(vals) / 2,
            str(seg),
            ha="right",
            va="center",
            fontsize="small",
            transform=ax.get_yaxis_transform(),
        )
        y += len(vals) + gap
    mean = float(sil.mean())
    ax.axvline(mean, color="C3", ls="--", lw=1)
    ax.set_yticks([])
    ax.set_xlabel("silhouette width")
    ax.set_xlim(min(-0.1, float(sil.min()) - 0.05), 1)
    shown = (
        f"{len(idx):,} of {arr.shape[0]:,} customers"
        if len(idx) < arr.shape[0]
        else f"{len(idx):,} customers"
    )
    ax.set_title(f"Silhouette by segment ({shown}); mean {mean:.2f}")
    return ax


def plot_projection(
    X: ArrayLike,
    labels: ArrayLike,
    sample_size: int = 5_000,
    random_state: int | np.random.Generator | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Scatter of a sample on the first two principal components, coloured by segment.

    The principal axes are fitted on the sample; segment centroids are the
    means over *all* rows (cheap) projected on the same axes and labelled.
    Only the sample is drawn, never every customer.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    sample_size : int
        Points drawn.
    random_state : int, numpy Generator or None
        Seeds the sample.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sklearn.decomposition import PCA

    arr = _check_X(X, min_rows=2)
    lab = _check_labels(labels, arr.shape[0])
    idx = _sample_indices(arr.shape[0], sample_size, _rng(random_state))
    n_comp = min(2, arr.shape[1])
    pca = PCA(n_components=n_comp).fit(arr[idx])
    pts = pca.transform(arr[idx])
    uniq, inv = _codes(lab)
    counts = np.bincount(inv).astype(float)
    centres = (
        np.column_stack([np.bincount(inv, weights=arr[:, j]) for j in range(arr.shape[1])])
        / counts[:, None]
    )
    cpts = pca.transform(centres)
    if n_comp == 1:
        pts = np.column_stack([pts, np.zeros(len(pts))])
        cpts = np.column_stack([cpts, np.zeros(len(cpts))])
    ax = _axes(ax)
    sub_inv = inv[idx]
    for i, seg in enumerate(uniq):
        sel = sub_inv == i
        ax.scatter(
            pts[sel, 0],
            pts[sel, 1],
            s=4,
            alpha=0.4,
            color=f"C{i % 10}",
            lw=0,
            label=str(seg),
            rasterized=True,
        )
        ax.scatter(cpts[i, 0], cpts[i, 1], s=80, marker="X", color=f"C{i % 10}", edgecolor="k")
        ax.annotate(
            str(seg),
            (cpts[i, 0], cpts[i, 1]),
            xytext=(5, 5),
            textcoords="offset points",
            fontweight="bold",
        )
    ev = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ev[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ev[1]:.0%} of variance)" if n_comp > 1 else "")
    shown = f"{len(idx):,} of {arr.shape[0]:,}" if len(idx) < arr.shape[0] else f"{len(idx):,}"
    ax.set_title(f"Segments on two principal components ({shown} shown)")
    ax.legend(title="segment", markerscale=3, fontsize="small")
    return ax


def describe_sampling(sampled: dict[str, Any]) -> str:
    """One sentence on what ran on samples (from a result's ``sampled``), for reports."""
    parts = [
        f"{v.get('used_for', k)} on {v['rows']:,} of {v['of']:,} customers"
        for k, v in sampled.items()
        if isinstance(v, dict) and v.get("sampled") and "of" in v
    ]
    return (
        ("Run on random samples: " + "; ".join(parts) + ".")
        if parts
        else "Every step used all customers."
    )
