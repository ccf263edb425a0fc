"""Tests of seglab._compat: factor-analyzer on scikit-learn with and without force_all_finite."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import sklearn.utils
import sklearn.utils.validation

from seglab import _compat
from seglab._compat import FA_MODULES, check_array_needs_translation, patch_factor_analyzer

SKLEARN_CHECK_ARRAY = sklearn.utils.check_array


def _modules():
    return [importlib.import_module(name) for name in FA_MODULES]


def old_check_array(
    array, accept_sparse=False, *, force_all_finite=True, estimator=None, copy=False
):
    """Stand-in for scikit-learn < 1.8, which still accepts force_all_finite."""
    return np.array(array, dtype=float, copy=True)


def make_new_check_array(calls: list):
    def new_check_array(
        array, accept_sparse=False, *, ensure_all_finite=True, estimator=None, copy=False
    ):
        """Stand-in for scikit-learn >= 1.8: only ensure_all_finite."""
        calls.append(ensure_all_finite)
        return np.array(array, dtype=float, copy=True)

    return new_check_array


def test_detection_by_signature():
    assert check_array_needs_translation(make_new_check_array([])) is True
    assert check_array_needs_translation(old_check_array) is False
    assert check_array_needs_translation(lambda array, **kwargs: array) is False
    installed = inspect.signature(SKLEARN_CHECK_ARRAY).parameters
    assert check_array_needs_translation() is ("force_all_finite" not in installed)


def test_factor_analyzer_fit_works_on_installed_sklearn():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((300, 2))
    x = f @ rng.uniform(0.5, 0.9, (2, 6)) + rng.standard_normal((300, 6)) * 0.6
    x[0, 0] = np.nan  # goes through check_array(..., force_all_finite="allow-nan")
    fa = _compat.FactorAnalyzer(n_factors=2, rotation="varimax").fit(x)
    assert fa.loadings_.shape == (6, 2)
    scores = fa.transform(np.nan_to_num(x))  # check_array(..., force_all_finite=True)
    assert scores.shape == (300, 2)


def test_patch_is_noop_when_force_all_finite_is_accepted(monkeypatch):
    for module in _modules():
        monkeypatch.setattr(module, "check_array", old_check_array)
    assert patch_factor_analyzer() == []
    assert all(module.check_array is old_check_array for module in _modules())
    fa = _compat.FactorAnalyzer(n_factors=1, rotation=None)
    fa.fit(np.random.default_rng(1).standard_normal((50, 4)))  # runs with the "old" function


def test_patch_translates_keyword_when_needed(monkeypatch):
    calls: list = []
    fake = make_new_check_array(calls)
    for module in _modules():
        monkeypatch.setattr(module, "check_array", fake)
    assert patch_factor_analyzer() == list(FA_MODULES)
    module = _modules()[0]
    assert module.check_array is not fake
    module.check_array(np.ones((2, 2)), force_all_finite="allow-nan", copy=True)
    assert calls == ["allow-nan"]
    with pytest.raises(TypeError):  # the fake itself rejects the old keyword
        fake(np.ones((2, 2)), force_all_finite=True)


def test_patch_is_idempotent(monkeypatch):
    fake = make_new_check_array([])
    for module in _modules():
        monkeypatch.setattr(module, "check_array", fake)
    assert patch_factor_analyzer() == list(FA_MODULES)
    wrapped = [module.check_array for module in _modules()]
    assert patch_factor_analyzer() == []
    assert patch_factor_analyzer() == []
    assert [module.check_array for module in _modules()] == wrapped
    assert all(w.__wrapped__ is fake for w in wrapped)  # wrapped once, not twice


def test_sklearn_check_array_untouched():
    patch_factor_analyzer()
    assert sklearn.utils.check_array is SKLEARN_CHECK_ARRAY
    assert sklearn.utils.validation.check_array is SKLEARN_CHECK_ARRAY
    assert not getattr(SKLEARN_CHECK_ARRAY, "__seglab_compat__", False)
    if "force_all_finite" not in inspect.signature(SKLEARN_CHECK_ARRAY).parameters:
        with pytest.raises(TypeError):
            sklearn.utils.check_array(np.ones((2, 2)), force_all_finite=True)
