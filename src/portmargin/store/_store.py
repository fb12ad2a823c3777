"""The store: an engine on the database, reads, and write transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from portmargin.store._engine import BUSY_TIMEOUT_MS, WRITE, create_engine, migrate
from portmargin.store._errors import Busy, StoreError
from portmargin.store._integrity import integrity_problems
from portmargin.store._reads import Reader
from portmargin.store._tx import Tx
from portmargin.store._url import default_database_url

__all__ = ["Store"]

_NORMAL = 1  # SQLite PRAGMA synchronous values: NORMAL, FULL (EXTRA is 3)
_FULL = 2


class Store(Reader):
    """Accounts, positions, market snapshots, margin history, API keys and the audit log.

    Open with :meth:`open`; read with the methods inherited from the reader (each uses its
    own short transaction); write inside ``with store.begin() as tx:``. Thread-safe: every
    call takes a connection from the engine's pool.
    """

    __slots__ = ("_engine",)

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, sqlite_synchronous: str = "FULL") -> Store:
        """Connect to a database and migrate its schema to the current revision.

        Parameters
        ----------
        url
            SQLAlchemy URL, ``sqlite:///path/file.db`` or
            ``postgresql+psycopg://user:password@host:port/db``; None:
            :func:`default_database_url` (``PORTMARGIN_DATABASE_URL``, else a file in the
            user data directory). The schema is created on first use.
        sqlite_synchronous
            SQLite ``PRAGMA synchronous``: ``FULL`` (default, each commit survives a killed
            process and a power loss), ``NORMAL`` (survives a killed process), ``OFF``, or
            ``EXTRA``. Ignored for PostgreSQL.

        Raises
        ------
        ValidationError
            Unusable URL or synchronous level.
        StoreError
            The database cannot be reached or migrated.
        """
        engine = create_engine(url or default_database_url(), sqlite_synchronous)
        try:
            migrate(engine)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            masked = engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot open the store at {masked}: {exc}") from exc
        return cls(engine)

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection (the store can no longer be used)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def begin(self, *, durable: bool = True, wait: bool = True) -> Iterator[Tx]:
        """A write transaction: committed when the block exits, rolled back if it raises.

        On SQLite the write lock is taken at the start (other writers wait up to the busy
        timeout); the commit is durable once the block has exited.

        Parameters
        ----------
        durable
            False only for rows no client asked to keep, such as the margin a read records
            in the history: on SQLite at ``synchronous`` FULL or EXTRA the commit then runs
            at NORMAL (no flush to disk: it survives a killed process, and the next durable
            commit flushes it with its own, the write-ahead log being written in order).
            Writes acknowledged to a client always stay durable. Ignored on PostgreSQL.
        wait
            False: raise :class:`Busy` at once instead of waiting for another writer, for a
            caller that must not block (an event loop) and retries elsewhere. On SQLite the
            write lock is then tried once; on PostgreSQL, where any statement may wait for a
            row lock, such a transaction is never begun (always :class:`Busy`).

        Raises
        ------
        Busy
            ``wait`` is False and the transaction would have waited.
        """
        if not wait and self.dialect != "sqlite":
            raise Busy("a PostgreSQL transaction may wait for locks")
        with self._engine.connect() as connection:
            connection.execution_options(**{WRITE: True})
            restore = _settings(connection, durable=durable, wait=wait)
            try:
                try:
                    transaction = connection.begin()
                except sa.exc.OperationalError as exc:
                    if wait or "locked" not in str(exc.orig):
                        raise
                    raise Busy("another writer holds the database's write lock") from None
                with transaction:
                    yield Tx(connection)
            finally:
                if restore:
                    _pragmas(connection, restore)

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as connection, connection.begin():
            yield connection  # one read transaction: a consistent view

    def check_integrity(self) -> list[str]:
        """Problems found in the database, one line each; empty when it is sound.

        Runs SQLite's ``integrity_check`` and ``foreign_key_check``, then on both backends
        looks for rows without their parent, non-finite amounts, unknown statuses and a schema
        revision behind the code's.
        """
        with self._connect() as connection:
            return integrity_problems(connection)


def _pragmas(connection: sa.Connection, values: dict[str, int]) -> None:
    """Set SQLite pragmas of ``connection`` (outside a transaction)."""
    try:
        dbapi: Any = connection.connection.dbapi_connection
        for name, value in values.items():
            dbapi.execute(f"PRAGMA {name} = {int(value)}")
    except BaseException:
        connection.invalidate()  # never back to the pool with other settings
        raise


def _settings(connection: sa.Connection, *, durable: bool, wait: bool) -> dict[str, int]:
    """Apply the SQLite settings of a transaction that is not ``durable`` or must not
    ``wait``; the values to restore after it (empty: nothing changed)."""
    if connection.dialect.name != "sqlite" or (durable and wait):
        return {}
    dbapi: Any = connection.connection.dbapi_connection
    restore, change = {}, {}
    if not durable:
        level = int(dbapi.execute("PRAGMA synchronous").fetchone()[0])
        if level >= _FULL:
            restore["synchronous"], change["synchronous"] = level, _NORMAL
    if not wait:
        restore["busy_timeout"], change["busy_timeout"] = BUSY_TIMEOUT_MS, 0
    _pragmas(connection, change)
    return restore
