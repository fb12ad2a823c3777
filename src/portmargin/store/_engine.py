"""Engines with the store's connection settings, and schema migrations to the head revision.

SQLite connections get ``journal_mode=WAL``, the chosen ``synchronous`` level,
``foreign_keys=ON`` and ``busy_timeout=10000`` (ms). Transactions on SQLite are begun
explicitly: ``BEGIN IMMEDIATE`` for writes (the write lock is taken up front, so a writer waits
for another instead of failing to upgrade a read lock) and ``BEGIN`` for reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from portmargin.core import ValidationError
from portmargin.store._errors import StoreError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SQLITE_SYNCHRONOUS",
    "WRITE",
    "create_engine",
    "current_revision",
    "head_revision",
    "migrate",
]

BUSY_TIMEOUT_MS: Final = 10_000
"""How long an SQLite connection waits for a lock before failing, ms."""
SQLITE_SYNCHRONOUS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")
"""Accepted SQLite ``synchronous`` levels."""
WRITE: Final = "portmargin_write"
"""Execution option marking a connection whose transaction writes (``BEGIN IMMEDIATE``)."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x706D_6D69_6772  # pg_advisory_xact_lock key of schema migrations


def create_engine(url: str, sqlite_synchronous: str = "FULL") -> sa.Engine:
    """An engine for ``url`` with the store's per-connection settings.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``.
    sqlite_synchronous
        SQLite ``PRAGMA synchronous`` level, one of :data:`SQLITE_SYNCHRONOUS`. ``FULL``
        (default) makes every commit durable against a killed process and a power loss;
        ``NORMAL`` is faster and durable against a killed process only.

    Raises
    ------
    ValidationError
        Unknown ``synchronous`` level or a URL SQLAlchemy cannot parse.
    """
    level = sqlite_synchronous.upper()
    if level not in SQLITE_SYNCHRONOUS:
        raise ValidationError(
            "sqlite_synchronous", sqlite_synchronous, "OFF, NORMAL, FULL or EXTRA"
        )
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ValidationError("database_url", url, "an SQLAlchemy database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValidationError(
            "database_url", parsed.render_as_string(), "an SQLite or PostgreSQL URL"
        )
    try:
        engine = sa.create_engine(parsed)
    except ImportError as exc:
        raise ValidationError(
            "database_url", parsed.render_as_string(), f"a URL whose driver is installed ({exc})"
        ) from None
    if engine.dialect.name == "sqlite":
        _sqlite_settings(engine, level)
    return engine


def _sqlite_settings(engine: sa.Engine, synchronous: str) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun by _on_begin
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration revision shipped with the package."""
    head = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
    if head is None:
        raise StoreError(f"no migration revisions found in {_MIGRATIONS}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at (None: not migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: sa.Engine) -> None:
    """Upgrade the schema to the head revision (create it on an empty database).

    Concurrent callers are serialised (SQLite write lock, PostgreSQL advisory lock); the
    revision is checked again under the lock, so only one of them migrates.
    """
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return
    with engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            if current_revision(connection) != head:
                command.upgrade(_config(connection), "head")
