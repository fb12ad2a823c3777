"""Read a Deribit option-chain CSV (one row per option; pricing conventions §8) into rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path

from portmargin.core import DataFormatError
from portmargin.instruments import Option
from portmargin.io import _deribit_values as v
from portmargin.io._deribit_rows import ExcludedRow, OptionRow, RowSet, exclusion
from portmargin.market import OptionQuote

__all__ = ["REQUIRED_COLUMNS", "read_chain_csv"]

REQUIRED_COLUMNS = (
    "instrument_name",
    "timestamp",
    "mark_price",
    "mark_iv",
    "underlying_price",
    "underlying_index",
    "index_price",
)
"""Columns without which a file is not a usable Deribit option chain."""


def _records(path: Path, source: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(data_row_number, cells)`` of non-blank records; the first one is the header."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            number = 0
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise DataFormatError(
                        source, f"malformed CSV: {exc}", row=number or None
                    ) from None
                if any(cell.strip() for cell in record):
                    yield number, record
                    number += 1
    except OSError as exc:
        raise DataFormatError(source, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(source, f"not a UTF-8 text file ({exc.reason})") from None


def _header(cells: list[str], source: str) -> list[str]:
    names = [cell.strip() for cell in cells]
    named = [name for name in names if name]
    duplicates = sorted({name for name in named if named.count(name) > 1})
    if duplicates:
        raise DataFormatError(source, f"duplicate column(s) {', '.join(duplicates)} in header")
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        found = ", ".join(named[:8]) + (", ..." if len(named) > 8 else "")
        raise DataFormatError(
            source,
            f"not a Deribit option chain: missing column(s) {', '.join(missing)} "
            f"(found: {found or 'no named columns'})",
        )
    return names


def _check_contract(cells: Mapping[str, str], option: Option) -> None:
    """Cross-check the redundant contract columns against the instrument name."""
    expiry = cells.get("expiration_timestamp")
    if expiry not in (None, "") and v.timestamp(expiry, "expiration_timestamp") != option.expiry_ms:
        raise v.RowError(
            "expiration_timestamp",
            f"expiration_timestamp: {expiry!r} is not the "
            f"expiry of {option.name} ({option.expiry_ms})",
        )
    strike = cells.get("strike")
    if strike not in (None, "") and v.positive(strike, "strike") != option.strike:
        raise v.RowError("strike", f"strike: {strike!r} is not the strike of {option.name}")
    kind = cells.get("option_type")
    if kind not in (None, "") and kind.strip().lower() != option.option_type.value:
        raise v.RowError("option_type", f"option_type: {kind!r} does not match {option.name}")
    state = cells.get("state")
    if state not in (None, "") and state.strip() != "open":
        raise v.RowError("state", f"state: book is {state!r}, not 'open'")


def _volume(cells: Mapping[str, str]) -> float | None:
    stats = v.mapping(cells.get("stats"), "stats")
    if stats is None:
        return None
    return v.optional_non_negative(stats.get("volume"), "stats")


def _option_row(cells: Mapping[str, str], source: str, number: int) -> OptionRow:
    instrument = v.derivative_instrument(cells["instrument_name"], "instrument_name")
    if not isinstance(instrument, Option):
        raise v.RowError(
            "instrument_name", f"instrument_name: {instrument.name!r} is not an option"
        )
    _check_contract(cells, instrument)
    bid, ask = v.book(
        cells.get("best_bid_price"), cells.get("best_ask_price"), "best_bid_price", "best_ask_price"
    )
    bid_iv, _ = v.side_iv(cells.get("bid_iv"), "bid_iv")
    ask_iv, censored = v.side_iv(cells.get("ask_iv"), "ask_iv")
    index_price = v.positive(cells["index_price"], "index_price")
    quote = OptionQuote(
        instrument_name=instrument.name,
        instrument=instrument,
        timestamp_ms=v.timestamp(cells["timestamp"], "timestamp"),
        mark_price=v.non_negative(cells["mark_price"], "mark_price"),
        mark_iv=v.percent_iv(cells["mark_iv"], "mark_iv"),
        underlying_price=v.positive(cells["underlying_price"], "underlying_price"),
        underlying_index=v.text(cells["underlying_index"], "underlying_index"),
        index_price=index_price,
        best_bid=bid,
        best_ask=ask,
        bid_iv=bid_iv if bid is not None else None,
        ask_iv=ask_iv if ask is not None else None,
        ask_iv_censored=censored and ask is not None,
        open_interest=v.optional_non_negative(cells.get("open_interest"), "open_interest"),
        volume=_volume(cells),
        last_price=v.optional_non_negative(cells.get("last_price"), "last_price"),
        greeks=v.greeks(cells.get("greeks"), "greeks"),
    )
    return OptionRow(source=source, row=number, quote=quote, index_price=index_price)


def read_chain_csv(path: Path) -> RowSet:
    """Parse every data row of a chain CSV; rows with unusable values become exclusions.

    Besides :data:`REQUIRED_COLUMNS`, these are read when present (absent → ``None`` or no
    check): ``expiration_timestamp, strike, option_type, state`` (cross-checks),
    ``best_bid_price, best_ask_price, bid_iv, ask_iv, open_interest, stats, last_price,
    greeks``. Other columns (``bids``, ``asks``, ``min_price``, ...) are ignored.

    Raises
    ------
    DataFormatError
        If the file cannot be read, is empty, lacks a required column, has a duplicate column,
        has a row that is not valid CSV or has a different number of fields than the header,
        or a ``timestamp`` that is NaN, infinite or <= 0 (it would set the valuation time).
    """
    source = str(path)
    records = _records(path, source)
    first = next(records, None)
    if first is None:
        raise DataFormatError(source, "empty file: expected a header and one row per option")
    header = _header(first[1], source)
    options: list[OptionRow] = []
    excluded: list[ExcludedRow] = []
    rows_read = 0
    for number, record in records:
        if len(record) != len(header):
            raise DataFormatError(
                source, f"has {len(record)} fields, the header has {len(header)}", row=number
            )
        rows_read += 1
        cells = dict(zip(header, record, strict=True))
        try:
            options.append(_option_row(cells, source, number))
        except v.TimestampError as exc:
            raise DataFormatError(source, exc.message, row=number, column=exc.column) from None
        except v.RowError as exc:
            excluded.append(exclusion(source, number, cells["instrument_name"].strip(), exc))
    return RowSet(
        sources=(source,),
        options=tuple(options),
        futures=(),
        excluded=tuple(excluded),
        rows_read=rows_read,
        metadata={"source": "deribit-csv", "files": source},
        index_column="index_price",
        timestamp_column="timestamp",
    )
