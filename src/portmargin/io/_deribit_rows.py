"""Parsed Deribit rows and excluded rows: what the readers hand to the assembly step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from portmargin.io._deribit_values import RowError
from portmargin.market import FutureQuote, OptionQuote

__all__ = ["ExcludedRow", "FutureRow", "OptionRow", "RowSet", "exclusion"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExcludedRow:
    """A venue row left out of the snapshot, and why.

    Attributes
    ----------
    source
        File (and payload key) the row came from.
    row
        1-based data row number: CSV line among data lines (header excluded), or position in
        the JSON ``result`` list.
    instrument
        Instrument name as given ('' when the row has none).
    column
        Column or key at fault, or ``None`` when the whole row is at fault (expired, duplicate).
    reason
        One line a user can read.
    """

    source: str
    row: int
    instrument: str
    column: str | None
    reason: str


def exclusion(source: str, row: int, instrument: str, error: RowError) -> ExcludedRow:
    """The exclusion of a row that raised ``error`` while its cells were parsed."""
    return ExcludedRow(
        source=source, row=row, instrument=instrument, column=error.column, reason=error.message
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionRow:
    """An option row whose every field parsed; ``index_price`` is its index observation."""

    source: str
    row: int
    quote: OptionQuote
    index_price: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FutureRow:
    """A future or perpetual row whose every field parsed."""

    source: str
    row: int
    quote: FutureQuote


@dataclass(frozen=True, slots=True, kw_only=True)
class RowSet:
    """Everything a parser read from its files, before assembly."""

    sources: tuple[str, ...]
    options: tuple[OptionRow, ...]
    futures: tuple[FutureRow, ...]
    excluded: tuple[ExcludedRow, ...]
    rows_read: int
    metadata: Mapping[str, str]
    index_column: str
    timestamp_column: str
    index_override: float | None = None
