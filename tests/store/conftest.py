"""Store fixtures: every store test runs on SQLite (a file in tmp) and on PostgreSQL.

PostgreSQL comes from ``PORTMARGIN_TEST_POSTGRES_URL``, a server URL whose user may create
databases: the session creates one uniquely named database on it (dropped at the end) and
each test gets its own schema in it. Without the variable the PostgreSQL cases skip.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portmargin.store import Store

POSTGRES_ENV = "PORTMARGIN_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
_schemas = itertools.count()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[sa.URL]:
    """URL of a fresh database on the test PostgreSQL server, dropped after the session."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_ENV} (a server URL that may CREATE DATABASE)"
        )
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"portmargin_store_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: an SQLite file, or a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    database: sa.URL = request.getfixturevalue("postgres_database")
    schema = f"t{next(_schemas)}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    with Store.open(store_url) as s:
        yield s
