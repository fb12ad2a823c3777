"""Fixtures of the service tests: a service on a fresh store (SQLite in a temporary folder,
or a fresh database on the PostgreSQL server of ``PORTMARGIN_TEST_POSTGRES_URL``) holding the
bundled demo snapshot and accounts, and API keys."""

from __future__ import annotations

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


def _postgres_database() -> Iterator[str]:
    """A new database on the test server, dropped afterwards; skips without the server."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"pm_service_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The service on a fresh store with the demo snapshot and accounts."""
    settings = ServiceSettings(database_url=database_url, max_body_bytes=2 * 1024 * 1024)
    app = create_app(settings)
    demo = load_demo(app.state.services.store)
    with TestClient(app) as client:
        yield Service(client, demo)
