"""Time conventions: Unix epoch milliseconds (UTC) and ACT/365 year fractions on seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from portmargin.core._errors import ValidationError

__all__ = [
    "MS_PER_DAY",
    "SECONDS_PER_YEAR",
    "datetime_to_ms",
    "ms_to_datetime",
    "year_fraction",
]

SECONDS_PER_YEAR = 31_536_000.0
"""Seconds in an ACT/365 year (365 days of 86 400 s); markets trade 24/7."""

MS_PER_DAY = 86_400_000


def year_fraction(start_ms: npt.ArrayLike, end_ms: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """ACT/365 year fraction between two epoch-millisecond timestamps.

    Parameters
    ----------
    start_ms, end_ms
        Unix epoch milliseconds, UTC; broadcast together.

    Returns
    -------
    numpy.ndarray of float64
        ``(end_ms - start_ms) / 1000 / 31 536 000``; negative when ``end`` is before ``start``.
    """
    diff = np.asarray(end_ms, dtype=np.float64) - np.asarray(start_ms, dtype=np.float64)
    return diff / 1000.0 / SECONDS_PER_YEAR


def ms_to_datetime(ms: int) -> datetime:
    """Convert Unix epoch milliseconds to an aware UTC ``datetime``.

    Raises
    ------
    ValidationError
        If ``ms`` is not a finite number that a ``datetime`` can hold (years 1 to 9999).
    """
    try:
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        raise ValidationError(
            "ms", ms, "Unix epoch milliseconds within the years 1 to 9999"
        ) from None


def datetime_to_ms(value: datetime) -> int:
    """Convert an aware ``datetime`` to Unix epoch milliseconds (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)
