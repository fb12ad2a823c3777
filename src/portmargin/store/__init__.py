"""Persistence: accounts, positions, collateral, market snapshots, margin history,
account states and margin calls, API keys, the audit log, idempotency records and jobs.

SQLAlchemy Core on SQLite (the default: one file in the user data directory, WAL mode) or
PostgreSQL (by URL). :meth:`Store.open` migrates the schema (Alembic, shipped in
``migrations/``) to the current revision. Reads are methods of :class:`Store`; writes happen in
one transaction, ``with store.begin() as tx:``.
"""

from portmargin.store._errors import Busy, Conflict, NotFound, StoreError
from portmargin.store._results import RESULT_COLUMNS
from portmargin.store._rows import (
    CALL_STATUSES,
    FORMATS,
    JOB_STATES,
    SCOPES,
    STATUSES,
    AccountRow,
    AuditRow,
    CallRow,
    CollateralRow,
    IdempotentRow,
    JobRow,
    KeyRow,
    ParamsRow,
    PositionRow,
    ResultInput,
    ResultRow,
    SnapshotPart,
    SnapshotRow,
    StateInput,
    StatusChangeRow,
    StatusRow,
)
from portmargin.store._store import Store
from portmargin.store._tables import metadata
from portmargin.store._tx import UNCHANGED, Tx, Unchanged
from portmargin.store._url import DATABASE_URL_ENV, default_database_url

__all__ = [
    "CALL_STATUSES",
    "DATABASE_URL_ENV",
    "FORMATS",
    "JOB_STATES",
    "RESULT_COLUMNS",
    "SCOPES",
    "STATUSES",
    "UNCHANGED",
    "AccountRow",
    "AuditRow",
    "Busy",
    "CallRow",
    "CollateralRow",
    "Conflict",
    "IdempotentRow",
    "JobRow",
    "KeyRow",
    "NotFound",
    "ParamsRow",
    "PositionRow",
    "ResultInput",
    "ResultRow",
    "SnapshotPart",
    "SnapshotRow",
    "StateInput",
    "StatusChangeRow",
    "StatusRow",
    "Store",
    "StoreError",
    "Tx",
    "Unchanged",
    "default_database_url",
    "metadata",
]
