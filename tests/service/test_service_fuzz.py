"""The OpenAPI schema fuzzed with schemathesis against the app in process (admin key):
valid and invalid requests for every operation, no 5xx, every refused input a 4xx whose
detail says what was wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from portmargin.service import ServiceSettings, create_app, load_demo

EXAMPLES = 25
"""Requests generated per operation and generation mode (valid, invalid)."""
AT_LEAST = 1_000
"""Requests the run must send in all."""


def _check_detail(response: Any) -> None:
    status = response.status_code
    if 400 <= status < 500 and status != 405:
        detail = response.json()["detail"]
        assert detail, response.text
        assert isinstance(detail, str) or all(d["msg"] for d in detail), response.text


def test_openapi_fuzz(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'fuzz.db'}"))
    services = app.state.services
    load_demo(services.store)
    with services.store.begin() as tx:
        _, token = tx.create_key(scopes=["admin"], label="fuzz")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                statuses.append(response.status_code)
                case.validate_response(response, checks=[not_a_server_error])
                _check_detail(response)

            try:
                run()
            except Unsatisfiable:
                # no invalid request exists for an operation without inputs (e.g. /health)
                assert mode is GenerationMode.NEGATIVE, operation.label
    services.jobs.join(60)
    print(f"{len(statuses)} requests over {len(operations)} operations")
    assert len(statuses) >= AT_LEAST, (len(statuses), len(operations))
    assert max(statuses) < 500
    assert sum(400 <= s < 500 for s in statuses) > 100
