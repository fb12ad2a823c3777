"""Bulk statements executed straight on the driver: one compiled statement, many rows.

SQLAlchemy's per-row parameter processing is skipped: rows are plain tuples of Python values
(str, float, int, None) in the order of ``columns``, passed to the driver's ``executemany``
(parameterised; the driver binds every value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["execute_rows"]


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
    compiled = stmt.compile(dialect=c.dialect, column_keys=list(columns))
    sql = str(compiled)
    if compiled.positional:
        order = [list(columns).index(name) for name in compiled.positiontup]
        if order == list(range(len(columns))):
            c.exec_driver_sql(sql, list(rows))
        else:
            c.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in rows])
    else:
        c.exec_driver_sql(sql, [dict(zip(columns, r, strict=True)) for r in rows])
