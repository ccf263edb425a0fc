"""Scoring customers inside a data engine (DuckDB, Spark, ...) with a saved segmentation model.

:meth:`SegmentationModel.predict <seglab.scoring.SegmentationModel.predict>` pulls the
customer table into pandas. For millions of customers it is faster, and lighter on
memory, to let the engine that holds the table do the work: :func:`segment_expr` turns
a fitted model into an `Ibis <https://ibis-project.org>`_ expression that reproduces
:meth:`BasisPreprocessor.transform <seglab.preprocessing.BasisPreprocessor.transform>`
(skew treatment, winsorising clip, scaling, weighted dummies) and the segmenter's
assignment rule, using only portable operations (arithmetic, ``ln``/``exp``,
comparisons, ``CASE``, ``LEAST``), so the same expression runs on DuckDB and on Spark
(``ibis.pyspark``). :func:`score_in_engine` is the convenience wrapper around it.

Supported segmenters (:data:`ENGINE_METHODS`):

- ``"kmeans"`` (``KMeans`` and ``MiniBatchKMeans``), ``"ward"`` and ``"hdbscan"``: their
  ``predict`` is the nearest segment centre (squared Euclidean distance in the
  preprocessed space; HDBSCAN never predicts noise). Ties go to the centre the
  underlying model lists first, exactly as ``pairwise_distances_argmin`` does in Python
  (that is the order *before* segments were renumbered by value).
- ``"gmm"``: the most probable component, i.e. the argmax of the weighted Gaussian
  log-density, written out as ``k`` quadratic forms of the features through the
  Cholesky factors of the precision matrices (``k * p * (p + 1) / 2`` products for full
  covariances, fine for the tens of basis variables a segmentation uses).

``"kprototypes"`` is refused: its rule mixes squared distances with a weighted count of
categorical mismatches on the *raw* categories, which a :class:`SegmentationModel`
(whose preprocessor one-hot encodes the categories) does not keep. Score a sample with
``model.predict`` instead.

Missing values
--------------
``BasisPreprocessor.transform`` refuses a whole table as soon as one basis value is
missing (NULL/NaN), infinite, or ``<= -1`` in a ``log1p`` column. An engine scores row
by row, so here such a row gets a NULL ``segment_id`` (and ``segment_name``) and every
other row is scored as Python would score it. :func:`score_in_engine` counts those rows
and, per basis column, the values that caused them, and warns (``invalid="warn"``) or
raises :class:`~seglab.errors.InputDataError` like Python (``invalid="raise"``).
Categorical levels not seen in fit get no level (all their dummies 0), as in Python.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from seglab import engines
from seglab.errors import InputDataError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from seglab.scoring import SegmentationModel

__all__ = ["ENGINE_METHODS", "preprocess_expr", "score_in_engine", "segment_expr"]

#: Segmenter methods whose assignment rule :func:`segment_expr` can write as an expression.
ENGINE_METHODS: tuple[str, ...] = ("kmeans", "ward", "hdbscan", "gmm")

_PREFIX = "_seglab_"
_VALID = f"{_PREFIX}valid"


def _n(x: int) -> str:
    return f"{x:,}"


def _ibis() -> Any:
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a dependency
        raise ImportError(
            "in-engine scoring needs ibis: pip install 'ibis-framework[duckdb]'"
        ) from exc
    return ibis


# ---------------------------------------------------------------------------
# preprocessing as an expression
# ---------------------------------------------------------------------------


def _check_columns(table: ir.Table, columns: list[str], id_column: str | None) -> None:
    present = set(table.columns)
    missing = [c for c in columns if c not in present]
    if missing:
        raise InputDataError(
            f"the table to score lacks {len(missing)} basis column(s) the model was trained on: "
            f"{', '.join(f'`{c}`' for c in missing)}; columns found: {', '.join(table.columns)}. "
            "Fix: build the customer table with the same steps (notebook 03) before scoring, "
            "or rename the columns to the names the model expects"
        )
    if id_column is not None and id_column not in present:
        raise InputDataError(
            f"id column `{id_column}` not found in the table to score (columns: "
            f"{', '.join(table.columns)}); pass id_column='<your customer id column>'"
        )
    clash = [c for c in table.columns if str(c).startswith(_PREFIX)]
    if clash:
        raise InputDataError(
            f"column(s) {', '.join(f'`{c}`' for c in clash)} use the prefix `{_PREFIX}` that "
            "in-engine scoring reserves for its working columns; rename them"
        )


def _numeric_input(table: ir.Table, col: str) -> tuple[Any, Any]:
    """The column as float64 and whether the value is usable (not NULL, NaN or inf)."""
    dtype = table[col].type()
    if not (dtype.is_numeric() or dtype.is_boolean()):
        raise InputDataError(
            f"numeric basis column `{col}` has type {dtype} in the table to score; in-engine "
            "scoring reads numeric (or boolean) columns only. Cast it in the engine first, "
            f"e.g. table.mutate({col}=table.{col}.try_cast('float64')), or fix the extract's "
            "schema"
        )
    x = table[col].cast("float64")
    valid = x.notnull() & ~x.isnan() & ~x.isinf()
    return x, valid


def _yeo_johnson(z: Any, lmbda: float) -> Any:
    """``scipy.stats.yeojohnson(z, lmbda)`` with portable operations (``ln``, ``exp``).

    Both branches are computed on guarded arguments (``ln`` never sees a value <= 0,
    whatever the engine's ``CASE`` evaluation strategy), then the right one is picked.
    """
    ibis = _ibis()
    eps = float(np.finfo(np.float64).eps)
    pos = z >= 0
    zp = ibis.ifelse(pos, z, 0.0)  # >= 0
    zn = ibis.ifelse(pos, 0.0, -z)  # > 0 on the negative branch
    lp = (zp + 1.0).ln()
    ln_ = (zn + 1.0).ln()
    # scipy: expm1(l * log1p(x)) / l for x >= 0, -expm1((2 - l) * log1p(-x)) / (2 - l) for x < 0
    up = lp if abs(lmbda) < eps else ((lp * lmbda).exp() - 1.0) / lmbda
    down = -ln_ if abs(lmbda - 2) <= eps else -((ln_ * (2 - lmbda)).exp() - 1.0) / (2 - lmbda)
    return ibis.ifelse(pos, up, down)


def _level_match(table: ir.Table, col: str, level: str) -> Any:
    """Whether ``str(value) == level`` (pandas ``astype(str)``), compared in the column's type."""
    ibis = _ibis()
    v = table[col]
    dtype = v.type()
    if dtype.is_string():
        return v == level
    if dtype.is_boolean():
        if level in ("True", "False"):
            return v == (level == "True")
        return ibis.literal(False)
    if dtype.is_integer():
        try:
            as_int = int(level)
        except ValueError:
            return ibis.literal(False)
        return v == as_int if str(as_int) == level else ibis.literal(False)
    if dtype.is_floating():
        try:
            as_float = float(level)
        except ValueError:
            return ibis.literal(False)
        if str(as_float) != level or not np.isfinite(as_float):
            return ibis.literal(False)
        return v == as_float
    raise InputDataError(
        f"categorical basis column `{col}` has type {dtype} in the table to score; in-engine "
        "scoring compares levels of string, integer, floating or boolean columns. Cast it "
        f"in the engine first, e.g. table.mutate({col}=table.{col}.cast('string'))"
    )


def _scaler_params(scaler: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What ``scaler.transform`` subtracts and divides by (None: that step is off)."""
    if isinstance(scaler, StandardScaler):
        return (
            scaler.mean_ if scaler.with_mean else None,
            scaler.scale_ if scaler.with_std else None,
        )
    if isinstance(scaler, RobustScaler):
        return (
            scaler.center_ if scaler.with_centering else None,
            scaler.scale_ if scaler.with_scaling else None,
        )
    raise InputDataError(  # pragma: no cover - BasisPreprocessor only fits these two
        f"cannot score a {type(scaler).__name__} in the engine; refit with scale='standard', "
        "'robust' or 'none'"
    )


def _categorical_valid(table: ir.Table, col: str) -> Any:
    v = table[col]
    valid = v.notnull()
    if v.type().is_floating():
        valid = valid & ~v.isnan()
    return valid


def _validity(pre: Any, table: ir.Table) -> dict[str, Any]:
    """Per basis column: is the value one ``BasisPreprocessor.transform`` accepts?"""
    valid: dict[str, Any] = {}
    for col in pre.numeric_:
        x, ok = _numeric_input(table, col)
        if pre.methods_[col] == "log1p":
            ok = ok & (x > -1.0)
        valid[col] = ok
    for col in pre.categorical_:
        valid[col] = _categorical_valid(table, col)
    return valid


def _features_table(pre: Any, table: ir.Table, keep: list[str]) -> tuple[ir.Table, list[str]]:
    """``keep``, the validity flag and the preprocessed features ``_seglab_f0..``.

    Built in stages (input -> skew -> clip and scale), each a ``select`` on the previous
    one, so that a value used several times (the Yeo-Johnson branches, the clip) is a
    column reference rather than a copy of its whole expression: the SQL stays linear
    in the number of features.
    """
    ibis = _ibis()
    check_is_fitted(pre, "report_")
    valid = _validity(pre, table)
    num = [f"{_PREFIX}x{j}" for j in range(len(pre.numeric_))]
    # stage 1: inputs as float64 (Yeo-Johnson columns divided by their training sd)
    stage1: dict[str, Any] = {}
    for j, col in enumerate(pre.numeric_):
        x = table[col].cast("float64")
        if pre.methods_[col] == "yeo-johnson":
            x = x / float(pre._power[col][0])
        stage1[num[j]] = x
    dummies: dict[str, Any] = {}
    for j, col in enumerate(pre.categorical_):
        factor = float(pre.dummy_scale_[col])
        for level in pre.encoder_.categories_[j]:
            # dummies * scale: factor for the row's level, 0.0 elsewhere (unknown level: all 0).
            # A boolean cast to double times the factor: an expression of literals only
            # (CASE ... THEN 1.13 ELSE 0.0) would be typed DECIMAL by DuckDB and Spark.
            match = _level_match(table, col, str(level))
            dummies[f"{_PREFIX}f{len(num) + len(dummies)}"] = match.cast("float64") * factor
    step = table.select(*keep, **stage1, **dummies, **{_VALID: _all(list(valid.values()))})
    # stage 2: skew treatment
    stage2: dict[str, Any] = {}
    for j, col in enumerate(pre.numeric_):
        x = step[num[j]]
        method = pre.methods_[col]
        if method == "none":
            t = x
        elif method == "log1p":
            t = (ibis.ifelse(x > -1.0, x, 0.0) + 1.0).ln()  # ln never sees a value <= 0
        elif method == "yeo-johnson":
            t = _yeo_johnson(x, float(pre._power[col][1].lambdas_[0]))
        else:  # pragma: no cover - methods_ only holds SKEW_METHODS
            raise ValueError(f"unknown skew method {method!r} for `{col}`")
        stage2[num[j]] = t
    step = step.select(*keep, _VALID, **stage2, **{d: step[d] for d in dummies})
    # stage 3: winsorising clip, then scaling
    stage3: dict[str, Any] = {}
    center, scale = _scaler_params(pre.scaler_) if pre.scaler_ is not None else (None, None)
    for j, col in enumerate(pre.numeric_):
        t = step[num[j]]
        lo, hi = pre.clip_bounds_.loc[col]
        if not np.isnan(lo):
            lo, hi = float(lo), float(hi)
            # np.clip(t, lo, hi), as CASE so that no engine's GREATEST/LEAST NULL rule matters
            t = ibis.ifelse(t < lo, lo, ibis.ifelse(t > hi, hi, t))
        # StandardScaler / RobustScaler.transform: X -= mean_ (center_); X /= scale_
        if center is not None:
            t = t - float(center[j])
        if scale is not None:
            t = t / float(scale[j])
        stage3[f"{_PREFIX}f{j}"] = t.cast("float64")
    step = step.select(*keep, _VALID, **stage3, **{d: step[d] for d in dummies})
    return step, [f"{_PREFIX}f{j}" for j in range(len(num) + len(dummies))]


def preprocess_expr(
    preprocessor: Any, table: ir.Table, keep: list[str] | tuple[str, ...] = ()
) -> ir.Table:
    """The preprocessed basis variables of every row, as an Ibis expression.

    Mirrors :meth:`BasisPreprocessor.transform
    <seglab.preprocessing.BasisPreprocessor.transform>`: same columns, in the same order
    and with the names of ``get_feature_names_out()``. Rows Python would refuse (a
    missing, NaN or infinite value, or a value ``<= -1`` in a ``log1p`` column) get
    NULL in every output column; unknown categorical levels give all-zero dummies.

    Parameters
    ----------
    preprocessor : BasisPreprocessor
        Fitted preprocessor.
    table : ibis.Table
        Table with the basis columns (any Ibis backend).
    keep : list of str
        Columns of ``table`` to carry through first (e.g. the customer id).

    Returns
    -------
    ibis.Table
        ``keep`` columns, then one float64 column per preprocessed feature.
    """
    ibis = _ibis()
    keep = list(keep)
    cols = list(preprocessor.numeric_) + list(preprocessor.categorical_)
    _check_columns(table, cols + keep, None)
    names = [str(c) for c in preprocessor.get_feature_names_out()]
    step, fnames = _features_table(preprocessor, table, keep)
    null = ibis.null("float64")
    out = {
        name: ibis.ifelse(step[_VALID], step[f], null)
        for name, f in zip(names, fnames, strict=True)
    }
    return step.select(*keep, **out)


def _all(conds: list[Any]) -> Any:
    ibis = _ibis()
    if not conds:
        return ibis.literal(True)
    out = conds[0]
    for c in conds[1:]:
        out = out & c
    return out


# ---------------------------------------------------------------------------
# assignment rules
# ---------------------------------------------------------------------------


def _check_method(segmenter: Any) -> None:
    check_is_fitted(segmenter, "labels_")
    if segmenter.method not in ENGINE_METHODS:
        raise InputDataError(
            f"a {segmenter.method!r} model cannot be scored in the engine: in-engine scoring "
            f"supports {', '.join(ENGINE_METHODS)} (nearest segment centre, or the Gaussian "
            "mixture's most probable component). k-prototypes assigns on the raw categories, "
            "which the saved model does not keep. Fallback: score with model.predict(df) in "
            "Python (on the table in chunks, or on a sample pulled from the engine)"
        )


def _costs(
    segmenter: Any, step: ir.Table, fnames: list[str], keep: list[str]
) -> tuple[ir.Table, list[str], np.ndarray]:
    """``step`` with one cost column per raw component (lower is better), and raw -> label."""
    k = int(segmenter.n_clusters_)
    mapping = np.asarray(segmenter._mapping[:k], dtype=np.intp)  # raw component -> label
    p = len(fnames)
    cnames = [f"{_PREFIX}d{r}" for r in range(k)]
    if segmenter.method == "gmm":
        gm = segmenter.model_
        if gm.means_.shape[1] != p:
            raise InputDataError(
                f"the Gaussian mixture has {gm.means_.shape[1]} features but the preprocessor "
                f"gives {p}; the model's preprocessor and segmenter do not belong together"
            )
        chols = _precision_cholesky(gm)
        # sklearn: log N(x | mu_r, Sigma_r) = -(p log 2 pi + |x P_r - mu_r P_r|^2) / 2 + log det P_r
        const = (
            -0.5 * p * np.log(2 * np.pi)
            + np.array([np.log(np.diag(c)).sum() for c in chols])
            + np.log(gm.weights_)
        )
        ys: dict[str, Any] = {}
        for r in range(k):
            P = chols[r]
            shift = gm.means_[r] @ P
            for j in range(p):
                rows = np.flatnonzero(P[:, j])  # P is triangular (diagonal for diag/spherical)
                y = step[fnames[0]] * 0.0  # a double even if the column of P is all zero
                for i in rows:
                    y = y + step[fnames[i]] * float(P[i, j])
                ys[f"{_PREFIX}y{r}_{j}"] = y - float(shift[j])
        step = step.select(*keep, _VALID, **ys)
        costs = {}
        for r in range(k):
            quad = _sum(step[f"{_PREFIX}y{r}_{j}"] * step[f"{_PREFIX}y{r}_{j}"] for j in range(p))
            # minus the weighted log-density: argmin(cost) == argmax(log-density)
            costs[cnames[r]] = quad * 0.5 - float(const[r])
        return step.select(*keep, _VALID, **costs), cnames, mapping
    raw_centers = np.asarray(segmenter.cluster_centers_, dtype=np.float64)[mapping]
    if raw_centers.shape[1] != p:
        raise InputDataError(
            f"the segment centres have {raw_centers.shape[1]} features but the preprocessor "
            f"gives {p}; the model's preprocessor and segmenter do not belong together"
        )
    costs = {}
    for r in range(k):
        diffs = [step[fnames[j]] - float(raw_centers[r, j]) for j in range(p)]
        costs[cnames[r]] = _sum(d * d for d in diffs)
    return step.select(*keep, _VALID, **costs), cnames, mapping


def _sum(terms: Any) -> Any:
    out = None
    for t in terms:
        out = t if out is None else out + t
    return out


def _precision_cholesky(gm: Any) -> list[np.ndarray]:
    """Per-component Cholesky factor ``P`` of the precision (``precision = P P^T``), p x p."""
    pc = np.asarray(gm.precisions_cholesky_, dtype=np.float64)
    k, p = gm.means_.shape
    kind = gm.covariance_type
    if kind == "full":
        return [pc[r] for r in range(k)]
    if kind == "tied":
        return [pc] * k
    if kind == "diag":
        return [np.diag(pc[r]) for r in range(k)]
    if kind == "spherical":
        return [np.eye(p) * pc[r] for r in range(k)]
    raise ValueError(f"unknown covariance_type {kind!r}")  # pragma: no cover


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def segment_expr(
    model: SegmentationModel,
    table: ir.Table,
    id_column: str = "customer_id",
    *,
    names: bool = True,
) -> ir.Table:
    """Segment of every customer of an Ibis table, computed by the engine that holds it.

    Reproduces ``model.predict`` row by row: the basis columns are preprocessed exactly as
    :meth:`BasisPreprocessor.transform <seglab.preprocessing.BasisPreprocessor.transform>`
    does, then assigned with the segmenter's rule (nearest centre, or the Gaussian
    mixture's most probable component; see :data:`ENGINE_METHODS`). Only portable Ibis
    operations are used, so the expression runs on DuckDB, Spark (``ibis.pyspark``) and
    other SQL backends.

    Parameters
    ----------
    model : SegmentationModel
        Fitted model (see :func:`seglab.scoring.load_model`).
    table : ibis.Table
        Customer table with ``id_column`` and the model's basis columns (other columns
        are ignored).
    id_column : str
        Customer id, copied to the output.
    names : bool
        Add ``segment_name`` from ``model.names`` (NULL for an unnamed segment); only when
        the model has names.

    Returns
    -------
    ibis.Table
        ``id_column``, ``segment_id`` (int64, 1..k) and, if requested, ``segment_name``.
        ``segment_id`` is NULL for a row Python would refuse: a missing (NULL/NaN) or
        infinite basis value, or a value ``<= -1`` in a ``log1p`` column.

    Raises
    ------
    InputDataError
        A basis column or the id column is missing, a column has a type that cannot be
        read (e.g. text in a numeric column), or the model's method cannot be scored in
        the engine (k-prototypes: use ``model.predict``).

    Examples
    --------
    >>> con = ibis.duckdb.connect()  # doctest: +SKIP
    >>> customers = con.read_parquet("customers.parquet")  # doctest: +SKIP
    >>> segment_expr(model, customers).to_parquet("segments.parquet")  # doctest: +SKIP
    """
    ibis = _ibis()
    _check_method(model.segmenter)
    _check_columns(table, list(model.features), id_column)
    pre = model.preprocessor
    if list(pre.numeric_) + list(pre.categorical_) != list(model.features):
        raise InputDataError(
            f"the model's basis columns {model.features} differ from its preprocessor's "
            f"{list(pre.numeric_) + list(pre.categorical_)}; rebuild the model"
        )
    step, fnames = _features_table(pre, table, [id_column])
    step, cnames, mapping = _costs(model.segmenter, step, fnames, [id_column])
    best = ibis.least(*(step[c] for c in cnames)) if len(cnames) > 1 else step[cnames[0]]
    step = step.mutate(**{f"{_PREFIX}best": best})
    best = step[f"{_PREFIX}best"]
    # first raw component reaching the minimum (numpy argmin), mapped to segment id = label + 1
    label = ibis.cases(
        *((step[c] == best, int(mapping[r]) + 1) for r, c in enumerate(cnames)),
        else_=ibis.null("int64"),
    )
    segment = ibis.ifelse(step[_VALID], label, ibis.null("int64")).cast("int64")
    out = {"segment_id": segment}
    result = step.select(id_column, **out)
    if names and model.names:
        name = ibis.cases(
            *((result.segment_id == int(s), str(v)) for s, v in sorted(model.names.items())),
            else_=ibis.null("string"),
        )
        result = result.mutate(segment_name=name)
    return result


def invalid_counts(model: SegmentationModel, table: ir.Table, connection: Any = None) -> pd.Series:
    """Rows per basis column that :func:`segment_expr` cannot score (Python would raise).

    Parameters
    ----------
    model : SegmentationModel
    table : ibis.Table
    connection : ibis backend, optional
        Backend to run on (default: the table's own).

    Returns
    -------
    pandas.Series
        Count per basis column with at least one unusable value (missing, NaN, infinite,
        or ``<= -1`` in a ``log1p`` column), computed by the engine; empty when none.
    """
    _check_columns(table, list(model.features), None)
    valid = _validity(model.preprocessor, table)
    agg = table.aggregate(**{c: (~ok).cast("int64").sum() for c, ok in valid.items()})
    row = (connection.to_pandas(agg) if connection is not None else agg.to_pandas()).iloc[0]
    row = row.fillna(0).astype("int64")
    return row[row > 0].rename("invalid_rows")


def _connection(engine: str, connection: Any) -> Any:
    if connection is not None:
        return connection
    if engine in ("duckdb", "spark"):
        return engines.connect(engine)
    raise ValueError(
        f"engine={engine!r} needs a connection: pass connection=<an Ibis backend> (e.g. "
        "ibis.postgres.connect(...)), or use engine='duckdb' or 'spark'"
    )


def _as_table(source: Any, engine: str, connection: Any) -> tuple[ir.Table, Any]:
    ibis = _ibis()
    if isinstance(source, ibis.Table):
        try:
            backend = source.get_backend()
        except Exception:  # an unbound or in-memory table: run it on `engine`
            backend = _connection(engine, connection)
        return source, backend
    con = _connection(engine, connection)
    return engines.table(con, source, "customers to score"), con


def _report_invalid(
    model: Any, table: ir.Table, backend: Any, n_null: int, n_rows: int, invalid: str
) -> None:
    if not n_null:
        return
    detail = invalid_counts(model, table, backend)
    cols = ", ".join(f"`{c}` {_n(int(k))}" for c, k in detail.items())
    msg = (
        f"{_n(n_null)} of {_n(n_rows)} customers could not be scored (segment_id is NULL): they "
        f"have a missing, NaN or infinite basis value, or a value <= -1 in a log1p column "
        f"(rows per column: {cols}). model.predict would refuse the whole table; impute "
        "them (e.g. fill with the training median, or 0 for a spend share that is truly "
        "zero) and score again, or leave them unsegmented"
    )
    if invalid == "raise":
        raise InputDataError(msg)
    warnings.warn(msg, UserWarning, stacklevel=3)


def _write_parquet(expr: ir.Table, backend: Any, path: Path) -> None:
    """Let the engine write ``expr`` to ``path`` (atomically: temp name beside it, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    old = None
    try:
        backend.to_parquet(expr, str(tmp))
        if tmp.is_dir() and path.is_dir():
            # a directory (Spark) cannot replace a non-empty directory: move the old one aside
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex}.old")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        if old is not None and old.exists() and not path.exists():
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def score_in_engine(
    model: SegmentationModel,
    source: Any,
    *,
    engine: str = "duckdb",
    id_column: str = "customer_id",
    connection: Any = None,
    output: str | os.PathLike | None = None,
    names: bool = True,
    invalid: str = "warn",
) -> pd.DataFrame | Path:
    """Score a customer table in a data engine and return (or write) the segments.

    Parameters
    ----------
    model : SegmentationModel
        Fitted model.
    source : pandas.DataFrame, str, path or ibis.Table
        Customers to score: a DataFrame, a Parquet file (or folder), or an Ibis table
        (scored on its own backend; ``engine`` and ``connection`` are then ignored).
    engine : str
        Backend used for a DataFrame or a Parquet path when no ``connection`` is given:
        ``"duckdb"`` (an in-memory database) or ``"spark"`` (a local session, see
        :func:`seglab.engines.spark_session`). Other engines need ``connection``.
    id_column : str
        Customer id column.
    connection : ibis backend, optional
        Connection to run on, e.g. ``ibis.pyspark.connect(spark)``.
    output : str or path, optional
        Write the result to this Parquet path from the engine (no round trip through
        pandas), atomically, and return the path. Spark writes a folder of part files.
    names : bool
        Add ``segment_name`` when the model has names.
    invalid : {"warn", "raise"}
        What to do when some rows cannot be scored (see :func:`segment_expr`): warn with
        the count per basis column and keep them with a NULL segment, or raise
        :class:`~seglab.errors.InputDataError` (as ``model.predict`` does).

    Returns
    -------
    pandas.DataFrame or pathlib.Path
        Indexed by ``id_column``: ``segment_id`` (int64, or nullable Int64 when some rows
        could not be scored) and ``segment_name``; or the written path with ``output``.
    """
    if invalid not in ("warn", "raise"):
        raise ValueError(f"invalid={invalid!r}; choose 'warn' or 'raise'")
    table, backend = _as_table(source, engine, connection)
    expr = segment_expr(model, table, id_column, names=names)
    if output is not None:
        path = Path(output)
        if invalid == "raise":
            n_null, n_rows = _null_count(expr, backend)
            _report_invalid(model, table, backend, n_null, n_rows, invalid)
        _write_parquet(expr, backend, path)
        if invalid == "warn":
            written = backend.read_parquet(str(path))
            n_null, n_rows = _null_count(written, backend)
            _report_invalid(model, table, backend, n_null, n_rows, invalid)
        return path
    df = backend.to_pandas(expr)
    n_null = int(df["segment_id"].isna().sum())
    _report_invalid(model, table, backend, n_null, len(df), invalid)
    df["segment_id"] = df["segment_id"].astype("Int64" if n_null else "int64")
    return df.set_index(id_column)


def _null_count(expr: ir.Table, backend: Any) -> tuple[int, int]:
    agg = expr.aggregate(n_null=expr.segment_id.isnull().cast("int64").sum(), n_rows=expr.count())
    row = backend.to_pandas(agg).iloc[0]
    return (0 if pd.isna(row["n_null"]) else int(row["n_null"])), int(row["n_rows"])
