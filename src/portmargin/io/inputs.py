"""Per-account inputs of a method from a file (CSV or Parquet) or from ``ACCOUNT:NAME=VALUE``
assignments.

File layout: a column ``account``; a column ``group`` when an input is given per account and
group (e.g. Deribit's ``btc_btc``); then one column per input, named as the method declares
it (``portmargin methods`` lists them). An empty cell gives no value: the account gets the
input's default. Example for ``okx-pm``::

    account,borrowing,spot_unit
    desk-1,1200,
    desk-2,,USD
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from portmargin.core import DataFormatError, ValidationError
from portmargin.methods import AccountInputs, InputKey, InputSpec

__all__ = ["parse_input_assignments", "read_account_inputs", "unused_inputs"]

ASSIGNMENT = "ACCOUNT:NAME=VALUE, or ACCOUNT:NAME@GROUP=VALUE for an input per account and group"


def read_account_inputs(path: str | Path, specs: Sequence[InputSpec]) -> AccountInputs:
    """The inputs of a CSV or Parquet file (suffix picks the format), validated against the
    declarations ``specs``.

    Raises
    ------
    DataFormatError
        If the file cannot be read, has no ``account`` column, has a column that is not a
        declared input (the message lists the declared ones), or lacks ``group`` while an
        input needs it.
    ValidationError
        For a bad cell, naming the file, row (1 = first data row), column and value.
    """
    p = Path(path)
    columns = _read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else _read_csv(p)
    declared = {s.name: s for s in specs}
    if "account" not in columns:
        raise DataFormatError(str(p), f"has no 'account' column; found {sorted(columns)}")
    names = [c for c in columns if c not in ("account", "group")]
    unknown = [c for c in names if c not in declared]
    if unknown:
        raise DataFormatError(
            str(p),
            f"column(s) {unknown} are not inputs of the method; declared: {sorted(declared)}",
        )
    if "group" not in columns and any(declared[n].per is InputKey.ACCOUNT_GROUP for n in names):
        raise DataFormatError(str(p), "needs a 'group' column for inputs per account and group")
    accounts = columns["account"]
    groups = columns.get("group", [None] * len(accounts))
    records: list[tuple[str, str, str, object]] = []
    for row, (account, group) in enumerate(zip(accounts, groups, strict=True), start=1):
        if account is None or not str(account).strip():
            raise ValidationError(f"{p}: row {row}, column 'account'", account, "an account id")
        for name in names:
            raw = columns[name][row - 1]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            spec = declared[name]
            where = f"{p}: row {row}, column {name!r}"
            spec.parse(where, raw)
            key_group = "" if spec.per is InputKey.ACCOUNT else str(group or "").strip()
            if spec.per is InputKey.ACCOUNT_GROUP and not key_group:
                raise ValidationError(f"{p}: row {row}, column 'group'", group, spec.group)
            records.append((str(account).strip(), key_group, name, raw))
    try:
        return AccountInputs.build(specs, records)
    except ValidationError as exc:
        raise ValidationError(f"{p}: {exc.field}", exc.value, exc.expected) from None


def _read_csv(p: Path) -> dict[str, list[object]]:
    """Every column of a CSV file as text (``None`` for a missing field)."""
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = [r for r in reader if any(cell.strip() for cell in r)]
    except OSError as exc:
        raise DataFormatError(str(p), f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataFormatError(str(p), "is not UTF-8 text; expected a CSV file") from None
    if not header:
        raise DataFormatError(str(p), "is empty; expected a header starting with 'account'")
    _no_repeats(p, header)
    return {h: [r[k] if k < len(r) else None for r in rows] for k, h in enumerate(header)}


def _read_parquet(p: Path) -> dict[str, list[object]]:
    """Every column of a Parquet file as Python values."""
    try:
        table = pq.read_table(p)
    except FileNotFoundError as exc:
        raise DataFormatError(str(p), f"cannot be read: {exc.strerror or exc}") from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise DataFormatError(str(p), f"is not a readable Parquet file: {exc}") from None
    _no_repeats(p, table.column_names)
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _no_repeats(p: Path, header: Sequence[str]) -> None:
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DataFormatError(str(p), f"has repeated column(s) {repeated}")


def parse_input_assignments(texts: Iterable[str], specs: Sequence[InputSpec]) -> AccountInputs:
    """Inputs from command-line assignments ``ACCOUNT:NAME=VALUE`` (``ACCOUNT:NAME@GROUP=VALUE``
    for an input per account and group); the account is everything before the last ``:``.

    Raises
    ------
    ValidationError
        Naming the assignment, for a malformed one, an undeclared name or a bad value.
    """
    records: list[tuple[str, str, str, object]] = []
    for text in texts:
        target, sep, value = text.partition("=")
        account, colon, name = target.rpartition(":")
        if not sep or not colon or not account.strip() or not name.strip():
            raise ValidationError("--input", text, ASSIGNMENT)
        name, _, group = name.partition("@")
        records.append((account.strip(), group.strip(), name.strip(), value))
    return AccountInputs.build(specs, records)


def unused_inputs(inputs: AccountInputs, accounts: Iterable[str]) -> list[str]:
    """Accounts ``inputs`` names that are not among ``accounts`` (sorted)."""
    return sorted(inputs.accounts() - set(accounts))
