"""Input conversion and cheap range checks shared by the pricing kernels.

Checks run on the arrays as given, before broadcasting, with one ``min``/``max`` reduction per
argument (``min`` propagates NaN). Only when a check fails is the first offending element
located, so that the raised :class:`~portmargin.core.PricingError` names the field, the bad
value and what was expected.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from portmargin.core import PricingError

__all__ = ["as_float", "as_is_call", "check_range", "checked"]

# Range of each kernel argument whose rule is the same in every kernel: (lower bound, strict,
# expectation quoted in the error). ``tau`` is checked by each caller (its rule differs).
_RULES: dict[str, tuple[float, bool, str]] = {
    "forward": (0.0, True, "a finite forward > 0 (USD per coin)"),
    "strike": (0.0, True, "a finite strike > 0 (USD)"),
    "sigma": (0.0, False, "a finite volatility >= 0 (fraction)"),
    "df": (0.0, True, "a finite discount factor > 0"),
    "jump_intensity": (0.0, False, "a finite rate >= 0 (per year)"),
    "jump_mean": (-math.inf, True, "a finite mean log jump"),
    "jump_vol": (0.0, False, "a finite log-jump st. dev. >= 0"),
}


def as_float(field: str, value: npt.ArrayLike) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array (no copy when it already is one).

    Raises
    ------
    PricingError
        If ``value`` cannot be read as real numbers.
    """
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PricingError(field, value, "a real number or an array of real numbers") from None


def as_is_call(value: npt.ArrayLike) -> NDArray[np.bool_]:
    """Return the option-type flags as a bool array (True for calls, False for puts).

    Raises
    ------
    PricingError
        If ``value`` is not of boolean dtype (Python ``bool``, ``numpy.bool_`` or a bool array).
    """
    flags = np.asarray(value)
    if flags.dtype != np.bool_:
        raise PricingError("is_call", value, "booleans (True for calls, False for puts)")
    return flags


def check_range(
    field: str,
    values: NDArray[np.float64],
    lower: float,
    *,
    strict: bool,
    expected: str,
) -> None:
    """Raise unless every element is finite and ``> lower`` (``strict``) or ``>= lower``.

    Use ``lower=-math.inf`` with ``strict=True`` to require finite values only.

    Raises
    ------
    PricingError
        Naming ``field``, the first offending element and ``expected``.
    """
    if values.size == 0:
        return
    lo = values.min()
    hi = values.max()
    ok_low = lo > lower if strict else lo >= lower
    if ok_low and hi < math.inf:
        return
    above = values > lower if strict else values >= lower
    bad = ~(above & (values < math.inf))
    raise PricingError(field, float(values[bad].flat[0]), expected)


def checked(field: str, value: npt.ArrayLike) -> NDArray[np.float64]:
    """Return ``value`` as float64 (:func:`as_float`) after the range check of ``field``.

    ``field`` is one of ``forward``, ``strike``, ``sigma``, ``df``, ``jump_intensity``,
    ``jump_mean``, ``jump_vol``; each has one rule, shared by every kernel.

    Raises
    ------
    PricingError
        If ``value`` is not numeric or an element is outside the range of ``field``.
    """
    array = as_float(field, value)
    lower, strict, expected = _RULES[field]
    check_range(field, array, lower, strict=strict, expected=expected)
    return array
