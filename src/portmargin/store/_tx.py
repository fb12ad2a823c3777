"""The unit of work: every write happens inside one ``with store.begin() as tx`` block."""

from __future__ import annotations

import enum
import gzip
import hashlib
import math
import secrets
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pyarrow as pa
import sqlalchemy as sa

from portmargin.core import ValidationError
from portmargin.store import _tables as t
from portmargin.store._bulk import execute_rows, insert_rows
from portmargin.store._errors import Conflict, NotFound
from portmargin.store._keys import hash_secret, new_token
from portmargin.store._reads import Reader
from portmargin.store._results import (
    CHANGE_COLUMNS,
    STATUS_COLUMNS,
    status_updates,
    validated_results,
)
from portmargin.store._rows import (
    CALL_STATUSES,
    FORMATS,
    JOB_STATES,
    SCOPES,
    STATUSES,
    AccountRow,
    CallRow,
    IdempotentRow,
    JobRow,
    KeyRow,
    ResultInput,
    SnapshotRow,
    StateInput,
)
from portmargin.store._sql import dumps, now_ms, rows_for_ids, upsert

__all__ = ["UNCHANGED", "Tx", "Unchanged"]

_PG_STATES_LOCK: Final = 0x706D_7374_6174  # pg_advisory_xact_lock key of lifecycle steps
_STATE_FIELDS: Final = (
    "account",
    "method",
    "status",
    "since_ms",
    "equity_usd",
    "initial_margin_usd",
    "maintenance_margin_usd",
    "reduce_only",
    "called_out",
    "assessed_ms",
)
_CALL_FIELDS: Final = (
    "account_id",
    "method",
    "issued_ms",
    "deadline_ms",
    "amount_usd",
    "deposits_usd",
    "status",
    "closed_ms",
    "reason",
    "snapshot_id",
)


