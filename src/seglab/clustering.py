"""Clustering customers into segments: k-means, GMM, Ward, k-prototypes and HDBSCAN behind one API."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_array, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from seglab.errors import InputDataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["METHODS", "Segmenter", "plot_dendrogram", "plot_segment_sizes"]

#: Clustering methods :class:`Segmenter` knows.
METHODS: tuple[str, ...] = ("kmeans", "gmm", "ward", "kprototypes", "hdbscan")
_NOISE = ("nearest", "segment")


def _n(x: int) -> str:
    return f"{x:,}"


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _ward_memory(n: int) -> str:
    """Memory of the condensed distance matrix scipy's Ward linkage builds (float64), as text."""
    nbytes = n * (n - 1) / 2 * 8
    return f"{nbytes / 1e9:,.1f} GB" if nbytes >= 1e9 else f"{nbytes / 1e6:,.0f} MB"


def _validate_data(est: BaseEstimator, X: Any, *, reset: bool, **kw: Any) -> Any:
    """``sklearn.utils.validation.validate_data`` (>= 1.6) with a fallback for older versions."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # pragma: no cover - scikit-learn < 1.6
        return est._validate_data(X, reset=reset, **kw)
    return validate_data(est, X, reset=reset, **kw)


def _check_finite(X: Any) -> None:
    """Raise naming columns and counts when a numeric matrix holds NaN or inf."""
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        if not all(is_numeric_dtype(X[c]) for c in X.columns):
            return  # check_array reports non-numeric columns
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            return  # check_array reports it
        if arr.ndim != 2:
            return
        names = [f"column {j}" for j in range(arr.shape[1])]
    if arr.size == 0 or np.isfinite(arr.sum(axis=0)).all():
        return
    nan = np.isnan(arr).sum(axis=0)
    inf = np.isinf(arr).sum(axis=0)
    parts = [
        f"{names[j]}: {_n(int(nan[j]))} NaN, {_n(int(inf[j]))} inf"
        for j in np.flatnonzero(nan + inf)
    ]
    raise InputDataError(
        f"the matrix to cluster contains missing (NaN) or infinite (inf) values in "
        f"{len(parts)} column(s) out of {_n(arr.shape[0])} rows ({'; '.join(parts)}). Run the "
        "customer table through BasisPreprocessor, which names the raw columns, and impute or "
        "drop those customers first"
    )


def _is_gmm(est: Segmenter) -> bool:
    if est.method != "gmm":
        raise AttributeError(
            f"predict_proba is only available for method='gmm', not {est.method!r}"
        )
    return True


class Segmenter(ClusterMixin, BaseEstimator):
    """Segment customers with one of several clustering methods, with stable segment numbers.

    Works on an already preprocessed numeric matrix (see
    :class:`seglab.preprocessing.BasisPreprocessor`), or, for
    ``method="kprototypes"``, on a table mixing preprocessed numeric columns
    with raw categorical columns.

    Segment numbers are made meaningful and reproducible: after clustering,
    segments are renumbered ``0..k-1`` by descending mean of ``order_by``
    (e.g. monetary value; label 0 is the most valuable segment), or by
    descending size when ``order_by`` is not given; ties are broken by the
    segment centres' coordinates. The same partition therefore gets the same
    numbers whatever the random seed.

    Parameters
    ----------
    n_clusters : int
        Number of segments (at least 2). Ignored by ``"hdbscan"``, which
        finds the number of segments itself.
    method : {"kmeans", "gmm", "ward", "kprototypes", "hdbscan"}
        ``"kmeans"``: scikit-learn ``KMeans``, or ``MiniBatchKMeans`` when the
        fit data have more than ``minibatch_threshold`` rows.
        ``"gmm"``: ``GaussianMixture`` (full covariances); gives
        :meth:`predict_proba` and ``bic_``.
        ``"ward"``: ``AgglomerativeClustering(linkage="ward")`` on at most
        ``ward_max_samples`` rows, the others assigned to the nearest segment
        centre.
        ``"kprototypes"``: ``kmodes.KPrototypes`` on mixed numeric and
        categorical columns (``categorical`` names them).
        ``"hdbscan"``: ``HDBSCAN`` (density based); noise handled by ``noise``.
    random_state : int, RandomState or None
        Seed of the sampling and of the clustering algorithm.
    n_init : int
        Restarts for k-means, MiniBatchKMeans, GMM and k-prototypes (the best
        one is kept).
    minibatch_threshold : int
        Above this many fit rows ``"kmeans"`` uses ``MiniBatchKMeans``.
    ward_max_samples : int
        Most rows Ward is run on. Ward needs the condensed pairwise distance
        matrix, ``8 n (n-1) / 2`` bytes (1.6 GB at 20,000 rows). Without
        ``fit_sample_size`` a larger table is sampled automatically (said in
        ``notes_``); an explicit ``fit_sample_size`` above the ceiling raises.
    fit_sample_size : int, optional
        Fit on a random sample of this many rows, then assign every row
        (nearest centre, or the model's ``predict`` for GMM / k-prototypes).
        Use it for very large customer bases (e.g. 100,000 of 1M).
    hdbscan_min_cluster_size : int, optional
        Smallest segment HDBSCAN may form; default ``max(10, n // 50)``
        (2 % of the fit rows: a segment must be big enough to act on).
    noise : {"nearest", "segment"}
        What happens to customers HDBSCAN labels noise: assigned to the
        nearest segment centre, or kept together as one extra segment
        numbered ``n_clusters_`` (after the real segments, whatever
        ``order_by`` says). Either way every customer gets a segment.
    categorical : list of int or str, optional
        Categorical columns for ``"kprototypes"`` (indices, or names with a
        DataFrame).

    Attributes
    ----------
    labels_ : numpy.ndarray of shape (n_samples,)
        Segment of every row of ``X``.
    cluster_centers_ : numpy.ndarray of shape (n_clusters_, n_features)
        Segment centres in the preprocessed space, in segment order (GMM:
        component means; k-prototypes: an object array with numeric means
        and categorical modes in the input column order; HDBSCAN: the mean of
        each segment's members, noise excluded).
    sizes_ : pandas.Series
        Customers per segment (index: segment number), noise segment included.
    n_clusters_ : int
        Number of segments found (the HDBSCAN noise segment not counted).
    algorithm_ : str
        Algorithm actually run: ``"kmeans"``, ``"minibatch_kmeans"``,
        ``"gmm"``, ``"ward"``, ``"kprototypes"`` or ``"hdbscan"``.
    notes_ : list of str
        Plain sentences: what was sampled, which algorithm ran and why.
    inertia_ : float
        Within-segment sum of squared distances to the centres over all rows
        (numeric methods; NaN for k-prototypes).
    bic_ : float
        GMM only: Bayesian information criterion on the fit data.
    n_noise_ : int
        HDBSCAN only: rows labelled noise (before reassignment).
    noise_mask_ : numpy.ndarray of bool
        HDBSCAN only: which rows were noise.
    noise_label_ : int or None
        HDBSCAN with ``noise="segment"``: the noise segment's number.
    model_ : estimator
        The fitted underlying model.
    sample_indices_ : numpy.ndarray or None
        Rows the model was fitted on when a sample was used.

    Examples
    --------
    >>> Z = BasisPreprocessor(numeric=basis).fit_transform(customers)  # doctest: +SKIP
    >>> seg = Segmenter(n_clusters=4, random_state=0).fit(Z, order_by=customers["monetary"])
    ... # doctest: +SKIP
    >>> seg.sizes_, seg.notes_  # doctest: +SKIP
    """

    def __init__(
        self,
        n_clusters: int = 4,
        method: str = "kmeans",
        random_state: int | np.random.RandomState | None = None,
        n_init: int = 10,
        minibatch_threshold: int = 200_000,
        ward_max_samples: int = 20_000,
        fit_sample_size: int | None = None,
        hdbscan_min_cluster_size: int | None = None,
        noise: str = "nearest",
        categorical: Sequence[int | str] | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.random_state = random_state
        self.n_init = n_init
        self.minibatch_threshold = minibatch_threshold
        self.ward_max_samples = ward_max_samples
        self.fit_sample_size = fit_sample_size
        self.hdbscan_min_cluster_size = hdbscan_min_cluster_size
        self.noise = noise
        self.categorical = categorical

    # -- validation ---------------------------------------------------------

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"method={self.method!r} is not known; choose one of {', '.join(METHODS)}"
            )
        if self.method != "hdbscan":
            k = self.n_clusters
            if not _is_int(k):
                raise ValueError(f"n_clusters={k!r} must be an integer >= 2")
            if k < 2:
                raise ValueError(
                    f"n_clusters={k}: a segmentation needs at least 2 segments (one segment is "
                    "the whole customer base); pass n_clusters >= 2"
                )
        for name in ("n_init", "minibatch_threshold", "ward_max_samples"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer")
        for name in ("fit_sample_size", "hdbscan_min_cluster_size"):
            v = getattr(self, name)
            if v is not None and (not _is_int(v) or v < 2):
                raise ValueError(f"{name}={v!r} must be None or an integer >= 2")
        if self.noise not in _NOISE:
            raise ValueError(f"noise={self.noise!r}; choose one of {list(_NOISE)}")
        if self.method == "kprototypes" and not self.categorical:
            raise ValueError(
                "method='kprototypes' needs categorical=[...] naming the categorical columns "
                "(indices, or names with a DataFrame); with numeric columns only use 'kmeans'"
            )

    def _check_rows(self, n: int, what: str = "customer base") -> None:
        if self.method == "hdbscan":
            if n < 2:
                raise InputDataError(
                    f"a {what} of {_n(n)} customers (n_samples={n}) cannot be segmented; "
                    "HDBSCAN needs at least 2 rows"
                )
            return
        k = self.n_clusters
        if n < k:
            raise InputDataError(
                f"a {what} of {_n(n)} customers (n_samples={n}) cannot hold {k} segments "
                f"(n_clusters={k}); lower n_clusters to at most {n} (in practice far fewer: "
                "each segment needs enough customers to act on), or pass more customers"
            )

    def _validate_numeric(self, X: Any, *, reset: bool) -> np.ndarray:
        _check_finite(X)
        return _validate_data(
            self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=1
        )

    def _validate_mixed(self, X: Any, *, reset: bool) -> tuple[np.ndarray, list[int]]:
        """Object array and categorical indices for k-prototypes."""
        if isinstance(X, pd.DataFrame):
            cols = list(X.columns)
            frame = X
        else:
            arr = np.asarray(X, dtype=object)
            if arr.ndim != 2:
                raise InputDataError(f"expected a 2-D table, got {arr.ndim} dimension(s)")
            cols = list(range(arr.shape[1]))
            frame = pd.DataFrame(arr)
        idx = []
        for c in self.categorical:
            if _is_int(c) and not (isinstance(X, pd.DataFrame) and c in cols):
                if not 0 <= c < len(cols):
                    raise ValueError(
                        f"categorical index {c} is out of range for {len(cols)} columns"
                    )
                idx.append(int(c))
            elif c in cols:
                idx.append(cols.index(c))
            else:
                raise InputDataError(f"categorical column {c!r} not found; columns are {cols[:20]}")
        idx = sorted(set(idx))
        num_idx = [j for j in range(len(cols)) if j not in idx]
        if reset:
            self.n_features_in_ = len(cols)
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray([str(c) for c in cols], dtype=object)
        elif len(cols) != self.n_features_in_:
            raise ValueError(
                f"X has {len(cols)} features, but Segmenter is expecting {self.n_features_in_} "
                "features as input"
            )
        frame = frame.copy() if not isinstance(X, pd.DataFrame) else frame
        if num_idx:
            bad = []
            for j in num_idx:
                col = frame.iloc[:, j]
                if is_numeric_dtype(col):
                    continue
                coerced = pd.to_numeric(col, errors="coerce")
                if (coerced.isna() & col.notna()).any():
                    bad.append(str(cols[j]))
                elif not isinstance(X, pd.DataFrame):
                    frame[frame.columns[j]] = coerced.astype(np.float64)
            if bad:
                raise InputDataError(
                    f"column(s) {bad} are not numeric; list them in categorical=[...] or "
                    "convert them"
                )
            _check_finite(frame.iloc[:, num_idx])
        nan = {str(cols[j]): int(frame.iloc[:, j].isna().sum()) for j in idx}
        nan = {c: k for c, k in nan.items() if k}
        if nan:
            raise InputDataError(
                f"missing values in categorical column(s) (column: count) {nan}; fill them "
                "with an explicit level (e.g. 'unknown')"
            )
        return frame.to_numpy(dtype=object), idx

    # -- fitting ------------------------------------------------------------

    def fit(
        self, X: ArrayLike | pd.DataFrame, y: None = None, order_by: ArrayLike | None = None
    ) -> Segmenter:
        """Cluster the customers and number the segments.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
            Preprocessed basis variables (numeric, finite); for
            ``"kprototypes"`` a table with the ``categorical`` columns.
        y : None
            Ignored.
        order_by : array-like of shape (n_samples,), optional
            Value per row (e.g. monetary); segments are numbered by its
            descending mean (0 = highest). Default: descending segment size.

        Returns
        -------
        Segmenter
            The fitted segmenter (``self``).
        """
        self._check_params()
        mixed = self.method == "kprototypes"
        if mixed:
            data, cat_idx = self._validate_mixed(X, reset=True)
        else:
            data, cat_idx = self._validate_numeric(X, reset=True), []
        n = data.shape[0]
        self._check_rows(n)
        order = self._check_order_by(order_by, n)
        rng = check_random_state(self.random_state)
        self.notes_: list[str] = []
        self.n_noise_ = 0
        self.noise_mask_ = None
        self.noise_label_ = None

        # which rows to fit on
        sample_size = None
        if self.fit_sample_size is not None and self.fit_sample_size < n:
            sample_size = int(self.fit_sample_size)
        if self.method == "ward" and (sample_size or n) > self.ward_max_samples:
            if self.fit_sample_size is not None:
                self._refuse_ward(sample_size or n)
            sample_size = int(self.ward_max_samples)
            self.notes_.append(
                f"Ward clustering needs the distances between every pair of customers "
                f"({_ward_memory(n)} for {_n(n)}), so it ran on a random sample of "
                f"{_n(sample_size)} customers (ward_max_samples); the other "
                f"{_n(n - sample_size)} were assigned to the nearest segment centre."
            )
        if sample_size is not None:
            idx = np.sort(rng.choice(n, size=sample_size, replace=False))
            self._check_rows(sample_size, what="fit sample")
            fit_data = data[idx]
            if self.fit_sample_size is not None:
                self.notes_.append(
                    f"The model was fitted on a random sample of {_n(sample_size)} of the "
                    f"{_n(n)} customers (fit_sample_size={_n(sample_size)}); every customer was "
                    "then assigned to a segment with the fitted model."
                )
        else:
            idx = None
            fit_data = data
        self.sample_indices_ = idx

        fit_labels = getattr(self, f"_fit_{self.method}")(fit_data, cat_idx, rng)
        raw_k = self._raw_k
        if idx is None:
            raw_labels = fit_labels
        else:
            raw_labels = self._raw_predict(data)
            raw_labels[idx] = fit_labels
        self._relabel(data, raw_labels, raw_k, order)
        if self.method == "hdbscan" and self.noise_mask_ is not None and idx is not None:
            full = np.zeros(n, dtype=bool)
            full[idx] = self.noise_mask_
            self.noise_mask_ = full
            self.notes_.append(
                f"Noise is only known for the {_n(len(idx))} customers of the fit sample; the "
                f"other {_n(n - len(idx))} were assigned to the nearest segment centre."
            )
        self._set_inertia(data, mixed)
        return self

    def _refuse_ward(self, m: int) -> None:
        raise InputDataError(
            f"Ward clustering of {_n(m)} customers needs the distances between every pair, about "
            f"{_ward_memory(m)} of memory (condensed float64 matrix), above the ceiling "
            f"ward_max_samples={_n(self.ward_max_samples)} ({_ward_memory(self.ward_max_samples)})"
            f". Lower fit_sample_size to at most {_n(self.ward_max_samples)} (everyone else "
            "is assigned to the nearest segment centre), raise ward_max_samples if the machine "
            "has the memory, or use method='kmeans'"
        )

    def _check_order_by(self, order_by: Any, n: int) -> np.ndarray | None:
        if order_by is None:
            return None
        values = np.asarray(order_by, dtype=np.float64)
        if values.ndim != 1 or values.shape[0] != n:
            raise ValueError(
                f"order_by must be one value per row of X ({_n(n)}), got shape {values.shape}"
            )
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise InputDataError(
                f"order_by has {_n(bad)} missing or infinite values out of {_n(n)}; fill them "
                "(e.g. 0 spend) before ordering segments by it"
            )
        return values

    # each _fit_<method> returns labels 0..raw_k-1 (or -1 for noise) on the fit rows and sets
    # self._raw_k, self._raw_centers (raw order) and self.model_

    def _sub_seed(self, rng: np.random.RandomState) -> Any:
        # an int random_state is passed through so that the same seed gives the same model
        return (
            self.random_state if not isinstance(self.random_state, np.random.RandomState) else rng
        )

    def _fit_kmeans(self, X: np.ndarray, cat_idx: list[int], rng: Any) -> np.ndarray:
        n = X.shape[0]
        k = int(self.n_clusters)
        if n > self.minibatch_threshold:
            self.model_ = MiniBatchKMeans(
                n_clusters=k,
                n_init=self.n_init,
                random_state=self._sub_seed(rng),
                batch_size=4096,
            ).fit(X)
            self.algorithm_ = "minibatch_kmeans"
            self.notes_.append(
                f"MiniBatchKMeans was used because the fit data have {_n(n)} rows (above "
                f"minibatch_threshold={_n(self.minibatch_threshold)}): it updates the centres "
                "from small random batches, so it is much faster and lighter on memory, at the "
                "cost of a slightly higher within-segment spread (typically 1-3 % higher "
                "inertia) than full k-means; raise minibatch_threshold to force full k-means."
            )
        else:
            self.model_ = KMeans(n_clusters=k, n_init=self.n_init, random_state=self._sub_seed(rng))
            self.model_.fit(X)
            self.algorithm_ = "kmeans"
            self.notes_.append(
                f"k-means (Lloyd) with {k} segments, best of {self.n_init} starts, on {_n(n)} rows."
            )
        self._raw_k = k
        self._raw_centers = self.model_.cluster_centers_
        return self.model_.labels_.astype(np.intp)

    def _fit_gmm(self, X: np.ndarray, cat_idx: list[int], rng: Any) -> np.ndarray:
        k = int(self.n_clusters)
        self.model_ = GaussianMixture(
            n_components=k, n_init=self.n_init, random_state=self._sub_seed(rng)
        ).fit(X)
        self.algorithm_ = "gmm"
        self.bic_ = float(self.model_.bic(X))
        self.notes_.append(
            f"Gaussian mixture with {k} full-covariance components, best of {self.n_init} "
            f"starts, on {_n(X.shape[0])} rows; each customer belongs to the most probable "
            "component (predict_proba gives the probabilities)."
        )
        if not self.model_.converged_:
            self.notes_.append(
                "The Gaussian mixture did not converge; treat the segments with caution."
            )
        self._raw_k = k
        self._raw_centers = self.model_.means_
        return self.model_.predict(X).astype(np.intp)

    def _fit_ward(self, X: np.ndarray, cat_idx: list[int], rng: Any) -> np.ndarray:
        k = int(self.n_clusters)
        self.model_ = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(X)
        self.algorithm_ = "ward"
        labels = self.model_.labels_.astype(np.intp)
        self._raw_k = k
        self._raw_centers = np.vstack([X[labels == c].mean(axis=0) for c in range(k)])
        self.notes_.append(
            f"Ward hierarchical clustering with {k} segments on {_n(X.shape[0])} rows; segment "
            "centres are the segment means (used to assign any other customer)."
        )
        return labels

    def _fit_kprototypes(self, X: np.ndarray, cat_idx: list[int], rng: Any) -> np.ndarray:
        from kmodes.kprototypes import KPrototypes

        k = int(self.n_clusters)
        seed = self._sub_seed(rng)
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(np.iinfo(np.int32).max))
        self.model_ = KPrototypes(
            n_clusters=k, init="Cao", n_init=self.n_init, random_state=seed, n_jobs=1
        )
        self.model_.fit(X, categorical=list(cat_idx))
        self.algorithm_ = "kprototypes"
        num_idx = [j for j in range(X.shape[1]) if j not in cat_idx]
        centroids = self.model_.cluster_centroids_  # numeric columns first, then categorical
        centers = np.empty((k, X.shape[1]), dtype=object)
        for pos, j in enumerate(num_idx + list(cat_idx)):
            col = centroids[:, pos]
            centers[:, j] = col.astype(np.float64) if j in num_idx else col
        self._raw_k = k
        self._raw_centers = centers
        self._cat_idx = list(cat_idx)
        self.notes_.append(
            f"k-prototypes with {k} segments on {_n(X.shape[0])} rows: squared distance on the "
            f"{len(num_idx)} numeric column(s) plus gamma={self.model_.gamma:.3g} times the "
            f"number of mismatches on the {len(cat_idx)} categorical column(s) (gamma set to "
            "half the mean standard deviation of the numeric columns)."
        )
        return np.asarray(self.model_.labels_, dtype=np.intp)

    def _fit_hdbscan(self, X: np.ndarray, cat_idx: list[int], rng: Any) -> np.ndarray:
        n = X.shape[0]
        mcs = self.hdbscan_min_cluster_size or max(10, n // 50)
        mcs = min(mcs, n)
        self.model_ = HDBSCAN(min_cluster_size=mcs, copy=True).fit(X)
        self.algorithm_ = "hdbscan"
        labels = self.model_.labels_.astype(np.intp)
        k = int(labels.max()) + 1
        if k == 0:
            raise InputDataError(
                f"HDBSCAN found no dense groups: all {_n(n)} customers are noise with "
                f"min_cluster_size={mcs}; lower hdbscan_min_cluster_size, or use "
                "method='kmeans' (the data may have no density-separated segments)"
            )
        noise = labels < 0
        self.n_noise_ = int(noise.sum())
        self.noise_mask_ = noise
        self._raw_centers = np.vstack([X[labels == c].mean(axis=0) for c in range(k)])
        ignored = (
            f" (n_clusters={self.n_clusters} is ignored: HDBSCAN finds the number itself)"
            if self.n_clusters is not None
            else ""
        )
        self.notes_.append(
            f"HDBSCAN found {k} dense segment(s) on {_n(n)} rows with min_cluster_size={mcs}"
            f"{ignored}."
        )
        share = self.n_noise_ / n
        if self.noise == "nearest":
            if self.n_noise_:
                labels = labels.copy()
                labels[noise] = pairwise_distances_argmin(X[noise], self._raw_centers)
            self.notes_.append(
                f"{_n(self.n_noise_)} customers ({share:.1%}) were noise (not in any dense "
                "group); they were assigned to the nearest segment centre (noise='nearest'; "
                "noise_mask_ marks them)."
            )
        else:
            if self.n_noise_:
                labels = labels.copy()
                labels[noise] = k  # provisional: becomes noise_label_ after renumbering
            self.notes_.append(
                f"{_n(self.n_noise_)} customers ({share:.1%}) were noise (not in any dense "
                "group); they form their own segment, numbered last (noise='segment')."
                if self.n_noise_
                else "No customer was noise, so there is no noise segment."
            )
        self._raw_k = k
        return labels

    # -- assignment and numbering -------------------------------------------

    def _raw_predict(self, data: np.ndarray) -> np.ndarray:
        if self.method == "gmm":
            return self.model_.predict(data).astype(np.intp)
        if self.method == "kprototypes":
            return np.asarray(self.model_.predict(data, categorical=self._cat_idx), dtype=np.intp)
        return pairwise_distances_argmin(data, self._raw_centers[: self._raw_k]).astype(np.intp)

    def _relabel(self, data: np.ndarray, raw: np.ndarray, k: int, order: np.ndarray | None) -> None:
        sizes = np.bincount(raw, minlength=k + 1)
        keys = []
        for c in range(k):
            member = raw == c
            mean = float(order[member].mean()) if order is not None and member.any() else 0.0
            center = tuple(str(v) if isinstance(v, str) else float(v) for v in self._raw_centers[c])
            keys.append((-mean, -int(sizes[c]), center))
        new_order = sorted(range(k), key=lambda c: keys[c])  # new label i = raw new_order[i]
        mapping = np.empty(k + 1, dtype=np.intp)
        mapping[new_order] = np.arange(k)
        mapping[k] = k  # hdbscan noise segment stays last
        self._mapping = mapping
        self._inverse = np.asarray(new_order, dtype=np.intp)
        self.labels_ = mapping[raw]
        self.cluster_centers_ = self._raw_centers[self._inverse]
        self.n_clusters_ = k
        n_labels = k + 1 if (self.method == "hdbscan" and self.noise == "segment") else k
        if n_labels > k and not self.n_noise_:
            n_labels = k  # no noise: no empty noise segment
        if n_labels > k:
            self.noise_label_ = k
        counts = np.bincount(self.labels_, minlength=n_labels)
        self.sizes_ = pd.Series(
            counts, index=pd.RangeIndex(n_labels, name="segment"), name="customers"
        )
        how = (
            "descending mean of order_by (0 = highest)"
            if order is not None
            else "descending size (0 = largest)"
        )
        self.notes_.append(f"Segments are numbered by {how}.")

    def _set_inertia(self, data: np.ndarray, mixed: bool) -> None:
        if mixed:
            self.inertia_ = float("nan")
            return
        total = 0.0
        for c in range(self.n_clusters_):
            member = data[self.labels_ == c]
            if len(member):
                total += float(((member - self.cluster_centers_[c]) ** 2).sum())
        self.inertia_ = total

    # -- scoring ------------------------------------------------------------

    def predict(self, X: ArrayLike | pd.DataFrame) -> np.ndarray:
        """Segment of new customers (preprocessed with the same fitted preprocessor).

        Nearest segment centre for k-means, Ward and HDBSCAN (never noise);
        the model's own ``predict`` for GMM and k-prototypes.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Segment numbers as in ``labels_``.
        """
        check_is_fitted(self, "labels_")
        if self.method == "kprototypes":
            data, _ = self._validate_mixed(X, reset=False)
        else:
            data = self._validate_numeric(X, reset=False)
        return self._mapping[self._raw_predict(data)]

    @available_if(_is_gmm)
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """GMM only: probability of each segment (columns in segment order).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_clusters_)
        """
        check_is_fitted(self, "labels_")
        data = self._validate_numeric(X, reset=False)
        return self.model_.predict_proba(data)[:, self._inverse]


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def plot_dendrogram(
    X_sample: ArrayLike,
    ax: Axes | None = None,
    *,
    method: str = "ward",
    truncate_p: int = 30,
    n_clusters: int | None = None,
    max_samples: int = 5_000,
    random_state: int | np.random.RandomState | None = None,
) -> Axes:
    """Dendrogram of a sample of customers (scipy linkage, truncated to the top merges).

    Parameters
    ----------
    X_sample : array-like of shape (n_samples, n_features)
        Preprocessed basis variables of a sample of customers.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    method : str
        scipy linkage method (``"ward"``, ``"average"``, ...).
    truncate_p : int
        Number of leaves shown (the last merges).
    n_clusters : int, optional
        Draw the cut that gives this many segments.
    max_samples : int
        Larger inputs are randomly sampled down to this many rows.
    random_state : int, RandomState or None
        Seed of that sample.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram, linkage

    X = check_array(X_sample, dtype=np.float64)
    n = X.shape[0]
    sampled = ""
    if n > max_samples:
        idx = check_random_state(random_state).choice(n, size=max_samples, replace=False)
        X = X[np.sort(idx)]
        sampled = f" (random sample of {_n(max_samples)} of {_n(n)})"
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    Z = linkage(X, method=method)
    threshold = None
    if n_clusters is not None and 2 <= n_clusters <= X.shape[0]:
        heights = Z[:, 2]
        threshold = (heights[-n_clusters] + heights[-n_clusters + 1]) / 2
    dendrogram(
        Z,
        truncate_mode="lastp",
        p=truncate_p,
        ax=ax,
        color_threshold=threshold,
        above_threshold_color="grey",
        no_labels=False,
        leaf_rotation=90,
    )
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
        ax.text(ax.get_xlim()[1], threshold, f" {n_clusters} segments", va="bottom", ha="right")
    ax.set_title(f"{method.capitalize()} dendrogram of {_n(X.shape[0])} customers{sampled}")
    ax.set_xlabel("customers (number in brackets: group size)")
    ax.set_ylabel("merge distance")
    return ax


def plot_segment_sizes(
    labels: ArrayLike, ax: Axes | None = None, *, names: dict[int, str] | None = None
) -> Axes:
    """Horizontal bars of customers per segment, annotated with the count and share.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Segment of each customer (e.g. ``Segmenter.labels_``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    names : dict, optional
        Segment number -> display name.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    counts = pd.Series(np.asarray(labels)).value_counts().sort_index()
    total = int(counts.sum())
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 * len(counts) + 1))
    ticks = [str(names.get(s, s)) if names else f"segment {s}" for s in counts.index]
    y = np.arange(len(counts))
    ax.barh(y, counts.to_numpy(), color="steelblue")
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()
    for yi, v in zip(y, counts.to_numpy(), strict=True):
        ax.text(v, yi, f" {_n(int(v))} ({v / total:.0%})", va="center")
    ax.set_xlim(0, counts.max() * 1.25)
    ax.set_xlabel("customers")
    ax.set_title(f"Segment sizes ({_n(total)} customers)")
    return ax
