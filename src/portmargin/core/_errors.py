"""Typed errors raised across portmargin.

Every error names what was wrong (a field, a row, a column, an instrument name), the value
that was seen and what was expected, so that a caller can show one clear line to a user.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataFormatError",
    "InstrumentNameError",
    "MarketDataError",
    "PortmarginError",
    "PricingError",
    "ValidationError",
]


class PortmarginError(Exception):
    """Base class of every error portmargin raises on purpose."""


class ValidationError(PortmarginError, ValueError):
    """A value does not satisfy its contract.

    Parameters
    ----------
    field
        Name of the offending field or argument.
    value
        The value that was seen (its ``repr`` is quoted in the message).
    expected
        What a valid value looks like, e.g. ``"a finite number > 0"``.
    """

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: got {_short_repr(value)}, expected {expected}")


class PricingError(ValidationError):
    """A pricing kernel received inputs outside its domain (NaN, non-positive forward, ...)."""


class InstrumentNameError(PortmarginError, ValueError):
    """An instrument name that cannot be parsed.

    Parameters
    ----------
    name
        The name as given.
    expected
        The forms that are accepted.
    """

    def __init__(self, name: str, expected: str) -> None:
        self.name = name
        self.expected = expected
        super().__init__(f"instrument name {name!r} is not valid: expected {expected}")


class MarketDataError(PortmarginError, LookupError):
    """Market data needed for a computation is missing or unusable."""


class DataFormatError(PortmarginError, ValueError):
    """A file or payload does not have the expected format.

    Parameters
    ----------
    source
        File name or payload description.
    message
        What is wrong and what was expected.
    row
        1-based data row number (header excluded) when the problem is in one row.
    column
        Column or key name when the problem is in one field.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.column = column
        where = source
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