class Unchanged(enum.Enum):
    """Marker of an argument left as it is (see :meth:`Tx.update_account`)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


class Tx(Reader):
    """Writes (and reads) inside one database transaction.

    Obtained from :meth:`Store.begin`; committed when the ``with`` block exits normally
    (durably, once ``__exit__`` has returned) and rolled back if it raises.
    """

    __slots__ = ("_c",)

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        yield self._c

    # accounts ----------------------------------------------------------------------------

    def create_account(
        self, account_id: str, *, currency: str | None = None, label: str | None = None
    ) -> AccountRow:
        """Create an account.

        Raises
        ------
        ValidationError
            Empty id or one longer than 128 characters.
        Conflict
            The account exists.
        """
        _check_account_id(account_id)
        now = now_ms()
        values = {"account_id": account_id, "currency": currency, "label": label}
        stmt = upsert(self._c, t.accounts, ["account_id"], ()).returning(t.accounts.c.account_id)
        if self._c.execute(stmt, {**values, "created_ms": now, "updated_ms": now}).first() is None:
            raise Conflict("account", account_id)
        return AccountRow(
            account_id=account_id, currency=currency, label=label, created_ms=now, updated_ms=now
        )

    def update_account(
        self,
        account_id: str,
        *,
        currency: str | Unchanged | None = UNCHANGED,
        label: str | Unchanged | None = UNCHANGED,
    ) -> AccountRow:
        """Change an account's currency and/or label (:data:`UNCHANGED` keeps a field).

        Raises
        ------
        NotFound
            No such account.
        """
        values: dict[str, Any] = {"updated_ms": now_ms()}
        if currency is not UNCHANGED:
            values["currency"] = currency
        if label is not UNCHANGED:
            values["label"] = label
        a = t.accounts
        stmt = a.update().where(a.c.account_id == account_id).values(values)
        if self._c.execute(stmt.returning(a.c.account_id)).first() is None:
            raise NotFound("account", account_id)
        row = self.account(account_id)
        assert row is not None  # updated just above, in this transaction
        return row

    def delete_account(self, account_id: str) -> None:
        """Delete an account with its positions, collateral, results and statuses.

        Raises
        ------
        NotFound
            No such account.
        """
        stmt = t.accounts.delete().where(t.accounts.c.account_id == account_id)
        if self._c.execute(stmt.returning(t.accounts.c.account_id)).first() is None:
            raise NotFound("account", account_id)

    # positions and collateral ------------------------------------------------------------

    def upsert_positions(
        self,
        rows: Iterable[tuple[str, str, float]],
        *,
        replace: bool = False,
        create_accounts: bool = False,
    ) -> int:
        """Set position quantities in bulk.

        Parameters
        ----------
        rows
            ``(account, instrument, quantity)``: quantity in contracts, > 0 long, < 0 short;
            0 deletes the position. A repeated (account, instrument) takes its last quantity.
            Instrument names are stored as given (validated by the caller).
        replace
            Each account named in ``rows`` then holds exactly these positions (its other
            positions are deleted).
        create_accounts
            Create accounts that do not exist (no currency, no label); otherwise a missing
            account is an error.

        Returns
        -------
        int
            Distinct (account, instrument) rows applied (set or deleted).

        Raises
        ------
        ValidationError
            A quantity that is not a finite number (names account, instrument and value), or
            a bad account id.
        NotFound
            An account does not exist and ``create_accounts`` is False.
        """
        latest: dict[tuple[str, str], float] = {}
        for account, instrument, quantity in rows:
            latest[(account, instrument)] = _finite(
                f"quantity of {instrument!r} in account {account!r}", quantity
            )
        accounts = sorted({a for a, _ in latest})
        self._require_accounts(accounts, create=create_accounts)
        p = t.positions
        if replace:
            self.clear_positions(accounts)
        now = now_ms()
        insert_rows(
            self._c,
            p,
            ["account_id", "instrument", "quantity", "updated_ms"],
            [(a, i, q, now) for (a, i), q in latest.items() if q != 0.0],
            conflict=(["account_id", "instrument"], ["quantity", "updated_ms"]),
        )
        if not replace:
            stmt = p.delete().where(
                p.c.account_id == sa.bindparam("a"), p.c.instrument == sa.bindparam("i")
            )
            execute_rows(self._c, stmt, ["a", "i"], [k for k, q in latest.items() if q == 0.0])
        return len(latest)

    def clear_positions(self, account_ids: Collection[str]) -> None:
        """Delete every position of these accounts (their collateral is kept).

        Raises
        ------
        NotFound
            An account does not exist.
        """
        accounts = sorted(set(account_ids))
        self._require_accounts(accounts, create=False)
        p = t.positions
        stmt = p.delete().where(p.c.account_id == sa.bindparam("a"))
        execute_rows(self._c, stmt, ["a"], [(a,) for a in accounts])

    def set_collateral(
        self, account_id: str, balances: Mapping[str, float], *, replace: bool = False
    ) -> int:
        """Set collateral balances of an account.

        Parameters
        ----------
        account_id
            The account.
        balances
            Currency code → amount in that currency (negative: a debt); 0 deletes.
        replace
            The account then holds exactly these balances.

        Returns
        -------
        int
            Balances applied.

        Raises
        ------
        ValidationError
            An amount that is not a finite number.
        NotFound
            No such account.
        """
        amounts = {
            cur: _finite(f"collateral {cur!r} of account {account_id!r}", amount)
            for cur, amount in balances.items()
        }
        self._require_accounts([account_id], create=False)
        k = t.collateral
        if replace:
            self._c.execute(k.delete().where(k.c.account_id == account_id))
        now = now_ms()
        insert_rows(
            self._c,
            k,
            ["account_id", "currency", "amount", "updated_ms"],
            [(account_id, cur, v, now) for cur, v in amounts.items() if v != 0.0],
            conflict=(["account_id", "currency"], ["amount", "updated_ms"]),
        )
        zero = [cur for cur, v in amounts.items() if v == 0.0]
        if zero and not replace:
            self._c.execute(k.delete().where(k.c.account_id == account_id, k.c.currency.in_(zero)))
        return len(amounts)

    # snapshots and params ----------------------------------------------------------------

    def add_snapshot(
        self,
        *,
        label: str,
        parts: Sequence[tuple[str, bytes]],
        valuation_ms: int,
        underlyings: Collection[str],
    ) -> SnapshotRow:
        """Store a market snapshot: its payloads as uploaded, in order.

        Parameters
        ----------
        label
            Free text shown in listings.
        parts
            ``(format, payload)`` pairs, format one of :data:`FORMATS`. Payloads are stored
            gzip-compressed when that makes them smaller and read back byte for byte.
        valuation_ms
            Valuation time of the market, epoch ms UTC.
        underlyings
            Underlying codes covered (e.g. ``BTC``), without commas.

        Raises
        ------
        ValidationError
            No parts, an unknown format, or an underlying containing a comma.
        """
        if not parts:
            raise ValidationError("parts", [], "at least one (format, payload) pair")
        for n, (fmt, _) in enumerate(parts):
            if fmt not in FORMATS:
                raise ValidationError(f"parts[{n}].format", fmt, " or ".join(FORMATS))
        for u in underlyings:
            if not u or "," in u:
                raise ValidationError("underlyings", u, "an underlying code without commas")
        now = now_ms()
        head = {"label": label, "valuation_ms": valuation_ms, "underlyings": ",".join(underlyings)}
        stmt = t.snapshots.insert().values(**head, created_ms=now)
        snapshot_id = int(self._c.execute(stmt.returning(t.snapshots.c.snapshot_id)).scalar_one())
        rows = [_part(snapshot_id, n, fmt, payload) for n, (fmt, payload) in enumerate(parts)]
        self._c.execute(t.snapshot_parts.insert(), rows)
        found = self.snapshot(snapshot_id)
        assert found is not None  # inserted just above, in this transaction
        return found

    def set_params(self, method: str, pack: str, overrides: Mapping[str, str]) -> None:
        """Set the parameter pack used for ``method`` and its overrides (key → value text)."""
        for key, value in overrides.items():
            if not isinstance(value, str):
                raise ValidationError(f"overrides[{key!r}]", value, "a value as text")
        row = {
            "method": method,
            "pack": pack,
            "overrides": dumps(overrides),
            "updated_ms": now_ms(),
        }
        self._c.execute(
            upsert(self._c, t.params_in_use, ["method"], ["pack", "overrides", "updated_ms"]), row
        )

    # results -----------------------------------------------------------------------------

    def record_results(
        self, table: pa.Table | Sequence[ResultInput], *, update_status: bool = True
    ) -> int:
        """Append margin results to history and update statuses.

        Parameters
        ----------
        table
            Rows as :class:`ResultInput`, or a table with the same column names
            (``account, method, snapshot_id, computed_ms, currency, initial_margin,
            maintenance_margin, equity, excess, margin_ratio, status, detail``).
        update_status
            Derive statuses from the rows (below); False when the statuses are recorded
            apart, from the margin lifecycle (:meth:`record_states`).

        Returns
        -------
        int
            Rows recorded.

        Notes
        -----
        Per (account, method) the worst status among the given rows (the last of equally
        bad ones) is compared with the stored status: if it differs, or there is none, the
        stored status becomes it (``since_ms`` its ``computed_ms``) and a status change is
        appended with that row's equity, IM, MM and snapshot. An unchanged status writes
        nothing more.

        Raises
        ------
        ValidationError
            A missing column, a non-finite amount or an unknown status (naming row and value).
        NotFound
            An account does not exist.
        """
        columns = validated_results(table)
        accounts = sorted(set(columns["account_id"]))
        self._require_accounts(accounts, create=False)
        rows = list(zip(*columns.values(), strict=True))
        insert_rows(self._c, t.margin_results, list(columns), rows)
        if not update_status:
            return len(rows)
        s = t.account_status
        query = sa.select(s.c.account_id, s.c.method, s.c.status)
        current = {
            (r.account_id, r.method): r.status
            for r in rows_for_ids(self._c, query, s.c.account_id, accounts)
        }
        statuses, changes = status_updates(columns, current)
        insert_rows(
            self._c,
            s,
            STATUS_COLUMNS,
            statuses,
            conflict=(["account_id", "method"], ["status", "since_ms"]),
        )
        insert_rows(self._c, t.status_changes, CHANGE_COLUMNS, changes)
        return len(rows)

    def lock_states(self) -> None:
        """Hold the store's lifecycle lock until this transaction ends, so that one reader of
        the stored states at a time moves them on (PostgreSQL advisory lock; on SQLite the
        write transaction already excludes other writers)."""
        if self._c.dialect.name == "postgresql":
            self._c.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_STATES_LOCK)))

    def record_states(
        self,
        states: Sequence[StateInput],
        calls: Sequence[CallRow] = (),
        snapshot_id: int | None = None,
    ) -> int:
        """Record the lifecycle state of accounts and their margin calls.

        Parameters
        ----------
        states
            One per (account, method), distinct: it replaces the stored status with its
            figures; where the status differs from the stored one (or none is stored) a status
            change is appended with the USD equity, IM and MM and ``snapshot_id``.
        calls
            Calls issued or changed (``call_id`` ignored): stored by (account, method,
            ``issued_ms``): a new one is inserted, a known one gets the new amount, deposits,
            status, ``closed_ms`` and reason.
        snapshot_id
            Snapshot of the assessment, recorded with changes.

        Returns
        -------
        int
            Status changes appended.

        Raises
        ------
        ValidationError
            An unknown status or call status, a non-finite amount, or a repeated
            (account, method) (naming the row).
        NotFound
            An account does not exist.
        """
        seen: set[tuple[str, str]] = set()
        for n, row in enumerate(states):
            if row.status not in STATUSES:
                raise ValidationError(f"states[{n}].status", row.status, " or ".join(STATUSES))
            for name in ("equity_usd", "initial_margin_usd", "maintenance_margin_usd"):
                _finite(f"states[{n}].{name}", getattr(row, name))
            if (row.account, row.method) in seen:
                raise ValidationError(f"states[{n}]", row.account, "one state per account")
            seen.add((row.account, row.method))
        for n, call in enumerate(calls):
            if call.status not in CALL_STATUSES:
                raise ValidationError(f"calls[{n}].status", call.status, " or ".join(CALL_STATUSES))
            _finite(f"calls[{n}].amount_usd", call.amount_usd)
            _finite(f"calls[{n}].deposits_usd", call.deposits_usd)
        accounts = sorted({a for a, _ in seen} | {c.account_id for c in calls})
        self._require_accounts(accounts, create=False)
        s = t.account_status
        query = sa.select(s.c.account_id, s.c.method, s.c.status)
        current = {
            (r.account_id, r.method): r.status
            for r in rows_for_ids(self._c, query, s.c.account_id, accounts)
        }
        changes = [
            (
                r.account,
                r.method,
                current.get((r.account, r.method)),
                r.status,
                r.assessed_ms,
                r.equity_usd,
                r.initial_margin_usd,
                r.maintenance_margin_usd,
                snapshot_id,
            )
            for r in states
            if current.get((r.account, r.method)) != r.status
        ]
        insert_rows(
            self._c,
            s,
            ["account_id", *_STATE_FIELDS[1:]],
            [tuple(getattr(r, f) for f in _STATE_FIELDS) for r in states],
            conflict=(["account_id", "method"], _STATE_FIELDS[2:]),
        )
        insert_rows(self._c, t.status_changes, CHANGE_COLUMNS, changes)
        insert_rows(
            self._c,
            t.margin_calls,
            _CALL_FIELDS,
            [tuple(getattr(c, f) for f in _CALL_FIELDS) for c in calls],
            conflict=(
                ["account_id", "method", "issued_ms"],
                ["amount_usd", "deposits_usd", "status", "closed_ms", "reason"],
            ),
        )
        return len(changes)

    # keys --------------------------------------------------------------------------------

    def create_key(
        self,
        *,
        scopes: Collection[str],
        accounts: Collection[str] = (),
        all_accounts: bool = False,
        label: str = "",
    ) -> tuple[KeyRow, str]:
        """Create an API key.

        Parameters
        ----------
        scopes
            Non-empty subset of :data:`SCOPES` (``read``, ``trade``, ``admin``).
        accounts
            Accounts the key may see (they need not exist yet).
        all_accounts
            The key may see every account.
        label
            Free text.

        Returns
        -------
        tuple
            The key and its token ``pm_<key_id>_<secret>`` — the only time the token is
            available: only an argon2id hash of the secret is stored.

        Raises
        ------
        ValidationError
            No scope or an unknown one, or neither accounts nor ``all_accounts`` for a key
            without the ``admin`` scope.
        """
        wanted = frozenset(scopes)
        if not wanted or not wanted <= set(SCOPES):
            raise ValidationError("scopes", sorted(wanted), "one or more of read, trade, admin")
        if not accounts and not all_accounts and "admin" not in wanted:
            raise ValidationError("accounts", [], "at least one account id, or all accounts")
        for a in accounts:
            _check_account_id(a)
        key_id, secret, token = new_token()
        row = KeyRow(
            key_id=key_id,
            scopes=wanted,
            accounts=tuple(sorted(set(accounts), key=str.encode)),
            all_accounts=all_accounts,
            label=label,
            created_ms=now_ms(),
            revoked_ms=None,
        )
        self._c.execute(
            t.api_keys.insert(),
            {
                "key_id": key_id,
                "secret_hash": hash_secret(secret),
                "scopes": ",".join(s for s in SCOPES if s in wanted),
                "label": label,
                "all_accounts": all_accounts,
                "created_ms": row.created_ms,
                "revoked_ms": None,
            },
        )
        insert_rows(
            self._c,
            t.api_key_accounts,
            ["key_id", "account_id"],
            [(key_id, a) for a in row.accounts],
        )
        return row, token

    def revoke_key(self, key_id: str) -> KeyRow:
        """Revoke an API key (revoking a revoked key keeps its first revocation time).

        Raises
        ------
        NotFound
            No such key.
        """
        k = t.api_keys
        stmt = k.update().where(k.c.key_id == key_id, k.c.revoked_ms.is_(None))
        self._c.execute(stmt.values(revoked_ms=now_ms()))
        row = self.key(key_id)
        if row is None:
            raise NotFound("api key", key_id)
        return row

    # audit, idempotency, jobs ------------------------------------------------------------

    def append_audit(
        self,
        *,
        key_id: str | None,
        action: str,
        target: str | None = None,
        status: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an entry to the audit log (it cannot be changed afterwards).

        Parameters
        ----------
        key_id
            The API key that acted (None: the command line or the system).
        action
            What was done, e.g. ``"PUT /v1/accounts/{id}/positions"``.
        target
            What it was done to, e.g. an account id.
        status
            HTTP status of the response.
        detail
            JSON-serialisable details.

        Returns
        -------
        int
            The entry's ``audit_id``.
        """
        stmt = t.audit_log.insert().values(
            at_ms=now_ms(),
            key_id=key_id,
            action=action,
            target=target,
            status=status,
            detail=dumps(detail),
        )
        return int(self._c.execute(stmt.returning(t.audit_log.c.audit_id)).scalar_one())

    def save_idempotent(
        self, key_id: str, idem_key: str, request_sha256: str, status: int, response: str
    ) -> IdempotentRow:
        """Store the response to a request made with an idempotency key.

        Raises
        ------
        Conflict
            A response is already stored for this key id and idempotency key.
        """
        row = IdempotentRow(
            key_id=key_id,
            idem_key=idem_key,
            request_sha256=request_sha256,
            status=status,
            response=response,
            created_ms=now_ms(),
        )
        stmt = upsert(self._c, t.idempotency, ["key_id", "idem_key"], ())
        values = {f: getattr(row, f) for f in IdempotentRow.__slots__}
        if self._c.execute(stmt.returning(t.idempotency.c.key_id), values).first() is None:
            raise Conflict("idempotency key", idem_key)
        return row

    def create_job(self, kind: str, total: int) -> JobRow:
        """Create a queued job of ``total`` items with a fresh random id."""
        row = JobRow(
            job_id=secrets.token_hex(16),
            kind=kind,
            state="queued",
            created_ms=now_ms(),
            started_ms=None,
            finished_ms=None,
            total=total,
            done=0,
            detail={},
        )
        values = {f: getattr(row, f) for f in JobRow.__slots__}
        self._c.execute(t.jobs.insert(), {**values, "detail": dumps(row.detail)})
        return row

    def update_job(
        self,
        job_id: str,
        *,
        state: str | None = None,
        done: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> JobRow:
        """Record a job's progress: its state (``running`` sets ``started_ms``, ``done`` and
        ``failed`` set ``finished_ms``), items done and details (replacing the old ones).

        Raises
        ------
        ValidationError
            Unknown state.
        NotFound
            No such job.
        """
        j = t.jobs
        values: dict[str, Any] = {}
        now = now_ms()
        if state is not None:
            if state not in JOB_STATES:
                raise ValidationError("state", state, " or ".join(JOB_STATES))
            values["state"] = state
            if state == "running":
                values["started_ms"] = sa.func.coalesce(j.c.started_ms, now)
            elif state in ("done", "failed"):
                values["started_ms"] = sa.func.coalesce(j.c.started_ms, now)
                values["finished_ms"] = now
        if done is not None:
            values["done"] = done
        if detail is not None:
            values["detail"] = dumps(detail)
        if values:
            self._c.execute(j.update().where(j.c.job_id == job_id).values(values))
        row = self.job(job_id)
        if row is None:
            raise NotFound("job", job_id)
        return row

    # helpers -----------------------------------------------------------------------------

    def _require_accounts(self, accounts: Sequence[str], *, create: bool) -> None:
        for account in accounts:
            _check_account_id(account)
        if create:
            now = now_ms()
            insert_rows(
                self._c,
                t.accounts,
                ["account_id", "created_ms", "updated_ms"],
                [(a, now, now) for a in accounts],
                conflict=(["account_id"], ()),
            )
            return
        column = t.accounts.c.account_id
        found = {r.account_id for r in rows_for_ids(self._c, sa.select(column), column, accounts)}
        missing = [a for a in accounts if a not in found]
        if missing:
            raise NotFound("account", missing[0])


def _check_account_id(account_id: str) -> None:
    if not isinstance(account_id, str) or not account_id or len(account_id) > t.ACCOUNT_ID_MAX:
        raise ValidationError("account_id", account_id, "a non-empty id of at most 128 characters")


def _finite(field: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(field, value, "a finite number") from None
    if not math.isfinite(number):
        raise ValidationError(field, value, "a finite number")
    return number


def _part(snapshot_id: int, part: int, fmt: str, payload: bytes) -> dict[str, Any]:
    packed = gzip.compress(payload, mtime=0)
    smaller = len(packed) < len(payload)
    return {
        "snapshot_id": snapshot_id,
        "part": part,
        "format": fmt,
        "encoding": "gzip" if smaller else "identity",
        "payload": packed if smaller else bytes(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
    }
