"""Positions files: ``account,instrument,quantity`` as CSV or Parquet, many accounts per file.

Files are read column by column with pyarrow: account and instrument columns are
dictionary-encoded, each distinct instrument name is parsed once, and the accounts that read
cleanly become one sparse :class:`~portmargin.risk.Book` built from index arrays (no
per-row Python objects).

A row that cannot be used (unknown instrument name, quantity that is not a finite number or is
empty) makes its account bad: the account is reported with its first bad row (1-based, header
excluded), the column and the reason, and the other accounts are still returned. Rows repeating
an account and instrument are summed, with a warning. Problems with the file as a whole
(missing, empty, wrong columns, malformed CSV, an empty account id) raise
:class:`~portmargin.core.DataFormatError`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import DataFormatError, PortmarginError
from portmargin.instruments import Instrument, parse_instrument
from portmargin.io.tables import csv_header
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

__all__ = [
    "COLUMNS",
    "MAX_DUPLICATE_WARNINGS",
    "PositionsFile",
    "positions_from_table",
    "read_positions",
    "read_positions_csv",
    "read_positions_parquet",
    "read_positions_table",
]

COLUMNS = ("account", "instrument", "quantity")

MAX_DUPLICATE_WARNINGS = 20
"""Duplicate rows warned about one by one; further ones are counted in one last warning."""

_DICT = pa.dictionary(pa.int32(), pa.string())
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PositionsFile:
    """What a positions file holds.

    Attributes
    ----------
    book
        The accounts whose every row was valid, in first-seen order, as a sparse book. Every
        such account is a row, including accounts whose rows all have quantity 0. Columns are
        the instruments held (non-zero) by those accounts, sorted by name, so no account's
        numbers depend on the row order of the file or on the other accounts in it.
    account_errors
        Bad accounts: account → message naming the first bad row, the column, the value and
        what was expected; in the order of those rows.
    warnings
        Notes such as summed duplicate rows.
    """

    book: Book
    account_errors: Mapping[str, str] = field(default_factory=_no_errors)
    warnings: tuple[str, ...] = ()

    @property
    def portfolios(self) -> tuple[Portfolio, ...]:
        """The clean accounts as :class:`Portfolio` objects, built on each access.

        One Python object per position: meant for small files and per-account work; batch
        paths use :attr:`book`. Positions are in instrument-name order; zero quantities are
        left out.
        """
        q = self.book.quantities
        instruments = self.book.instruments
        out = []
        for a, account in enumerate(self.book.accounts):
            lo, hi = int(q.indptr[a]), int(q.indptr[a + 1])
            positions = tuple(
                Position(instrument=instruments[c], quantity=v)
                for c, v in zip(q.indices[lo:hi].tolist(), q.data[lo:hi].tolist(), strict=True)
            )
            out.append(Portfolio(account=account, positions=positions))
        return tuple(out)


def read_positions(path: str | Path) -> PositionsFile:
    """Read a positions file, choosing the format from the suffix (``.parquet`` or CSV)."""
    p = Path(path)
    return positions_from_table(read_positions_table(p), str(p))


def read_positions_csv(path: str | Path) -> PositionsFile:
    """Read ``account,instrument,quantity`` rows from a CSV file (header required).

    Raises
    ------
    DataFormatError
        The file is missing, empty, not UTF-8, malformed, or lacks a required column.
    """
    p = Path(path)
    return positions_from_table(_read_csv(p), str(p))


def read_positions_parquet(path: str | Path) -> PositionsFile:
    """Read ``account, instrument, quantity`` columns from a Parquet file."""
    p = Path(path)
    return positions_from_table(_read_parquet(p), str(p))


def read_positions_table(path: str | Path) -> pa.Table:
    """The raw ``account, instrument, quantity`` columns of a file (suffix picks the format).

    Account and instrument are dictionary-encoded strings; quantity is a string column for CSV
    (so bad values can be quoted as written) and as stored for Parquet.

    Raises
    ------
    DataFormatError
        The file cannot be read or lacks a required column.
    """
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(p)
    return _read_csv(p)


def _read_csv(p: Path) -> pa.Table:
    names = csv_header(p)
    if not names:
        raise DataFormatError(
            str(p), "file is empty; expected header 'account,instrument,quantity'"
        )
    _check_columns(str(p), names)
    try:
        return pa_csv.read_csv(
            p,
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=names),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(COLUMNS),
                column_types={"account": _DICT, "instrument": _DICT, "quantity": pa.string()},
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise DataFormatError(str(p), "is not UTF-8 text; expected a CSV file") from None
        if "Expected" in str(exc) and "columns" in str(exc):
            return _read_csv_rows(p)
        raise DataFormatError(str(p), f"is not a valid CSV file: {exc}") from None


def _read_csv_rows(p: Path) -> pa.Table:
    """Row-by-row reading for a CSV file whose rows have different numbers of fields.

    Missing fields are null (their row then fails on that column) and extra fields are
    ignored, as the fast reader cannot do; one Python step per row.
    """
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        reader.fieldnames = [h.strip() for h in reader.fieldnames or ()]
        columns: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
        for row in reader:
            for c in COLUMNS:
                columns[c].append(row.get(c))
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})


def _read_parquet(p: Path) -> pa.Table:
    try:
        schema = pq.read_schema(p)
        _check_columns(str(p), list(schema.names))
        strings = [
            c
            for c in ("account", "instrument")
            if pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        ]  # dictionary-decoded on read: no per-row strings
        return pq.read_table(p, columns=list(COLUMNS), read_dictionary=strings)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataFormatError(str(p), f"cannot be read: {exc.strerror or exc}") from None
        raise DataFormatError(str(p), f"is not a readable Parquet file: {exc}") from None
    except (pa.ArrowException, ValueError) as exc:
        raise DataFormatError(str(p), f"is not a readable Parquet file: {exc}") from None


def _check_columns(source: str, header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataFormatError(
            source,
            f"missing column(s) {', '.join(missing)}; expected columns "
            f"'account,instrument,quantity', found {list(header)}",
        )


def _encode(column: pa.ChunkedArray) -> tuple[NDArray[np.int32], list[str]]:
    """Codes per row (-1 for null) and the distinct whitespace-stripped values they index.

    Chunks may each carry their own dictionary (Parquet row groups do): the dictionaries are
    concatenated and encoded once, and each chunk's indices are mapped through that, which is
    linear in rows plus dictionary entries.
    """
    if not pa.types.is_dictionary(column.type):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        column = pc.dictionary_encode(column)
    chunks = column.chunks
    # Chunks of one Parquet row group share their dictionary: encode each distinct one once.
    dictionaries: list[pa.Array] = []
    offset_of: dict[tuple[int, ...], int] = {}
    offsets = []
    for c in chunks:
        d = c.dictionary
        key = (*(0 if b is None else b.address for b in d.buffers()), d.offset, len(d))
        if key not in offset_of:
            offset_of[key] = sum(len(x) for x in dictionaries)
            dictionaries.append(pc.cast(d, pa.string()))
        offsets.append(offset_of[key])
    merged = pc.dictionary_encode(pa.concat_arrays(dictionaries or [pa.array([], pa.string())]))
    remap = merged.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    codes = np.empty(len(column), dtype=np.int32)
    start = 0
    for c, offset in zip(chunks, offsets, strict=True):
        local = pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False)
        mapped = remap[np.maximum(local, 0) + offset]
        if c.null_count:
            mapped[local < 0] = -1
        codes[start : start + len(c)] = mapped
        start += len(c)
    stripped = pc.utf8_trim_whitespace(merged.dictionary)
    values = stripped.to_pylist()
    if len(set(values)) != len(values):  # " A" and "A" are one value
        encoded = pc.dictionary_encode(stripped)
        again = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)
        values = encoded.dictionary.to_pylist()
        codes = np.where(codes >= 0, again[np.maximum(codes, 0)], -1)
    return codes, [str(v) for v in values]


def _quantities(column: pa.ChunkedArray) -> NDArray[np.float64]:
    """Quantity per row as float (NaN where empty or not a number)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        try:
            numbers = pc.cast(column, pa.float64())
        except pa.ArrowInvalid:
            column = pc.cast(column, pa.string())
        else:
            return _float_array(numbers)
    try:
        numbers = pc.cast(column, pa.float64())
    except pa.ArrowInvalid:
        text = pc.utf8_trim_whitespace(column)
        numbers = pc.cast(
            pc.if_else(pc.match_substring_regex(text, _NUMBER), text, None), pa.float64()
        )
    return _float_array(numbers)


