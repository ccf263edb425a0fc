"""Fast operations on customer-id arrays.

pandas' ``ArrowStringArray.isin`` builds one Python scalar per candidate: 1.3 s to
test 1M ids against 260k (pandas 3.1), against 0.1 s for Arrow's own ``is_in``. The
helpers here use Arrow compute when both sides are Arrow-backed strings and pandas
otherwise, with pandas' semantics (a missing id matches a missing candidate).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow_strings(values: pd.Index | pd.Series) -> pa.ChunkedArray | pa.Array | None:
    arr = values.array
    if not hasattr(arr, "__arrow_array__"):
        return None
    out = pa.array(arr)
    return out if pa.types.is_string(out.type) or pa.types.is_large_string(out.type) else None


def _arrow_pair(left: pd.Index, right: pd.Index) -> tuple[pa.Array, pa.Array] | None:
    """Both sides as Arrow strings of one type (the right one in one chunk), or None."""
    a, b = _arrow_strings(left), _arrow_strings(right)
    if a is None or b is None:
        return None
    if isinstance(b, pa.ChunkedArray):
        b = b.combine_chunks()
    return a, b.cast(a.type)


def isin(values: Iterable, candidates: Iterable) -> np.ndarray:
    """Boolean mask: which of ``values`` occur in ``candidates``.

    Parameters
    ----------
    values, candidates : array-like
        Ids (an Index, Series, array or list).

    Returns
    -------
    numpy.ndarray of bool
        One entry per value, as ``pandas.Index(values).isin(candidates)``.
    """
    values = values if isinstance(values, pd.Index) else pd.Index(values)
    candidates = candidates if isinstance(candidates, pd.Index) else pd.Index(candidates)
    pair = _arrow_pair(values, candidates)
    if pair is None:
        return np.asarray(values.isin(candidates), dtype=bool)
    return np.asarray(pc.is_in(pair[0], value_set=pair[1]).fill_null(False), dtype=bool)


def positions(labels: Iterable, index: pd.Index) -> np.ndarray:
    """Position in ``index`` of each of ``labels``, -1 where absent.

    As ``index.get_indexer(labels)`` (``index`` must be unique), by Arrow's
    ``index_in`` when both are Arrow-backed strings: at 1M ids 0.1 s against
    0.35 s for pandas' hash lookup.
    """
    labels = labels if isinstance(labels, pd.Index) else pd.Index(labels)
    pair = _arrow_pair(labels, index)
    if pair is None or not index.is_unique:  # duplicates: pandas raises its own error
        return index.get_indexer(labels)
    found = pc.index_in(pair[0], value_set=pair[1]).fill_null(-1)
    return np.asarray(found, dtype=np.intp)


def take(values: pd.api.extensions.ExtensionArray | np.ndarray, pos: np.ndarray | None):
    """``values`` at positions ``pos`` (-1: missing); ``values`` itself when ``pos`` is None."""
    if pos is None:
        return values
    return pd.api.extensions.take(values, pos, allow_fill=True)


def align(obj: pd.Series | pd.DataFrame, index: pd.Index) -> pd.Series | pd.DataFrame:
    """``obj.reindex(index)``: the rows of ``obj`` in the order of ``index``, missing where absent.

    Ids equal to ``index`` (the same customers in the same order, the usual case) are
    not looked up at all.
    """
    if obj.index is index:
        return obj
    if obj.index.equals(index):
        return obj.set_axis(index)
    pos = positions(index, obj.index)
    if isinstance(obj, pd.Series):
        return pd.Series(take(obj.array, pos), index=index, name=obj.name)
    columns = {i: take(obj.iloc[:, i].array, pos) for i in range(obj.shape[1])}
    out = pd.DataFrame(columns, index=index)
    out.columns = obj.columns
    return out


def distinct_count(ids: pd.Series) -> int:
    """Distinct values present (not missing): ``ids.nunique()``.

    Arrow-backed text (the ids intake makes) is counted by DuckDB on the Arrow array
    behind the column: at ten million lines 0.4 s, against 1.0 s for pandas (Arrow's
    ``unique``, one thread).

    Examples
    --------
    >>> distinct_count(pd.Series(["a", "b", "a", None], dtype="string"))
    2
    """
    arrow = _arrow_strings(ids)
    if arrow is None:
        return int(ids.nunique())
    with duckdb.connect() as con:
        con.register("ids", pa.table({"v": arrow}))
        return int(con.sql("SELECT count(DISTINCT v) FROM ids").fetchall()[0][0])
