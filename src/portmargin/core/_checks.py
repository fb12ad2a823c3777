"""Small validation helpers used by frozen dataclasses' ``__post_init__``."""

from __future__ import annotations

import math

from portmargin.core._errors import ValidationError

__all__ = ["require_finite", "require_non_empty", "require_positive"]


def require_finite(field: str, value: float) -> float:
    """Return ``value`` as float, or raise :class:`ValidationError` if it is not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field, value, "a finite number")
    return float(value)


def require_positive(field: str, value: float) -> float:
    """Return ``value`` as float, or raise :class:`ValidationError` unless finite and > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(field, value, "a finite number > 0")
    return float(value)


def require_non_empty(field: str, value: str) -> str:
    """Return ``value``, or raise :class:`ValidationError` unless it is a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "a non-empty string")
    return value
