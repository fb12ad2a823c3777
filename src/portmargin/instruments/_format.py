"""Formatting of venue name parts: expiry dates (``26JUN20``) and strikes (``9000``, ``0d625``)."""

from __future__ import annotations

from portmargin.core import ms_to_datetime

__all__ = ["MONTHS", "format_expiry", "format_strike"]

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def format_expiry(expiry_ms: int) -> str:
    """Format an expiry as Deribit does: day without leading zero, month, two-digit year.

    Parameters
    ----------
    expiry_ms
        Unix epoch milliseconds, UTC.

    Returns
    -------
    str
        e.g. ``5JUN20`` for 2020-06-05T08:00Z.
    """
    moment = ms_to_datetime(expiry_ms)
    return f"{moment.day}{MONTHS[moment.month - 1]}{moment.year % 100:02d}"


def format_strike(strike: float) -> str:
    """Format a strike: integers without decimals, fractions with ``d`` as decimal mark.

    ``9000.0`` → ``9000``; ``0.625`` → ``0d625`` (Deribit's form for fractional strikes).
    """
    if float(strike).is_integer():
        return str(int(strike))
    return repr(float(strike)).replace(".", "d")
