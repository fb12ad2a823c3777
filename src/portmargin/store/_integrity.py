"""Consistency checks of a store's database (see :meth:`Store.check_integrity`)."""

from __future__ import annotations

import sqlalchemy as sa

from portmargin.store import _tables as t
from portmargin.store._engine import current_revision, head_revision
from portmargin.store._rows import CALL_STATUSES, JOB_STATES, STATUSES

__all__ = ["integrity_problems"]

_ORPHANS = (
    (t.positions, "account_id", t.accounts, "account_id"),
    (t.collateral, "account_id", t.accounts, "account_id"),
    (t.margin_results, "account_id", t.accounts, "account_id"),
    (t.margin_results, "snapshot_id", t.snapshots, "snapshot_id"),
    (t.account_status, "account_id", t.accounts, "account_id"),
    (t.status_changes, "account_id", t.accounts, "account_id"),
    (t.status_changes, "snapshot_id", t.snapshots, "snapshot_id"),
    (t.margin_calls, "account_id", t.accounts, "account_id"),
    (t.margin_calls, "snapshot_id", t.snapshots, "snapshot_id"),
    (t.snapshot_parts, "snapshot_id", t.snapshots, "snapshot_id"),
    (t.api_key_accounts, "key_id", t.api_keys, "key_id"),
)
_FINITE = (
    (t.positions, "quantity"),
    (t.collateral, "amount"),
    (t.margin_results, "initial_margin"),
    (t.margin_results, "maintenance_margin"),
    (t.margin_results, "equity"),
    (t.margin_results, "excess"),
    (t.margin_calls, "amount_usd"),
    (t.margin_calls, "deposits_usd"),
)
_CHOICES = (
    (t.margin_results, "status", STATUSES),
    (t.account_status, "status", STATUSES),
    (t.status_changes, "new_status", STATUSES),
    (t.status_changes, "old_status", STATUSES),
    (t.margin_calls, "status", CALL_STATUSES),
    (t.jobs, "state", JOB_STATES),
)


def integrity_problems(c: sa.Connection) -> list[str]:
    """Every problem found, one line each (empty: the database is sound).

    Checks SQLite's own ``integrity_check`` and ``foreign_key_check``, then on both
    backends: rows whose parent row is missing, amounts that are not finite, statuses and job
    states outside their sets, and the schema revision.
    """
    problems: list[str] = []
    if c.dialect.name == "sqlite":
        problems += [
            f"sqlite integrity_check: {r[0]}"
            for r in c.exec_driver_sql("PRAGMA integrity_check")
            if r[0] != "ok"
        ]
        problems += [
            f"sqlite foreign_key_check: {r[0]} row {r[1]} has no parent in {r[2]}"
            for r in c.exec_driver_sql("PRAGMA foreign_key_check")
        ]
    for child, column, parent, key in _ORPHANS:
        col = child.c[column]
        query = (
            sa.select(col)
            .select_from(child.outerjoin(parent, col == parent.c[key]))
            .where(col.is_not(None), parent.c[key].is_(None))
        )
        orphans = c.execute(query).scalars().all()
        if orphans:
            problems.append(
                f"{child.name}: {len(orphans)} row(s) whose {column} has no {parent.name} row "
                f"(first {orphans[0]!r})"
            )
    bad_numbers = [float("inf"), float("-inf"), float("nan")]
    for table, column in _FINITE:
        col = table.c[column]
        count = c.execute(
            sa.select(sa.func.count()).where(col.is_(None) | col.in_(bad_numbers))
        ).scalar_one()
        if count:
            problems.append(f"{table.name}.{column}: {count} value(s) that are not finite numbers")
    for table, column, allowed in _CHOICES:
        col = table.c[column]
        bad = c.execute(
            sa.select(col).where(col.is_not(None), col.not_in(allowed)).limit(1)
        ).scalar()
        if bad is not None:
            problems.append(
                f"{table.name}.{column}: value {bad!r}, expected one of {', '.join(allowed)}"
            )
    revision, head = current_revision(c), head_revision()
    if revision != head:
        problems.append(f"schema revision {revision!r}, expected {head!r} (run the migrations)")
    return problems