def _float_array(numbers: pa.ChunkedArray) -> NDArray[np.float64]:
    """A float64 column as one writable numpy array (the book owns it), nulls as NaN."""
    out = np.empty(len(numbers), dtype=np.float64)
    start = 0
    for chunk in numbers.chunks:
        if chunk.null_count:
            chunk = pc.fill_null(chunk, np.nan)
        out[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        start += len(chunk)
    return out


def _parse_names(names: list[str]) -> tuple[list[Instrument | str], list[str]]:
    """Each distinct name parsed once: instrument, or the error message; and canonical names."""
    parsed: list[Instrument | str] = []
    canonical: list[str] = []
    for name in names:
        try:
            inst = parse_instrument(name)
        except PortmarginError as exc:
            parsed.append(str(exc))
            canonical.append("")
        else:
            parsed.append(inst)
            canonical.append(inst.name)
    return parsed, canonical


def positions_from_table(table: pa.Table, source: str, first_row: int = 1) -> PositionsFile:
    """Validate the raw columns of a positions file and build its :class:`PositionsFile`.

    Parameters
    ----------
    table
        Columns ``account``, ``instrument``, ``quantity``, one row per file row.
    source
        File name quoted in messages.
    first_row
        File row number (1-based, header excluded) of the table's first row, for messages
        about a part of a file (such as some row groups of a Parquet file).

    Raises
    ------
    DataFormatError
        No rows, or a row with an empty account id.
    """
    n = table.num_rows
    if n == 0:
        raise DataFormatError(source, "has a header but no position rows")
    acc, accounts = _encode(table.column("account"))
    empty = acc < 0
    if "" in accounts:
        empty |= acc == accounts.index("")
    empty_account = np.flatnonzero(empty)
    if empty_account.size:
        raise DataFormatError(
            source,
            "account is empty; expected an account id",
            row=int(empty_account[0]) + first_row,
            column="account",
        )
    name_code, names = _encode(table.column("instrument"))
    parsed, canonical = _parse_names([*names, ""])  # the last entry stands for null names
    name_code = np.where(name_code >= 0, name_code, len(names))
    qty = _quantities(table.column("quantity"))

    columns = sorted({c for c in canonical if c})
    column_of = {c: k for k, c in enumerate(columns)}
    col_of_name = np.array([column_of.get(c, -1) for c in canonical], dtype=np.int32)
    col = col_of_name[name_code]
    bad_row = (col < 0) | ~np.isfinite(qty)

    errors = _account_errors(
        source, table, acc, accounts, (name_code, names, parsed), bad_row, first_row
    )
    rows: NDArray[np.intp] | None = None
    if errors:
        good = np.ones(len(accounts), dtype=bool)
        good[[i for i, a in enumerate(accounts) if a in errors]] = False
        rows = np.flatnonzero(good[acc])
        acc = (np.cumsum(good, dtype=np.int32) - 1)[acc[rows]]
        col, qty = col[rows], qty[rows]
        accounts = [a for a, ok in zip(accounts, good.tolist(), strict=True) if ok]
    q = _csr(acc, col, qty, (len(accounts), len(columns)))
    q.sum_duplicates()
    warnings: tuple[str, ...] = ()
    if q.nnz < acc.size:
        warnings = _duplicate_warnings(source, rows, acc, col, (accounts, columns), first_row)
    q.eliminate_zeros()
    held = np.bincount(q.indices, minlength=len(columns)) > 0
    by_name = {i.name: i for i in parsed if not isinstance(i, str)}
    instruments = [by_name[name] for name, h in zip(columns, held.tolist(), strict=True) if h]
    if not np.all(held):
        q = sp.csr_array(q[:, np.flatnonzero(held)])
    book = Book(accounts=tuple(accounts), instruments=tuple(instruments), quantities=q)
    return PositionsFile(book=book, account_errors=MappingProxyType(errors), warnings=warnings)


def _csr(
    account: NDArray[np.int32],
    column: NDArray[np.int32],
    quantity: NDArray[np.float64],
    shape: tuple[int, int],
) -> sp.csr_array:
    """CSR matrix of coordinates (repeats not yet summed); rows grouped by account, as files
    usually are, need no sort."""
    if account.size and bool(np.all(account[1:] >= account[:-1])):
        small = account.size < np.iinfo(np.int32).max
        indptr = np.zeros(shape[0] + 1, dtype=np.int32 if small else np.int64)
        np.cumsum(np.bincount(account, minlength=shape[0]), out=indptr[1:])
        # copies: the matrix sorts and sums its arrays in place, the caller still needs them
        return sp.csr_array((quantity.copy(), column.copy(), indptr), shape=shape)
    return sp.csr_array(sp.coo_array((quantity, (account, column)), shape=shape).tocsr())


def _account_errors(
    source: str,
    table: pa.Table,
    acc: NDArray[np.int32],
    accounts: list[str],
    instruments: tuple[NDArray[np.int32], list[str], list[Instrument | str]],
    bad_row: NDArray[np.bool_],
    first_row: int,
) -> dict[str, str]:
    """Account → message for its first bad row, in row order (one Python step per bad account).

    ``instruments`` is (name code per row, distinct names, each parsed or its error).
    """
    name_code, names, parsed = instruments
    bad_rows = np.flatnonzero(bad_row)
    if bad_rows.size == 0:
        return {}
    _, first = np.unique(acc[bad_rows], return_index=True)
    errors: dict[str, str] = {}
    raw_quantity = table.column("quantity")
    for r in np.sort(bad_rows[first]).tolist():
        account = accounts[acc[r]]
        k = int(name_code[r])
        reason = parsed[k]
        if isinstance(reason, str):
            exc = DataFormatError(source, reason, row=r + first_row, column="instrument")
        else:
            raw = raw_quantity[r].as_py()
            name = names[k] if k < len(names) else ""
            exc = DataFormatError(
                source,
                f"quantity {raw!r} for {name} is not a finite number; expected a signed size "
                "(> 0 long, < 0 short)",
                row=r + first_row,
                column="quantity",
            )
        errors[account] = str(exc)
    return errors


def _duplicate_warnings(
    source: str,
    rows: NDArray[np.intp] | None,
    account: NDArray[np.int32],
    column: NDArray[np.int32],
    labels: tuple[list[str], list[str]],
    first_row: int,
) -> tuple[str, ...]:
    """One warning per row repeating an (account, instrument) pair, the first ones in full.

    ``rows`` maps entries to table rows (0-based; None when they are the table rows);
    ``labels`` are the account ids and instrument names; ``first_row`` numbers table row 0.
    """
    accounts, columns = labels
    key = account.astype(np.int64) * max(len(columns), 1) + column
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeat = np.flatnonzero(sorted_key[1:] == sorted_key[:-1]) + 1
    group_start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    first_of = group_start[np.searchsorted(group_start, repeat, side="right") - 1]
    which = order[repeat]
    file_row = which if rows is None else rows[which]
    first_seen = order[first_of] if rows is None else rows[order[first_of]]
    base = first_row
    out = []
    for j in np.argsort(file_row, kind="stable")[:MAX_DUPLICATE_WARNINGS].tolist():
        i = int(which[j])
        out.append(
            f"{source}, row {int(file_row[j]) + base}: account {accounts[account[i]]!r} repeats "
            f"{columns[column[i]]} (first at row {int(first_seen[j]) + base}); quantities summed"
        )
    if file_row.size > MAX_DUPLICATE_WARNINGS:
        out.append(
            f"{source}: {file_row.size - MAX_DUPLICATE_WARNINGS:,} more rows repeat an account "
            "and instrument; quantities summed"
        )
    return tuple(out)
