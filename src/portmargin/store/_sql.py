"""Small SQL helpers shared by reads and writes: dialect inserts, chunking, the clock."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "CHUNK",
    "SCAN_FROM",
    "chunks",
    "dumps",
    "id_filter",
    "loads",
    "now_ms",
    "rows_for_ids",
    "upsert",
]

CHUNK: Final = 900
"""Ids per ``IN (...)`` list (below SQLite's oldest bound-parameter limit of 999)."""
SCAN_FROM: Final = 20_000
"""Ids from which :func:`rows_for_ids` reads the whole table instead of ``IN`` lists."""

T = TypeVar("T")


def now_ms() -> int:
    """The current time, integer epoch milliseconds UTC."""
    return time.time_ns() // 1_000_000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def id_filter(column: sa.ColumnElement[Any], ids: Sequence[str]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``ids``: an equality for one id (a request about one account;
    no expanding ``IN`` list to render), else an ``IN`` list."""
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def rows_for_ids(
    c: sa.Connection, query: sa.Select[Any], column: sa.ColumnElement[Any], ids: Sequence[str]
) -> list[sa.Row[Any]]:
    """Rows of ``query`` whose ``column`` value is one of ``ids``.

    Few ids: :func:`id_filter` on parts of :data:`CHUNK` ids. Many (from :data:`SCAN_FROM`):
    one read of every row of ``query``, filtered here — faster than hundreds of ``IN``
    queries.
    """
    if len(ids) < SCAN_FROM:
        return [r for part in chunks(ids) for r in c.execute(query.where(id_filter(column, part)))]
    wanted = set(ids)
    return [r for r in c.execute(query) if r._mapping[column] in wanted]


def upsert(
    connection: sa.Connection, table: sa.Table, keys: Sequence[str], update: Sequence[str]
) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET update`` (DO NOTHING without ``update``).

    Returns the statement for the connection's dialect, to execute with a list of rows.
    """
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
    )


def dumps(value: Mapping[str, Any] | None) -> str:
    """JSON text of a mapping (``{}`` for None), keys sorted."""
    return json.dumps(dict(value or {}), sort_keys=True, allow_nan=False)


def loads(text: str) -> dict[str, Any]:
    """The mapping stored as JSON text."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
