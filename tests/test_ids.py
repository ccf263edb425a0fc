import numpy as np
import pandas as pd
import pytest

from seglab._ids import isin

CASES = [
    (["a", "b", None, "c", "a"], ["a", None, "z"]),
    (["a", "b", "c"], []),
    ([], ["a"]),
    (["", "x", ""], [""]),
    (["é", "e", "E"], ["e"]),
]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "object", "string[python]"])
@pytest.mark.parametrize(("values", "candidates"), CASES)
def test_isin_matches_pandas(values, candidates, dtype):
    v = pd.Index(pd.array(values, dtype=dtype) if values else pd.array([], dtype=dtype))
    c = pd.Series(candidates, dtype=dtype)
    expected = v.isin(c)
    got = isin(v, c)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, expected)


def test_isin_mixed_types_and_numbers_fall_back_to_pandas():
    np.testing.assert_array_equal(isin([1, 2, 3], [3, 4]), [False, False, True])
    np.testing.assert_array_equal(isin(pd.Index(["1", "2"]), [1, 2]), [False, False])


def test_isin_large_arrow_strings_agree_with_pandas():
    rng = np.random.default_rng(0)
    values = pd.Index(rng.integers(0, 5000, 20_000).astype(str), dtype="str")
    candidates = pd.Series(rng.integers(0, 5000, 3_000).astype(str), dtype="str")
    np.testing.assert_array_equal(isin(values, candidates), values.isin(candidates))
