"""Small validation helpers used by frozen dataclasses' ``__post_init__``."""

from __future__ import annotations

import math

import numpy as np

from portmargin.core._errors import ValidationError

__all__ = [
    "require_epoch_ms",
    "require_finite",
    "require_non_empty",
    "require_non_negative",
    "require_positive",
]


def _is_finite_number(value: object) -> bool:
    """True for a finite ``int`` or ``float`` that is not a ``bool``."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def require_finite(field: str, value: float) -> float:
    """Return ``value`` as float, or raise :class:`ValidationError` if it is not finite."""
    if not _is_finite_number(value):
        raise ValidationError(field, value, "a finite number")
    return float(value)


def require_positive(field: str, value: float) -> float:
    """Return ``value`` as float, or raise :class:`ValidationError` unless finite and > 0."""
    if not (_is_finite_number(value) and value > 0):
        raise ValidationError(field, value, "a finite number > 0")
    return float(value)


def require_non_negative(field: str, value: float) -> float:
    """Return ``value`` as float, or raise :class:`ValidationError` unless finite and >= 0."""
    if not (_is_finite_number(value) and value >= 0):
        raise ValidationError(field, value, "a finite number >= 0")
    return float(value)


def require_epoch_ms(field: str, value: object) -> int:
    """Return ``value`` as int, or raise unless it is epoch milliseconds > 0.

    Python and NumPy integers are accepted (``bool`` is not).
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValidationError(field, value, "Unix epoch milliseconds as an int > 0")
    return int(value)


def require_non_empty(field: str, value: str) -> str:
    """Return ``value``, or raise :class:`ValidationError` unless it is a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "a non-empty string")
    return value
