"""Fast operations on customer-id arrays.

pandas' ``ArrowStringArray.isin`` builds one Python scalar per candidate: 1.3 s to
test 1M ids against 260k (pandas 3.1), against 0.1 s for Arrow's own ``is_in``. The
helpers here use Arrow compute when both sides are Arrow-backed strings and pandas
otherwise, with pandas' semantics (a missing id matches a missing candidate).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow_strings(values: pd.Index) -> pa.ChunkedArray | pa.Array | None:
    arr = values.array
    if not hasattr(arr, "__arrow_array__"):
        return None
    out = pa.array(arr)
    return out if pa.types.is_string(out.type) or pa.types.is_large_string(out.type) else None


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
    left, right = _arrow_strings(values), _arrow_strings(candidates)
    if left is None or right is None:
        return np.asarray(values.isin(candidates), dtype=bool)
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    right = right.cast(left.type)
    return np.asarray(pc.is_in(left, value_set=right).fill_null(False), dtype=bool)
