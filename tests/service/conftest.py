"""Fixtures of the service tests: a service on a fresh store holding the bundled demo
snapshot and accounts, on SQLite (a file in a temporary folder) and on PostgreSQL.

PostgreSQL comes from ``PORTMARGIN_TEST_POSTGRES_URL``, a server URL whose user may create
databases: the session creates one uniquely named database (dropped at the end) and each test
gets its own schema in it. Without the variable the PostgreSQL cases skip.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from service_support import Service

from portmargin.service import ServiceSettings, create_app, load_demo

POSTGRES_ENV = "PORTMARGIN_TEST_POSTGRES_URL"
_schemas = itertools.count()


@pytest.fixture(scope="session")
def service_postgres_database() -> Iterator[sa.URL]:
    """URL of a fresh database on the test PostgreSQL server, dropped after the session."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL service tests need {POSTGRES_ENV}")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"portmargin_service_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store URL: an SQLite file, or a new schema on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return _new_schema(request.getfixturevalue("service_postgres_database"))


@pytest.fixture
def database_url_postgresql(service_postgres_database: sa.URL) -> str:
    """A new, empty schema on the test PostgreSQL server (skips without it)."""
    return _new_schema(service_postgres_database)


def _new_schema(database: sa.URL) -> str:
    schema = f"s{next(_schemas)}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The service on a fresh store with the demo snapshot and accounts."""
    settings = ServiceSettings(database_url=database_url, max_body_bytes=2 * 1024 * 1024)
    app = create_app(settings)
    demo = load_demo(app.state.services.store)
    with TestClient(app) as client:
        yield Service(client, demo)
