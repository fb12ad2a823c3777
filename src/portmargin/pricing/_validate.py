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

__all__ = ["as_float", "as_is_call", "check_range"]


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
