"""Alembic environment: migrations run on the connection the store hands over.

:func:`portmargin.store._engine.migrate` opens the connection, takes the migration lock and
passes the connection as ``config.attributes["connection"]``; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from portmargin.store._tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
