"""The OpenAPI schema fuzzed with schemathesis against the app in process: no 5xx, and every
refused input is a 4xx naming what was wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import not_a_server_error

from portmargin.service import ServiceSettings, create_app, load_demo

EXAMPLES_PER_OPERATION = 40
"""Requests generated per operation (about 40 operations: well over 1,000 in all)."""

SENT: list[int] = []
"""Status of every generated request, in order."""


def _app(folder: Path) -> tuple[FastAPI, str]:
    app = create_app(ServiceSettings(database_url=f"sqlite:///{folder / 'fuzz.db'}"))
    store = app.state.services.store
    load_demo(store)
    with store.begin() as tx:
        _, token = tx.create_key(scopes=["admin"], label="fuzz")
    return app, token


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    app, token = _app(tmp_path_factory.mktemp("fuzz"))
    yield app, token
    app.state.services.jobs.join(30)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: tuple[FastAPI, str]) -> schemathesis.BaseSchema:
    app, _ = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _error_names_something(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    if 400 <= status < 500 and status not in (404, 405):
        body = response.json()  # type: ignore[attr-defined]
        detail = body["detail"]
        assert detail, body
        assert detail[0]["msg"], body


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz(case: schemathesis.Case, fuzz_app: tuple[FastAPI, str]) -> None:
    _, token = fuzz_app
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    SENT.append(response.status_code)
    case.validate_response(response, checks=[not_a_server_error])
    _error_names_something(response)


def test_fuzz_sent_enough_requests() -> None:
    """Runs after the fuzz cases of this module (pytest keeps the file's order)."""
    assert len(SENT) >= 1_000, len(SENT)
    assert all(status < 500 for status in SENT)
    assert any(400 <= status < 500 for status in SENT)
