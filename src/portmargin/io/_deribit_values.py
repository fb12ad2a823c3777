"""Cell-level parsing of Deribit rows: numbers, timestamps, book sides, IVs, names, literals.

Every function takes the raw value (a CSV string or a decoded JSON value) and the column or key
it came from, and raises :class:`RowError` naming that column when the value is unusable.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

from portmargin.core import InstrumentNameError, ValidationError
from portmargin.instruments import Future, Option, Perpetual, parse_instrument
from portmargin.market import Greeks

__all__ = [
    "ASK_IV_CAP_PERCENT",
    "RowError",
    "TimestampError",
    "book",
    "book_price",
    "derivative_instrument",
    "greeks",
    "mapping",
    "non_negative",
    "optional_non_negative",
    "optional_positive",
    "percent_iv",
    "positive",
    "side_iv",
    "text",
    "timestamp",
]

ASK_IV_CAP_PERCENT = 500.0
"""Deribit caps the reported ask implied vol at 500 %: the true value is at least that."""

_GREEKS = ("delta", "gamma", "vega", "theta", "rho")


class RowError(Exception):
    """One row cannot be used; ``column`` names the offending column or key when there is one."""

    def __init__(self, column: str | None, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(message)


class TimestampError(RowError):
    """A timestamp cell holds a number that is no point in time (NaN, infinite, <= 0).

    Readers raise it as a file error for option rows: their timestamps set the valuation time.
    """


def _is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() in ("", "None", "null"))


def _number(raw: object, column: str) -> float | None:
    if _is_missing(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise RowError(column, f"{column}: {raw!r} is not a number")
    try:
        value = float(raw)
    except ValueError:
        raise RowError(column, f"{column}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(column, f"{column}: {raw!r} is not a finite number")
    return value


def optional_non_negative(raw: object, column: str) -> float | None:
    """A finite number >= 0, or ``None`` when missing (empty, ``None``, ``null``)."""
    value = _number(raw, column)
    if value is not None and value < 0:
        raise RowError(column, f"{column}: {raw!r} is negative")
    return value


def optional_positive(raw: object, column: str) -> float | None:
    """A finite number > 0, or ``None`` when missing."""
    value = _number(raw, column)
    if value is not None and value <= 0:
        raise RowError(column, f"{column}: {raw!r} is not > 0")
    return value


def non_negative(raw: object, column: str) -> float:
    """A required finite number >= 0."""
    value = optional_non_negative(raw, column)
    if value is None:
        raise RowError(column, f"{column}: value is missing")
    return value


def positive(raw: object, column: str) -> float:
    """A required finite number > 0."""
    value = optional_positive(raw, column)
    if value is None:
        raise RowError(column, f"{column}: value is missing")
    return value


def percent_iv(raw: object, column: str) -> float:
    """A required implied vol given in percent (> 0), returned as a fraction (> 0: a
    percentage so small that it underflows to 0 as a fraction is rejected)."""
    fraction = positive(raw, column) / 100.0
    if fraction <= 0.0:
        raise RowError(column, f"{column}: {raw!r} is not a vol > 0 (percent)")
    return fraction


def book_price(raw: object, column: str) -> float | None:
    """Best bid or ask: ``None`` when that side is empty (missing, ``null`` or ``0.0``)."""
    value = optional_non_negative(raw, column)
    return None if value == 0.0 else value


def book(
    raw_bid: object, raw_ask: object, bid_column: str, ask_column: str
) -> tuple[float | None, float | None]:
    """Best bid and ask, each by :func:`book_price`.

    A crossed book (bid above ask) is an error of ``bid_column``.
    """
    bid = book_price(raw_bid, bid_column)
    ask = book_price(raw_ask, ask_column)
    if bid is not None and ask is not None and bid > ask:
        raise RowError(bid_column, f"crossed book: {bid_column} {bid!r} > {ask_column} {ask!r}")
    return bid, ask


def side_iv(raw: object, column: str) -> tuple[float | None, bool]:
    """Bid or ask implied vol in percent, as ``(fraction or None, censored)``.

    ``0.0`` means no implied vol (an empty side, or a bid below intrinsic value) → ``None``.
    The venue cap ``500.0`` means "at least 500 %" → ``(None, True)``.
    """
    value = optional_non_negative(raw, column)
    if value is None or value == 0.0:
        return None, False
    if value >= ASK_IV_CAP_PERCENT:
        return None, True
    return value / 100.0, False


def timestamp(raw: object, column: str) -> int:
    """A required Unix epoch-millisecond timestamp > 0 (integral value).

    A number that is NaN, infinite or <= 0 raises :class:`TimestampError`; a missing,
    non-numeric or fractional value a plain :class:`RowError`.
    """
    if not _is_missing(raw) and isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            number = float(raw)
        except ValueError:
            number = 1.0  # not a number at all: positive() below names the problem
        if not (math.isfinite(number) and number > 0):
            raise TimestampError(
                column, f"{column}: {raw!r} is not a time (epoch milliseconds > 0 expected)"
            )
    value = positive(raw, column)
    if not value.is_integer():
        raise RowError(column, f"{column}: {raw!r} is not a whole number of milliseconds")
    return int(value)


def text(raw: object, column: str) -> str:
    """A required non-blank string, stripped."""
    if not isinstance(raw, str) or not raw.strip():
        raise RowError(column, f"{column}: {raw!r} is not a non-empty string")
    return raw.strip()


def derivative_instrument(raw: object, column: str) -> Option | Future | Perpetual:
    """Parse a venue name into an option, future or perpetual."""
    name = text(raw, column)
    try:
        instrument = parse_instrument(name)
    except (InstrumentNameError, ValidationError) as exc:
        raise RowError(column, f"{column}: {exc}") from None
    if not isinstance(instrument, Option | Future | Perpetual):
        raise RowError(column, f"{column}: {name!r} is not an option, future or perpetual")
    return instrument


def _literal(raw: object, column: str) -> object:
    """Decode a Python-literal cell (``"{'delta': 0.5}"``, ``"[[0.02, 9.0]]"``) safely.

    Non-string values (already decoded JSON) pass through; blank cells give ``None``.
    """
    if not isinstance(raw, str):
        return raw
    if not raw.strip():
        return None
    try:
        return ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise RowError(column, f"{column}: {raw!r} is not a literal dict or list") from None


def mapping(raw: object, column: str) -> Mapping[object, object] | None:
    """A dict cell: a Python-literal string or an already decoded object; ``None`` if blank."""
    value = _literal(raw, column)
    if value is None or isinstance(value, Mapping):
        return value
    raise RowError(column, f"{column}: {raw!r} is not a dict")


def greeks(raw: object, column: str) -> Greeks | None:
    """Venue greeks from a dict with ``delta, gamma, vega, theta, rho``; ``None`` if missing."""
    value = mapping(raw, column)
    if value is None:
        return None
    found = {}
    for name in _GREEKS:
        number = _number(value.get(name), column)
        if number is not None:
            found[name] = number
    if not found:
        return None
    if len(found) < len(_GREEKS):
        missing = ", ".join(name for name in _GREEKS if name not in found)
        raise RowError(column, f"{column}: missing {missing} in {raw!r}")
    return Greeks(**found)
