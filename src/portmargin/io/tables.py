"""Tables and files: results to Parquet, CSV or JSON Lines by suffix; CSV headers read safely."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from portmargin.core import DataFormatError, ValidationError

__all__ = [
    "TABLE_SUFFIXES",
    "check_table_path",
    "csv_header",
    "detail_path",
    "write_table",
]

TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl")
"""Suffixes :func:`write_table` understands."""

JSONL_CHUNK_ROWS = 50_000
"""Rows converted to Python and written at a time for ``.jsonl``."""


def csv_header(path: Path) -> list[str]:
    """The column names on the first line of a CSV file, whitespace-stripped (empty list for
    an empty file).

    Raises
    ------
    DataFormatError
        If the file cannot be read or is not UTF-8 text.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader([fh.readline()]), None)
    except OSError as exc:
        raise DataFormatError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataFormatError(str(path), "is not UTF-8 text; expected a CSV file") from None
    return [h.strip() for h in header or ()]


def check_table_path(path: Path, option: str = "--out") -> Path:
    """``path`` if its suffix is one of :data:`TABLE_SUFFIXES`.

    Raises
    ------
    ValidationError
        Any other suffix, naming ``option``.
    """
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ValidationError(option, str(path), "a file ending in .parquet, .csv or .jsonl")
    return path


def detail_path(path: Path) -> Path:
    """Where the detail table of results written to ``path`` goes: ``STEM.detail.SUFFIX``."""
    return path.with_name(f"{path.stem}.detail{path.suffix}")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as Parquet, CSV (header, RFC 4180 quoting) or JSON Lines.

    JSON Lines holds one object per row, nulls and non-finite numbers as ``null``; it is
    written :data:`JSONL_CHUNK_ROWS` rows at a time so memory stays bounded.

    Raises
    ------
    ValidationError
        Unsupported suffix.
    """
    suffix = check_table_path(path).suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        with path.open("w", encoding="utf-8") as fh:
            for batch in table.to_batches(max_chunksize=JSONL_CHUNK_ROWS):
                fh.writelines(
                    json.dumps({k: _finite(v) for k, v in row.items()}, allow_nan=False) + "\n"
                    for row in batch.to_pylist()
                )
