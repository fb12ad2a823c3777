"""The store: an engine on the database, reads, and write transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import sqlalchemy as sa

from portmargin.store._engine import WRITE, create_engine, migrate
from portmargin.store._errors import StoreError
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
    def begin(self, *, durable: bool = True) -> Iterator[Tx]:
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
        """
        with self._engine.connect() as connection:
            connection.execution_options(**{WRITE: True})
            level = None if durable else _relax(connection)
            try:
                with connection.begin():
                    yield Tx(connection)
            finally:
                if level is not None:
                    _synchronous(connection, level)

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


def _synchronous(connection: sa.Connection, level: int) -> None:
    """Set SQLite's ``synchronous`` level of ``connection`` (outside a transaction)."""
    try:
        connection.connection.dbapi_connection.execute(  # type: ignore[union-attr]
            f"PRAGMA synchronous = {int(level)}"
        )
    except BaseException:
        connection.invalidate()  # never back to the pool at another level
        raise


def _relax(connection: sa.Connection) -> int | None:
    """On SQLite at ``synchronous`` FULL or EXTRA, set NORMAL and return the level to
    restore; otherwise None."""
    if connection.dialect.name != "sqlite":
        return None
    dbapi = connection.connection.dbapi_connection
    level = int(dbapi.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[union-attr]
    if level < _FULL:
        return None
    _synchronous(connection, _NORMAL)
    return level
