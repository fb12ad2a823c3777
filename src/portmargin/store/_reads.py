"""Read queries shared by :class:`Store` (one connection per call) and :class:`Tx` (its own).

Rows come back as the frozen dataclasses of :mod:`portmargin.store._rows`; the book comes
back as a pyarrow table.
"""

from __future__ import annotations

import gc
import gzip
from abc import ABC, abstractmethod
from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from portmargin.store import _tables as t
from portmargin.store._keys import split_token, verify_secret
from portmargin.store._rows import (
    AccountRow,
    AuditRow,
    CallRow,
    CollateralRow,
    IdempotentRow,
    JobRow,
    KeyRow,
    ParamsRow,
    PositionRow,
    ResultRow,
    SnapshotPart,
    SnapshotRow,
    StatusChangeRow,
    StatusRow,
)
from portmargin.store._sql import chunks, id_filter, loads, rows_for_ids

__all__ = ["Reader"]

_BOOK_SCHEMA = pa.schema(
    [("account", pa.string()), ("instrument", pa.string()), ("quantity", pa.float64())]
)


def _holdings_query() -> sa.CompoundSelect[Any]:
    """The account row (kind 0), its positions (kind 1) and balances (kind 2), in that order."""
    a, p, k = t.accounts, t.positions, t.collateral
    account = sa.bindparam("account_id", type_=a.c.account_id.type)
    kind: sa.ColumnClause[Any] = sa.literal_column("kind")
    return sa.union_all(
        sa.select(
            sa.null().label("name"), sa.null().label("amount"), sa.literal(0).label("kind")
        ).where(a.c.account_id == account),
        sa.select(p.c.instrument, p.c.quantity, sa.literal(1)).where(p.c.account_id == account),
        sa.select(k.c.currency, k.c.amount, sa.literal(2)).where(k.c.account_id == account),
    ).order_by(kind, sa.literal_column("name"))


_HOLDINGS = _holdings_query()


