import numpy as np
import pandas as pd
import pytest

from seglab._ids import align, isin, positions

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


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_positions_and_align_match_pandas(dtype):
    index = pd.Index(["a", "b", "c", "d", None], dtype=dtype)
    other = pd.Index(["d", "a", "x", None], dtype=dtype)
    np.testing.assert_array_equal(positions(index, other), other.get_indexer(index))
    frame = pd.DataFrame(
        {
            "i": [1, 2, 3, 4],
            "s": pd.array(["p", "q", "r", "s"], dtype="string"),
            "c": pd.Categorical(["x", "y", "x", "y"]),
        },
        index=other,
    )
    pd.testing.assert_frame_equal(align(frame, index), frame.reindex(index))
    pd.testing.assert_series_equal(align(frame["c"], index), frame["c"].reindex(index))
    same = pd.Index(list(other), dtype=dtype)  # equal ids, another Index object
    pd.testing.assert_frame_equal(align(frame, same), frame.reindex(same))


def test_positions_with_duplicate_ids_behave_like_pandas():
    with pytest.raises(Exception, match="unique"):
        positions(pd.Index(["a"], dtype="str"), pd.Index(["a", "a"], dtype="str"))
