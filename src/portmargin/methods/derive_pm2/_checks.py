"""Validation helpers of the Derive PMRM_2 value types that ``portmargin.core`` has no match for.

Names and unbounded numbers use the ``portmargin.core`` ``require_*`` helpers; these cover
the venue contract's bounded intervals (open or closed at either end, numpy scalars
accepted), booleans and 1-d arrays of numbers or booleans.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from portmargin.core import ValidationError

__all__ = [
    "check_bool",
    "check_bool_array",
    "check_float_array",
    "check_range",
    "freeze",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _describe(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return "a finite number"
    if math.isinf(hi):
        return f"a finite number {'>' if lo_open else '>='} {lo:g}"
    if math.isinf(lo):
        return f"a finite number {'<' if hi_open else '<='} {hi:g}"
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f"a finite number in {left}{lo:g}, {hi:g}{right}"


def check_range(
    field: str,
    value: object,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise :class:`ValidationError` naming ``field``.

    The value must be a real number (``bool`` is refused), finite, and inside the interval
    ``lo .. hi`` (bounds closed unless ``lo_open`` / ``hi_open``).
    """
    expected = _describe(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValidationError(field, value, expected)
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(field, value, expected)
    if number < lo or (lo_open and number == lo) or number > hi or (hi_open and number == hi):
        raise ValidationError(field, value, expected)
    return number


def check_bool(field: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool`` (or ``numpy.bool_``), else raise."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValidationError(field, value, "a bool")


def freeze(array: npt.NDArray[np.generic]) -> None:
    """Make ``array`` read-only in place."""
    array.flags.writeable = False


def check_float_array(
    field: str,
    values: npt.ArrayLike,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    size: int | None = None,
) -> FloatArray:
    """Return a read-only float64 copy of a 1-d array of finite numbers in ``lo .. hi``.

    Raises
    ------
    ValidationError
        Naming ``field[i]`` and the value of the first offending element, or ``field`` itself
        when the input is not a 1-d numeric array (of length ``size`` when given).
    """
    raw = np.asarray(values)
    if raw.size and raw.dtype.kind not in "iuf":
        raise ValidationError(field, values, "a 1-d array of numbers")
    array = np.array(raw, dtype=np.float64)
    if array.ndim != 1:
        raise ValidationError(field, values, "a 1-d array of numbers")
    if size is not None and array.shape[0] != size:
        raise ValidationError(field, values, f"a 1-d array of length {size}")
    bad = ~np.isfinite(array) | (array < lo) | (array > hi)
    if lo_open:
        bad |= array == lo
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        expected = _describe(lo, hi, lo_open, False)
        raise ValidationError(f"{field}[{index}]", float(array[index]), expected)
    freeze(array)
    return array


def check_bool_array(field: str, values: npt.ArrayLike, *, size: int | None = None) -> BoolArray:
    """Return a read-only bool copy of a 1-d array of booleans (or of integers 0 and 1)."""
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValidationError(field, values, "a 1-d array of booleans")
    if size is not None and raw.shape[0] != size:
        raise ValidationError(field, values, f"a 1-d array of length {size}")
    if raw.size and raw.dtype != np.bool_:
        if raw.dtype.kind not in "iu":
            raise ValidationError(field, values, "a 1-d array of booleans")
        bad = (raw != 0) & (raw != 1)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"{field}[{index}]", raw[index].item(), "a boolean (or 0/1)")
    array = np.array(raw, dtype=np.bool_)
    freeze(array)
    return array
