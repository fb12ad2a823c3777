"""Positions files: ``account,instrument,quantity`` as CSV or Parquet, many accounts per file.

A row that cannot be used (unknown instrument name, quantity that is not a finite number)
makes its account bad: the account is reported with the row, column and reason, and the other
accounts are still returned. Rows repeating an account and instrument are summed, with a
warning. Problems with the file as a whole (missing, empty, wrong columns) raise
:class:`~portmargin.core.DataFormatError`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from portmargin.core import DataFormatError, PortmarginError
from portmargin.instruments import parse_instrument
from portmargin.portfolio import Portfolio, Position

__all__ = [
    "COLUMNS",
    "PositionsFile",
    "read_positions",
    "read_positions_csv",
    "read_positions_parquet",
]

COLUMNS = ("account", "instrument", "quantity")


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsFile:
    """What a positions file holds.

    Attributes
    ----------
    portfolios
        The accounts whose every row was valid, in first-seen order.
    account_errors
        Bad accounts: account → message naming the row, column, value and what was expected.
    warnings
        Notes such as summed duplicate rows.
    """

    portfolios: tuple[Portfolio, ...]
    account_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()


def read_positions(path: str | Path) -> PositionsFile:
    """Read a positions file, choosing the format from the suffix (``.parquet`` or CSV)."""
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        return read_positions_parquet(p)
    return read_positions_csv(p)


def read_positions_csv(path: str | Path) -> PositionsFile:
    """Read ``account,instrument,quantity`` rows from a CSV file (header required).

    Raises
    ------
    DataFormatError
        The file is missing, empty, or lacks one of the required columns.
    """
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if header is None:
                raise DataFormatError(
                    str(p), "file is empty; expected header 'account,instrument,quantity'"
                )
            _check_columns(str(p), [h.strip() for h in header])
            rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    except OSError as exc:
        raise DataFormatError(str(p), f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataFormatError(str(p), "is not UTF-8 text; expected a CSV file") from None
    return _build(str(p), rows)


def read_positions_parquet(path: str | Path) -> PositionsFile:
    """Read ``account, instrument, quantity`` columns from a Parquet file (needs ``pyarrow``)."""
    p = Path(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the install
        raise DataFormatError(
            str(p), "reading Parquet needs pyarrow: pip install 'portmargin[parquet]'"
        ) from None
    try:
        table = pq.read_table(p)
    except (OSError, ValueError) as exc:
        raise DataFormatError(str(p), f"is not a readable Parquet file: {exc}") from None
    _check_columns(str(p), list(table.column_names))
    return _build(str(p), table.select(list(COLUMNS)).to_pylist())


def _check_columns(source: str, header: Sequence[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataFormatError(
            source,
            f"missing column(s) {', '.join(missing)}; expected columns "
            f"'account,instrument,quantity', found {list(header)}",
        )


def _build(source: str, rows: Iterable[Mapping[str, Any]]) -> PositionsFile:
    positions: dict[str, list[Position]] = {}
    errors: dict[str, str] = {}
    warnings: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    n_rows = 0
    for n_rows, row in enumerate(rows, start=1):
        account = str(row.get("account") or "").strip()
        if not account:
            raise DataFormatError(
                source, "account is empty; expected an account id", row=n_rows, column="account"
            )
        positions.setdefault(account, [])
        if account in errors:
            continue
        try:
            position = _position(source, n_rows, row)
        except PortmarginError as exc:
            errors[account] = str(exc)
            continue
        key = (account, position.instrument.name)
        if key in seen:
            warnings.append(
                f"{source}, row {n_rows}: account {account!r} repeats {key[1]} "
                f"(first at row {seen[key]}); quantities summed"
            )
        else:
            seen[key] = n_rows
        positions[account].append(position)
    if n_rows == 0:
        raise DataFormatError(source, "has a header but no position rows")
    portfolios = tuple(
        Portfolio.from_positions(acc, ps) for acc, ps in positions.items() if acc not in errors
    )
    return PositionsFile(
        portfolios=portfolios,
        account_errors=MappingProxyType(errors),
        warnings=tuple(warnings),
    )


def _position(source: str, row_no: int, row: Mapping[str, Any]) -> Position:
    name = str(row.get("instrument") or "").strip()
    try:
        instrument = parse_instrument(name)
    except PortmarginError as exc:
        raise DataFormatError(source, str(exc), row=row_no, column="instrument") from None
    raw = row.get("quantity")
    try:
        quantity = float(raw) if raw is not None and str(raw).strip() else math.nan
    except (TypeError, ValueError):
        quantity = math.nan
    if not math.isfinite(quantity):
        raise DataFormatError(
            source,
            f"quantity {raw!r} for {name} is not a finite number; expected a signed size "
            "(> 0 long, < 0 short)",
            row=row_no,
            column="quantity",
        )
    return Position(instrument=instrument, quantity=quantity)