class Reader(ABC):
    """Read methods over the connection that :meth:`_connect` provides."""

    __slots__ = ()

    @abstractmethod
    def _connect(self) -> AbstractContextManager[sa.Connection]:
        """The connection to read on, for the duration of one read."""

    # accounts, positions, collateral -----------------------------------------------------

    def account(self, account_id: str) -> AccountRow | None:
        """The account ``account_id``, or None if there is none."""
        with self._connect() as c:
            row = c.execute(sa.select(t.accounts).where(t.accounts.c.account_id == account_id))
            found = row.first()
        return None if found is None else AccountRow(**found._mapping)

    def accounts(
        self,
        ids: Collection[str] | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[AccountRow]:
        """Accounts sorted by id (byte order).

        Parameters
        ----------
        ids
            Only these accounts (unknown ids are left out); None: all.
        limit
            At most this many rows.
        after
            Only ids sorting after this one (for paging).
        """
        query = sa.select(t.accounts).order_by(t.accounts.c.account_id)
        if after is not None:
            query = query.where(t.accounts.c.account_id > after)
        with self._connect() as c:
            if ids is None:
                rows = c.execute(query.limit(limit)).all()
            else:
                column = t.accounts.c.account_id
                rows = rows_for_ids(c, query, column, sorted(set(ids)))
                rows.sort(key=lambda r: r.account_id.encode())
                rows = rows[:limit] if limit is not None else rows
        return [AccountRow(**r._mapping) for r in rows]

    def positions(self, account_id: str) -> list[PositionRow]:
        """The positions of an account, sorted by instrument (empty if none or no account)."""
        p = t.positions
        query = sa.select(p).where(p.c.account_id == account_id).order_by(p.c.instrument)
        with self._connect() as c:
            return [PositionRow(**r._mapping) for r in c.execute(query)]

    def collateral(self, account_id: str) -> list[CollateralRow]:
        """The collateral balances of an account, sorted by currency."""
        k = t.collateral
        query = sa.select(k).where(k.c.account_id == account_id).order_by(k.c.currency)
        with self._connect() as c:
            return [CollateralRow(**r._mapping) for r in c.execute(query)]

    def holdings(self, account_id: str) -> list[tuple[str, float]] | None:
        """Positions and collateral balances of an account in one query.

        Returns
        -------
        list of (str, float) or None
            ``(instrument, contracts)`` of each position sorted by instrument, then
            ``(currency, amount)`` of each balance sorted by currency; None when there is no
            account ``account_id``.
        """
        with self._connect() as c:
            rows = c.execute(_HOLDINGS, {"account_id": account_id}).all()
        if not rows or rows[0][2] != 0:
            return None
        return [(name, amount) for name, amount, _ in rows[1:]]

    def book_table(self, account_ids: Collection[str] | None = None) -> pa.Table:
        """Every position and collateral row as one table, the input of a batch margin run.

        Parameters
        ----------
        account_ids
            Only these accounts; None: all.

        Returns
        -------
        pyarrow.Table
            Columns ``account`` (string), ``instrument`` (string; a collateral row's
            currency code) and ``quantity`` (float64: contracts, or currency units for
            collateral), sorted by account then instrument (byte order). Accounts without
            any row do not appear.
        """
        with self._connect() as c:
            parts = [
                _fetch_columns(c, table, key, value, account_ids)
                for table, key, value in (
                    (t.positions, "instrument", "quantity"),
                    (t.collateral, "currency", "amount"),
                )
            ]
        book = pa.concat_tables(parts)
        if parts[1].num_rows == 0 and account_ids is None:
            return book  # positions alone come in primary-key order
        return book.sort_by([("account", "ascending"), ("instrument", "ascending")])

    # snapshots and params ----------------------------------------------------------------

    def snapshot(self, snapshot_id: int) -> SnapshotRow | None:
        """The snapshot ``snapshot_id`` with its payloads, or None."""
        with self._connect() as c:
            rows = _snapshots(
                c,
                sa.select(t.snapshots).where(t.snapshots.c.snapshot_id == snapshot_id),
                payloads=True,
            )
        return rows[0] if rows else None

    def latest_snapshot(self) -> SnapshotRow | None:
        """The most recently added snapshot with its payloads, or None."""
        query = sa.select(t.snapshots).order_by(t.snapshots.c.snapshot_id.desc()).limit(1)
        with self._connect() as c:
            rows = _snapshots(c, query, payloads=True)
        return rows[0] if rows else None

    def latest_snapshot_id(self) -> int | None:
        """The id of the most recently added snapshot, or None if there is none."""
        with self._connect() as c:
            found: int | None = c.execute(
                sa.select(sa.func.max(t.snapshots.c.snapshot_id))
            ).scalar()
        return found

    def snapshots(self, limit: int = 100) -> list[SnapshotRow]:
        """The latest snapshots, newest first, without payloads (``payload`` None)."""
        query = sa.select(t.snapshots).order_by(t.snapshots.c.snapshot_id.desc()).limit(limit)
        with self._connect() as c:
            return _snapshots(c, query, payloads=False)

    def params_in_use(self) -> dict[str, ParamsRow]:
        """Method → the parameter pack in use and its overrides."""
        with self._connect() as c:
            rows = c.execute(sa.select(t.params_in_use).order_by(t.params_in_use.c.method))
            return {
                r.method: ParamsRow(
                    method=r.method,
                    pack=r.pack,
                    overrides={k: str(v) for k, v in loads(r.overrides).items()},
                    updated_ms=r.updated_ms,
                )
                for r in rows
            }

    # results and statuses ----------------------------------------------------------------

    def history(
        self,
        account_id: str,
        *,
        method: str | None = None,
        limit: int = 500,
        before_ms: int | None = None,
    ) -> list[ResultRow]:
        """Recorded results of an account, newest first (by computation time, then id).

        Parameters
        ----------
        account_id
            The account.
        method
            Only this method; None: all.
        limit
            At most this many rows.
        before_ms
            Only results computed strictly before this time (paging backwards).
        """
        r = t.margin_results
        query = sa.select(r).where(r.c.account_id == account_id)
        if method is not None:
            query = query.where(r.c.method == method)
        if before_ms is not None:
            query = query.where(r.c.computed_ms < before_ms)
        query = query.order_by(r.c.computed_ms.desc(), r.c.result_id.desc()).limit(limit)
        with self._connect() as c:
            return [_result(row) for row in c.execute(query)]

    def latest_results(
        self, account_ids: Collection[str] | None = None, method: str | None = None
    ) -> list[ResultRow]:
        """The latest recorded result per (account, method), sorted by account then method."""
        r = t.margin_results
        rank = (
            sa.func.row_number()
            .over(
                partition_by=(r.c.account_id, r.c.method),
                order_by=(r.c.computed_ms.desc(), r.c.result_id.desc()),
            )
            .label("rank")
        )
        inner = sa.select(r, rank)
        if method is not None:
            inner = inner.where(r.c.method == method)
        with self._connect() as c:
            if account_ids is None:
                rows = list(c.execute(_latest(inner)))
            else:
                rows = [
                    row
                    for part in chunks(sorted(set(account_ids)))
                    for row in c.execute(_latest(inner.where(r.c.account_id.in_(part))))
                ]
        rows.sort(key=lambda row: (row.account_id.encode(), row.method))
        return [_result(row) for row in rows]

    def status(self, account_id: str) -> list[StatusRow]:
        """The current status of an account under each method, sorted by method."""
        s = t.account_status
        query = sa.select(s).where(s.c.account_id == account_id).order_by(s.c.method)
        with self._connect() as c:
            return [StatusRow(**row._mapping) for row in c.execute(query)]

    def states(self, method: str, account_ids: Collection[str] | None = None) -> list[StatusRow]:
        """The stored status of accounts (all, or these) under ``method``, by account."""
        s = t.account_status
        query = sa.select(s).where(s.c.method == method)
        with self._connect() as c:
            if account_ids is None:
                rows = list(c.execute(query))
            else:
                rows = rows_for_ids(c, query, s.c.account_id, sorted(set(account_ids)))
        rows.sort(key=lambda row: row.account_id.encode())
        return [StatusRow(**row._mapping) for row in rows]

    def calls(
        self,
        account_ids: Collection[str] | None = None,
        *,
        method: str | None = None,
        status: str | None = None,
        limit: int = 1_000,
    ) -> list[CallRow]:
        """Margin calls, newest issue first (then the highest id).

        Parameters
        ----------
        account_ids
            Only calls of these accounts; None: of all.
        method
            Only calls under this method.
        status
            Only calls in this status (e.g. ``"open"``).
        limit
            At most this many rows.
        """
        m = t.margin_calls
        query = sa.select(m)
        if method is not None:
            query = query.where(m.c.method == method)
        if status is not None:
            query = query.where(m.c.status == status)
        order = (m.c.issued_ms.desc(), m.c.call_id.desc())
        with self._connect() as c:
            if account_ids is None:
                rows = list(c.execute(query.order_by(*order).limit(limit)))
            else:
                rows = [
                    row
                    for part in chunks(sorted(set(account_ids)))
                    for row in c.execute(
                        query.where(id_filter(m.c.account_id, part)).order_by(*order).limit(limit)
                    )
                ]
                rows.sort(key=lambda row: (-row.issued_ms, -row.call_id))
        return [CallRow(**row._mapping) for row in rows[:limit]]

    def status_changes(
        self, account_id: str | None = None, limit: int = 500
    ) -> list[StatusChangeRow]:
        """Status changes, newest first (of one account, or of all)."""
        s = t.status_changes
        query = sa.select(s).order_by(s.c.change_id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(s.c.account_id == account_id)
        with self._connect() as c:
            return [StatusChangeRow(**row._mapping) for row in c.execute(query)]

    # keys, audit, idempotency, jobs ------------------------------------------------------

    def keys(self) -> list[KeyRow]:
        """Every API key (revoked ones too), oldest first; never the secret or its hash."""
        with self._connect() as c:
            return _keys(c, None)

    def key(self, key_id: str) -> KeyRow | None:
        """The API key ``key_id`` (without its hash), or None."""
        with self._connect() as c:
            rows = _keys(c, key_id)
        return rows[0] if rows else None

    def key_usable(self, key_id: str) -> bool:
        """Whether the API key ``key_id`` exists and is not revoked (one indexed read)."""
        k = t.api_keys
        query = sa.select(k.c.revoked_ms).where(k.c.key_id == key_id)
        with self._connect() as c:
            found = c.execute(query).first()
        return found is not None and found.revoked_ms is None

    def verify_key(self, token: str) -> KeyRow | None:
        """The key a bearer token belongs to, if the token is valid.

        Returns None for a malformed token, an unknown key id, a wrong secret or a revoked
        key. Slow by design (argon2id, tens of milliseconds): callers cache successes.
        """
        parts = split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        k = t.api_keys
        with self._connect() as c:
            query = sa.select(k.c.secret_hash, k.c.revoked_ms).where(k.c.key_id == key_id)
            found = c.execute(query).first()
            if not verify_secret(None if found is None else found.secret_hash, secret):
                return None
            if found is None or found.revoked_ms is not None:
                return None
            return _keys(c, key_id)[0]

    def audit(self, limit: int = 100, after_id: int | None = None) -> list[AuditRow]:
        """Audit log entries in order of writing, after ``after_id`` (paging forwards)."""
        a = t.audit_log
        query = sa.select(a).order_by(a.c.audit_id).limit(limit)
        if after_id is not None:
            query = query.where(a.c.audit_id > after_id)
        with self._connect() as c:
            return [
                AuditRow(**{**row._mapping, "detail": loads(row.detail)})
                for row in c.execute(query)
            ]

    def idempotent(self, key_id: str, idem_key: str) -> IdempotentRow | None:
        """The response stored for an idempotency key of an API key, or None."""
        i = t.idempotency
        query = sa.select(i).where(i.c.key_id == key_id, i.c.idem_key == idem_key)
        with self._connect() as c:
            found = c.execute(query).first()
        return None if found is None else IdempotentRow(**found._mapping)

    def job(self, job_id: str) -> JobRow | None:
        """The job ``job_id``, or None."""
        with self._connect() as c:
            found = c.execute(sa.select(t.jobs).where(t.jobs.c.job_id == job_id)).first()
        return (
            None if found is None else JobRow(**{**found._mapping, "detail": loads(found.detail)})
        )


def _fetch_columns(
    c: sa.Connection,
    table: sa.Table,
    key: str,
    value: str,
    account_ids: Collection[str] | None,
) -> pa.Table:
    """account/key/value columns of a table in primary-key order.

    All accounts are fetched with the driver's cursor (no per-row SQLAlchemy work) while the
    garbage collector is paused: millions of short-lived strings and tuples would otherwise
    trigger it over and over.
    """
    columns = (table.c.account_id, table.c[key], table.c[value])
    query = sa.select(*columns).order_by(table.c.account_id, table.c[key])
    collecting = gc.isenabled()
    gc.disable()
    try:
        if account_ids is None:
            cursor = c.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(query.compile(dialect=c.dialect)))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        else:
            ids = sorted(set(account_ids))
            rows = [tuple(r) for r in rows_for_ids(c, query, table.c.account_id, ids)]
        if not rows:
            return _BOOK_SCHEMA.empty_table()
        account, name, number = zip(*rows, strict=True)
        del rows
        arrays = [
            pa.array(account, pa.string()),
            pa.array(name, pa.string()),
            pa.array(number, pa.float64()),
        ]
    finally:
        if collecting:
            gc.enable()
    return pa.Table.from_arrays(arrays, schema=_BOOK_SCHEMA)


def _snapshots(c: sa.Connection, query: sa.Select[Any], *, payloads: bool) -> list[SnapshotRow]:
    heads = c.execute(query).all()
    if not heads:
        return []
    p = t.snapshot_parts
    columns = [p.c.snapshot_id, p.c.format, p.c.sha256, p.c.size, p.c.encoding]
    if payloads:
        columns.append(p.c.payload)
    ids = [h.snapshot_id for h in heads]
    parts: dict[int, list[SnapshotPart]] = {i: [] for i in ids}
    for row in c.execute(
        sa.select(*columns).where(p.c.snapshot_id.in_(ids)).order_by(p.c.snapshot_id, p.c.part)
    ):
        payload = None
        if payloads:
            payload = gzip.decompress(row.payload) if row.encoding == "gzip" else bytes(row.payload)
        parts[row.snapshot_id].append(
            SnapshotPart(format=row.format, sha256=row.sha256, size=row.size, payload=payload)
        )
    return [
        SnapshotRow(
            snapshot_id=h.snapshot_id,
            label=h.label,
            valuation_ms=h.valuation_ms,
            underlyings=tuple(u for u in h.underlyings.split(",") if u),
            created_ms=h.created_ms,
            parts=tuple(parts[h.snapshot_id]),
        )
        for h in heads
    ]


def _latest(inner: sa.Select[Any]) -> sa.Select[Any]:
    sub = inner.subquery()
    return sa.select(*(sub.c[c.name] for c in t.margin_results.c)).where(sub.c.rank == 1)


def _result(row: sa.Row[Any]) -> ResultRow:
    return ResultRow(**{c.name: getattr(row, c.name) for c in t.margin_results.c})


def _keys(c: sa.Connection, key_id: str | None) -> list[KeyRow]:
    k, ka = t.api_keys, t.api_key_accounts
    query = sa.select(k).order_by(k.c.created_ms, k.c.key_id)
    links = sa.select(ka).order_by(ka.c.key_id, ka.c.account_id)
    if key_id is not None:
        query, links = query.where(k.c.key_id == key_id), links.where(ka.c.key_id == key_id)
    accounts: dict[str, list[str]] = {}
    for link in c.execute(links):
        accounts.setdefault(link.key_id, []).append(link.account_id)
    return [
        KeyRow(
            key_id=r.key_id,
            scopes=frozenset(s for s in r.scopes.split(",") if s),
            accounts=tuple(accounts.get(r.key_id, ())),
            all_accounts=bool(r.all_accounts),
            label=r.label,
            created_ms=r.created_ms,
            revoked_ms=r.revoked_ms,
        )
        for r in c.execute(query)
    ]
