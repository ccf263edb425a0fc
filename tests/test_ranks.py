import numpy as np
import pytest

from seglab._ranks import tie_bounds


@pytest.mark.parametrize(
    "values",
    [
        np.array([3.0, 1.0, 3.0, 2.0, 1.0, 1.0]),
        np.array([5.0]),
        np.array([np.nan, 1.0, np.nan, 0.0, 1.0]),
        np.array([-0.0, 0.0, 1e-300, -1e-300]),
        np.random.default_rng(0).integers(0, 50, 10_000).astype(float),
        np.random.default_rng(1).gamma(2.0, 30.0, 10_000).round(2),
    ],
)
def test_tie_bounds_equal_brute_force_counts(values):
    below, at_or_below = tie_bounds(values)
    nan = np.isnan(values)
    # NaNs sort last and tie with each other
    expected_below = np.array(
        [np.sum(values < v) if not np.isnan(v) else np.sum(~nan) for v in values]
    )
    expected_ties = np.array(
        [np.sum(values == v) if not np.isnan(v) else nan.sum() for v in values]
    )
    np.testing.assert_array_equal(below, expected_below)
    np.testing.assert_array_equal(at_or_below - below, expected_ties)
    if not nan.any():  # the definition it replaces
        ordered = np.sort(values)
        np.testing.assert_array_equal(below, np.searchsorted(ordered, values, "left"))
        np.testing.assert_array_equal(at_or_below, np.searchsorted(ordered, values, "right"))


def test_tie_bounds_empty():
    below, at_or_below = tie_bounds(np.array([]))
    assert below.size == 0 and at_or_below.size == 0
