"""Daily close files: Yahoo Finance CSV exports and Parquet ``date, close`` tables.

A CSV file has a header with at least ``Date`` and ``Close`` (a Yahoo export has
``Date,Open,High,Low,Close,Adj Close,Volume``); a Parquet file has ``date`` and ``close``
columns (date as a date, timestamp or ``YYYY-MM-DD`` string; close as a number). The close is
used (``Adj Close`` equals ``Close`` for crypto pairs), and the USD volume when the file has a
``Volume`` (CSV) or ``volume`` (Parquet) column.

Row rules, after ``var-margin.md`` section 3.1 (a return needs a *valid close* on both days;
prices are never interpolated):

- a close that is the literal string ``null`` (how Yahoo marks a missing day), empty, not a
  number, not finite or not > 0 is not a valid close: the day is dropped and reported with the
  reason, and no return is taken from or to it;
- a volume that is not a finite number >= 0 on a day with a valid close is not used (``NaN``);
  the close is kept and the day is reported;
- dates must be ``YYYY-MM-DD``, strictly increasing and unique. A date that cannot be read, is
  repeated or is out of order leaves no sound choice of close, so it raises
  :class:`~portmargin.core.DataFormatError` naming the file, the row (1-based, header excluded)
  and the column, as does a missing file or column, or a file with no valid close.

Files are read column-wise with pyarrow; the checks are vectorised over rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from portmargin.core import DataFormatError, ValidationError
from portmargin.io.tables import csv_header
from portmargin.market import PriceHistory

__all__ = ["DailyFile", "DroppedDay", "HistoryLoad", "load_history", "read_daily_closes"]

_NUMBER = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True, slots=True, kw_only=True)
class DroppedDay:
    """A row of a daily file whose close was not used.

    Attributes
    ----------
    underlying
        Underlying of the file.
    date
        The row's date, ``YYYY-MM-DD``.
    reason
        Why, e.g. ``"close is null"`` or ``"close -3 is not > 0"``.
    """

    underlying: str
    date: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HistoryLoad:
    """What :func:`load_history` read.

    Attributes
    ----------
    history
        The valid closes of every file on the union of their dates (``NaN`` elsewhere).
    dropped
        Rows not used, per underlying in the order given, then by date.
    """

    history: PriceHistory
    dropped: tuple[DroppedDay, ...]


def load_history(paths: Mapping[str, str | Path]) -> HistoryLoad:
    """Read one daily file per underlying into a :class:`~portmargin.market.PriceHistory`.

    Parameters
    ----------
    paths
        Underlying → file (``.parquet``/``.pq``: Parquet; otherwise CSV), e.g.
        ``{"BTC": "btc_usd_daily.csv", "ETH": "eth_usd_daily.csv"}``. Closes in USD.

    Returns
    -------
    HistoryLoad
        The history (columns in the order of ``paths``) and the dropped rows.

    Raises
    ------
    DataFormatError
        A file cannot be read, lacks a column, has an unreadable, repeated or out-of-order
        date, or has no valid close.
    """
    if not paths:
        raise ValidationError("paths", paths, "at least one underlying → file")
    files = [read_daily_closes(p, underlying=u) for u, p in paths.items()]
    dates = np.unique(np.concatenate([f.dates for f in files]))
    closes = np.full((dates.size, len(files)), np.nan)
    volumes = np.full((dates.size, len(files)), np.nan)
    for j, f in enumerate(files):
        at = np.searchsorted(dates, f.dates)
        closes[at, j] = f.closes
        if f.volumes is not None:
            volumes[at, j] = f.volumes
    any_volume = any(f.volumes is not None for f in files)
    history = PriceHistory(
        underlyings=tuple(paths),
        dates=dates,
        closes=closes,
        volumes=volumes if any_volume else None,
    )
    return HistoryLoad(history=history, dropped=tuple(x for f in files for x in f.dropped))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DailyFile:
    """The valid days of one daily file.

    Attributes
    ----------
    dates
        Shape ``(n,)``, ``datetime64[D]``, increasing: the days with a valid close.
    closes
        Shape ``(n,)``, USD, all finite and > 0.
    volumes
        Shape ``(n,)``, USD traded, ``NaN`` where the volume is not valid; ``None`` when the
        file has no volume column (``Volume`` in CSV, ``volume`` in Parquet).
    dropped
        Days whose close was not used, and days whose close is kept but whose volume is not.
    """

    dates: NDArray[np.datetime64]
    closes: NDArray[np.float64]
    volumes: NDArray[np.float64] | None
    dropped: tuple[DroppedDay, ...]


def read_daily_closes(path: str | Path, *, underlying: str) -> DailyFile:
    """The valid days of one file, with their USD closes and volumes, and what was not used.

    Raises
    ------
    DataFormatError
        As :func:`load_history`.
    """
    p = Path(path)
    source = str(p)
    if p.suffix.lower() in (".parquet", ".pq"):
        date_col, close_col, volume_col = "date", "close", "volume"
        table = _read_parquet(p, (date_col, close_col), volume_col)
    else:
        date_col, close_col, volume_col = "Date", "Close", "Volume"
        table = _read_csv(p, (date_col, close_col), volume_col)
    if table.num_rows == 0:
        raise DataFormatError(source, "has no data rows; expected one row per day")
    days = _days(source, table.column(date_col), date_col)
    steps = np.diff(days)
    if (steps <= np.timedelta64(0, "D")).any():
        i = int(np.flatnonzero(steps <= np.timedelta64(0, "D"))[0]) + 1
        what = "repeats" if steps[i - 1] == np.timedelta64(0, "D") else "is before"
        raise DataFormatError(
            source,
            f"date {days[i]} {what} the previous row's date {days[i - 1]}; "
            "expected strictly increasing dates",
            row=i + 1,
            column=date_col,
        )
    closes, reasons = _numbers(source, table.column(close_col), close_col, "close", zero_ok=False)
    ok = reasons == ""
    if not ok.any():
        raise DataFormatError(
            source, f"no row has a valid close (first row: {reasons[0]})", column=close_col
        )
    volumes = None
    if volume_col in table.column_names:
        volumes, v_reasons = _numbers(
            source, table.column(volume_col), volume_col, "volume", zero_ok=True
        )
        kept_bad = ok & (v_reasons != "")
        reasons = np.where(kept_bad, np.char.add(v_reasons, "; the close is kept"), reasons)
        volumes = volumes[ok]
    bad = np.flatnonzero(reasons != "")
    dropped = tuple(
        DroppedDay(underlying=underlying, date=str(days[i]), reason=str(reasons[i])) for i in bad
    )
    return DailyFile(dates=days[ok], closes=closes[ok], volumes=volumes, dropped=dropped)


def _read_csv(p: Path, columns: tuple[str, str], optional: str) -> pa.Table:
    names = csv_header(p)
    _check_columns(str(p), names, columns)
    wanted = [*columns, optional] if optional in names else list(columns)
    try:
        return pa_csv.read_csv(
            p,
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=names),
            convert_options=pa_csv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataFormatError(str(p), f"is not a valid CSV file: {exc}") from None


def _read_parquet(p: Path, columns: tuple[str, str], optional: str) -> pa.Table:
    try:
        names = list(pq.read_schema(p).names)
        _check_columns(str(p), names, columns)
        return pq.read_table(
            p, columns=[*columns, optional] if optional in names else list(columns)
        )
    except OSError as exc:
        raise DataFormatError(str(p), f"cannot be read: {exc.strerror or exc}") from None
    except (pa.ArrowException, ValueError) as exc:
        raise DataFormatError(str(p), f"is not a readable Parquet file: {exc}") from None


def _check_columns(source: str, header: list[str], columns: tuple[str, str]) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataFormatError(
            source,
            f"missing column(s) {', '.join(missing)}; expected columns including "
            f"{', '.join(columns)}, found {header}",
        )


def _days(source: str, column: pa.ChunkedArray, name: str) -> NDArray[np.datetime64]:
    t = column.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if column.null_count:
            i = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataFormatError(source, "date is empty", row=i + 1, column=name)
        return np.asarray(pc.cast(column, pa.date32()).to_numpy(), dtype="datetime64[D]")
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        raise DataFormatError(
            source, f"dates are {t}; expected dates or 'YYYY-MM-DD' strings", column=name
        )
    text = pc.utf8_trim_whitespace(column)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls impossible days over (2021-02-30 -> 2021-03-02): require a round trip.
    again = pc.strftime(pc.fill_null(parsed, 0), format="%Y-%m-%d")
    good = pc.and_(
        pc.fill_null(pc.match_substring_regex(text, _DATE), False),
        pc.and_(pc.is_valid(parsed), pc.equal(again, text)),
    )
    good_np = good.to_numpy(zero_copy_only=False)
    if not good_np.all():
        i = int(np.flatnonzero(~good_np)[0])
        raise DataFormatError(
            source,
            f"date {column[i].as_py()!r} is not a calendar day; expected 'YYYY-MM-DD'",
            row=i + 1,
            column=name,
        )
    return np.asarray(pc.cast(parsed, pa.date32()).to_numpy(), dtype="datetime64[D]")


def _numbers(
    source: str, column: pa.ChunkedArray, name: str, what: str, *, zero_ok: bool
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Value per row (NaN where unusable) and the reason per row (``""`` when valid).

    Valid: a finite number > 0 (``>= 0`` with ``zero_ok``); ``what`` names it in reasons.
    """
    n = len(column)
    reasons = np.full(n, "", dtype=object)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = pc.utf8_trim_whitespace(pc.fill_null(column, ""))
        is_null = pc.equal(text, "null").to_numpy(zero_copy_only=False)
        is_empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
        numeric = pc.match_substring_regex(text, _NUMBER).to_numpy(zero_copy_only=False)
        values = np.full(n, np.nan)
        if numeric.any():
            values[numeric] = pc.cast(pc.filter(text, pa.array(numeric)), pa.float64()).to_numpy(
                zero_copy_only=False
            )
        not_number = ~numeric & ~is_null & ~is_empty
        shown = pc.filter(text, pa.array(not_number)).to_pylist()
        reasons[not_number] = [f"{what} {v!r} is not a number" for v in shown]
        reasons[is_empty] = f"{what} is empty"
        reasons[is_null] = f"{what} is null"
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        is_null = column.is_null().to_numpy(zero_copy_only=False)
        values = pc.cast(pc.fill_null(column, 0), pa.float64()).to_numpy(zero_copy_only=False)
        numeric = ~is_null & ~np.isnan(values)
        reasons[~is_null & np.isnan(values)] = f"{what} is NaN"
        reasons[is_null] = f"{what} is null"
    else:
        raise DataFormatError(source, f"{what}s are {column.type}; expected numbers", column=name)
    with np.errstate(invalid="ignore"):
        out_of_range = numeric & np.isfinite(values) & ((values < 0) if zero_ok else (values <= 0))
    infinite = numeric & np.isinf(values)
    bound = ">= 0" if zero_ok else "> 0"
    reasons[out_of_range] = [f"{what} {v:g} is not {bound}" for v in values[out_of_range]]
    reasons[infinite] = f"{what} is not finite"
    values = np.where(reasons == "", values, np.nan)
    return values, reasons.astype(str)
