"""Bulk statements: one compiled statement, many rows, with little per-row work.

Rows are plain tuples of Python values (str, float, int, None) in the order of ``columns``.
SQLite gets them through the driver's ``executemany`` (SQLAlchemy's per-row parameter
processing skipped). On PostgreSQL large inserts are streamed with ``COPY`` into a temporary
table and moved with one ``INSERT ... SELECT`` (with its ``ON CONFLICT`` clause), much faster
than a statement per row. Every value is bound or copied, never spliced into SQL text.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from portmargin.store._sql import upsert

__all__ = ["COPY_MIN_ROWS", "execute_rows", "insert_rows"]

COPY_MIN_ROWS: Final = 2_000
"""Rows from which PostgreSQL inserts go through ``COPY``."""

_temp_names = itertools.count()
_INSERTS: dict[tuple[Any, ...], tuple[str, list[int] | None]] = {}
"""SQL text of each small insert or upsert by (dialect, table, columns, conflict): built and
compiled once, as the statements are the same every time."""


def execute_rows(
    c: sa.Connection, stmt: Any, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Execute ``stmt`` once per row (nothing for no rows).

    Parameters
    ----------
    c
        The connection (its transaction is used).
    stmt
        An insert, update or delete whose parameters are exactly ``columns`` (insert
        columns or ``bindparam`` names).
    columns
        Parameter names, in the order of the values in each row.
    rows
        Parameter values, one tuple per execution.
    """
    if not rows:
        return
    _run_sql(c, *_sql_of(stmt, c.dialect, columns), columns, rows)


def _sql_of(stmt: Any, dialect: sa.Dialect, columns: Sequence[str]) -> tuple[str, list[int] | None]:
    """SQL text of ``stmt`` and the order of ``columns`` in its positional parameters (None:
    named parameters)."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    if not compiled.positional:
        return str(compiled), None
    return str(compiled), [list(columns).index(name) for name in compiled.positiontup]


def _run_sql(
    c: sa.Connection,
    sql: str,
    order: list[int] | None,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    if order is None:
        c.exec_driver_sql(sql, [dict(zip(columns, r, strict=True)) for r in rows])
    elif order == list(range(len(columns))):
        c.exec_driver_sql(sql, list(rows))
    else:
        c.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in rows])


def insert_rows(
    c: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    conflict: tuple[Sequence[str], Sequence[str]] | None = None,
) -> None:
    """Insert rows into ``table``; with ``conflict = (keys, update)`` an upsert.

    Parameters
    ----------
    c
        The connection (its transaction is used).
    table
        Target table.
    columns
        Columns given, in the order of the values in each row.
    rows
        One tuple per row. With ``conflict``, no two rows may share the ``keys`` values.
    conflict
        Unique key columns and the columns to overwrite when a row with those keys exists
        (no columns: keep the existing row).
    """
    if not rows:
        return
    if c.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        key = (
            c.dialect.name,
            table,
            tuple(columns),
            None if conflict is None else (tuple(conflict[0]), tuple(conflict[1])),
        )
        sql = _INSERTS.get(key)
        if sql is None:
            stmt = table.insert() if conflict is None else upsert(c, table, *conflict)
            sql = _INSERTS[key] = _sql_of(stmt, c.dialect, columns)
        _run_sql(c, *sql, columns, rows)
        return
    names = ", ".join(columns)
    temp = f"portmargin_bulk_{next(_temp_names)}"
    c.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "
        f"SELECT {names} FROM {table.name} WITH NO DATA"
    )
    driver: Any = c.connection.driver_connection  # a psycopg connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    source = sa.table(temp, *(sa.column(n) for n in columns))
    stmt = postgresql.insert(table).from_select(list(columns), sa.select(*source.c))
    if conflict is not None:
        keys, update = conflict
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={u: stmt.excluded[u] for u in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    c.execute(stmt)
    c.exec_driver_sql(f"DROP TABLE {temp}")
