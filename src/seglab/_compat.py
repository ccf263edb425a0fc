"""Compatibility shims for third-party packages (factor-analyzer on current scikit-learn)."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "FA_MODULES",
    "FactorAnalyzer",
    "Rotator",
    "calculate_bartlett_sphericity",
    "calculate_kmo",
    "check_array_needs_translation",
    "patch_factor_analyzer",
]

#: factor_analyzer modules that import ``check_array`` into their own namespace.
FA_MODULES: tuple[str, ...] = (
    "factor_analyzer.factor_analyzer",
    "factor_analyzer.confirmatory_factor_analyzer",
)

_OLD_KW = "force_all_finite"
_NEW_KW = "ensure_all_finite"
_MARKER = "__seglab_compat__"


def check_array_needs_translation(check_array: Callable[..., Any] | None = None) -> bool:
    """Tell whether ``check_array`` needs ``force_all_finite`` renamed to ``ensure_all_finite``.

    The decision is made from the function's signature, not from a version
    string: translation is needed when the function has no ``force_all_finite``
    parameter (scikit-learn >= 1.8 removed it) but does have
    ``ensure_all_finite``.

    Parameters
    ----------
    check_array : callable, optional
        The function to inspect; defaults to ``sklearn.utils.check_array``.

    Returns
    -------
    bool
        ``True`` when calls with ``force_all_finite=...`` would fail and can be
        translated.
    """
    if check_array is None:
        from sklearn.utils import check_array
    try:
        params = inspect.signature(check_array).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    if _OLD_KW in params:
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        # **kwargs: we cannot tell; leave it alone
        return False
    return _NEW_KW in params


def _translating(check_array: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``check_array`` so that ``force_all_finite=`` is passed as ``ensure_all_finite=``."""

    @functools.wraps(check_array)
    def check_array_compat(*args: Any, **kwargs: Any) -> Any:
        if _OLD_KW in kwargs:
            value = kwargs.pop(_OLD_KW)
            kwargs.setdefault(_NEW_KW, value)
        return check_array(*args, **kwargs)

    setattr(check_array_compat, _MARKER, True)
    return check_array_compat


def _is_patched(func: object) -> bool:
    return bool(getattr(func, _MARKER, False))


def patch_factor_analyzer(modules: tuple[str, ...] = FA_MODULES) -> list[str]:
    """Make factor-analyzer work with scikit-learn releases without ``force_all_finite``.

    factor-analyzer 0.5.1 calls ``check_array(X, force_all_finite=...)``;
    scikit-learn 1.8 removed that keyword in favour of ``ensure_all_finite``,
    so ``FactorAnalyzer.fit`` raises ``TypeError``. This function replaces the
    name ``check_array`` *inside the factor_analyzer modules only* by a thin
    wrapper that renames the keyword. ``sklearn.utils.check_array`` itself is
    never modified.

    The patch switches itself on only when needed (see
    :func:`check_array_needs_translation`) and is idempotent: modules already
    patched, or whose ``check_array`` still accepts ``force_all_finite``, are
    left as they are.

    Parameters
    ----------
    modules : tuple of str
        Dotted names of the modules to patch; defaults to :data:`FA_MODULES`.

    Returns
    -------
    list of str
        The modules patched by this call (empty when nothing needed doing).
    """
    patched: list[str] = []
    for name in modules:
        module: ModuleType = importlib.import_module(name)
        current = getattr(module, "check_array", None)
        if current is None or _is_patched(current):
            continue
        if not check_array_needs_translation(current):
            continue
        module.check_array = _translating(current)  # type: ignore[attr-defined]
        patched.append(name)
    return patched


patch_factor_analyzer()

from factor_analyzer import (  # noqa: E402  (must follow the patch)
    FactorAnalyzer,
    Rotator,
    calculate_bartlett_sphericity,
    calculate_kmo,
)
