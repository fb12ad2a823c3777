"""Parsed Deribit rows and excluded rows: what the readers hand to the assembly step."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from portmargin.io._deribit_values import RowError
from portmargin.market import FutureQuote, OptionQuote

__all__ = [
    "ExcludedRow",
    "FutureRow",
    "OptionRow",
    "RowSet",
    "exclude_failed",
    "exclusion",
    "keep_latest",
    "outside",
    "ratio_gap",
]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


class _SourceRow(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def row(self) -> int: ...


_R = TypeVar("_R", bound=_SourceRow)


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


def keep_latest(
    rows: Sequence[_R],
    name: Callable[[_R], str],
    timestamp_ms: Callable[[_R], int],
    excluded: list[ExcludedRow],
) -> list[_R]:
    """One row per instrument name: the latest timestamp wins; on equal timestamps the row
    read last (later in the file, or in a later file). The others are appended to
    ``excluded`` with the reason ``duplicate of <source> row <n>, which is kept``.
    Instruments keep the order of their first row."""
    groups: dict[str, list[_R]] = {}
    for row in rows:
        groups.setdefault(name(row), []).append(row)
    kept: list[_R] = []
    for instrument, group in groups.items():
        newest = max(range(len(group)), key=lambda i: (timestamp_ms(group[i]), i))
        winner = group[newest]
        kept.append(winner)
        excluded.extend(
            ExcludedRow(
                source=row.source,
                row=row.row,
                instrument=instrument,
                column=None,
                reason=f"duplicate of {winner.source} row {winner.row}, which is kept",
            )
            for i, row in enumerate(group)
            if i != newest
        )
    return kept


def exclude_failed(
    rows: Sequence[_R],
    checks: Sequence[tuple[BoolArray, str | None, Callable[[int], str]]],
    name: Callable[[_R], str],
    excluded: list[ExcludedRow],
) -> list[int]:
    """Apply ``(failed mask, column, reason of row i)`` checks in order: each row is excluded
    by the first check it fails (appended to ``excluded``); return the kept indices."""
    bad = np.zeros(len(rows), dtype=bool)
    for failed, column, reason in checks:
        for i in np.flatnonzero(failed & ~bad).tolist():
            row = rows[i]
            excluded.append(
                ExcludedRow(
                    source=row.source,
                    row=row.row,
                    instrument=name(row),
                    column=column,
                    reason=reason(i),
                )
            )
        bad |= failed
    return np.flatnonzero(~bad).tolist()


def outside(value: FloatArray, low: float, high: float) -> BoolArray:
    """True where ``value`` is NaN or outside ``[low, high]``."""
    result: BoolArray = ~((value >= low) & (value <= high))
    return result


def ratio_gap(value: FloatArray, reference: FloatArray, limit: float) -> BoolArray:
    """True where ``value / reference`` lies outside ``[1 / (1 + limit), 1 + limit]`` (or
    either is not a positive number)."""
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        ratio = np.abs(np.log(value) - np.log(reference))
    result: BoolArray = ~(ratio <= math.log1p(limit))
    return result
