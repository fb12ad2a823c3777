"""API keys and isolation: 404 on every route of another account, revoked keys refused, read
keys cannot write, body limit, idempotency and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from service_support import Service

A, B = "covered-call", "box"

POSITIONS = {"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1.0}]}
TRADES = {"trades": [{"instrument": "BTC-PERPETUAL", "quantity": 1.0}]}

# every route of an account: (method, path, body)
ACCOUNT_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/accounts/{id}", None),
    ("PATCH", "/v1/accounts/{id}", {"label": "x"}),
    ("DELETE", "/v1/accounts/{id}", None),
    ("GET", "/v1/accounts/{id}/positions", None),
    ("PUT", "/v1/accounts/{id}/positions", POSITIONS),
    ("PATCH", "/v1/accounts/{id}/positions", POSITIONS),
    ("POST", "/v1/accounts/{id}/positions", POSITIONS),
    ("DELETE", "/v1/accounts/{id}/positions/BTC-PERPETUAL", None),
    ("GET", "/v1/accounts/{id}/collateral", None),
    ("PUT", "/v1/accounts/{id}/collateral", {"balances": {"BTC": 1.0}}),
    ("GET", "/v1/accounts/{id}/margin", None),
    ("POST", "/v1/accounts/{id}/whatif", TRADES),
    ("GET", "/v1/accounts/{id}/history", None),
    ("GET", "/v1/accounts/{id}/calls", None),
    ("GET", "/v1/accounts/{id}/liqprice", None),
]


def _call(service: Service, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return service.client.request(method, path, json=body, headers=headers)


def test_every_account_route_is_covered(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    templated = {
        (m.upper(), p.replace("{account_id}", "{id}").replace("{instrument}", "BTC-PERPETUAL"))
        for p, ops in schema["paths"].items()
        if "{account_id}" in p
        for m in ops
    }
    assert templated == {(m, p) for m, p, _ in ACCOUNT_ROUTES}


# the route matrices run on SQLite only; the other tests run on both stores
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
@pytest.mark.parametrize("scopes", [["read"], ["trade"], ["read", "trade"]])
@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_ROUTES)
def test_key_for_a_gets_404_on_b(
    service: Service, scopes: list[str], method: str, path: str, body: Any
) -> None:
    key = service.key(scopes, (A,))
    response = _call(service, method, path.format(id=B), body, key)
    assert response.status_code == 404, response.text
    missing = _call(service, method, path.format(id="no-such-account"), body, key)
    assert missing.status_code == 404
    assert response.json()["detail"][0]["msg"] == f"account {B!r} not found"


def test_key_for_a_sees_only_a(service: Service) -> None:
    key = service.key(["read"], (A,))
    listed = service.client.get("/v1/accounts", headers=key).json()
    assert [a["account_id"] for a in listed] == [A]
    bulk = service.client.post(
        "/v1/positions",
        json={"rows": [{"account": B, "instrument": "BTC-PERPETUAL", "quantity": 1}]},
        headers=service.key(["trade"], (A,)),
    )
    assert bulk.status_code == 404


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_ROUTES)
def test_read_key_cannot_write(service: Service, method: str, path: str, body: Any) -> None:
    key = service.key(["read"], (A,))
    before = service.store.positions(A), service.store.collateral(A), service.store.account(A)
    response = _call(service, method, path.format(id=A), body, key)
    changes = method != "GET" and not path.endswith("/whatif")
    if changes:
        assert response.status_code == 403, response.text
    else:
        assert response.status_code == 200, response.text
    after = service.store.positions(A), service.store.collateral(A), service.store.account(A)
    assert after == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/accounts", {"account_id": "new"}),
        ("POST", "/v1/recompute", {}),
        ("PUT", "/v1/params/deribit-pm", {"pack": "deribit-pm/2024-06-17"}),
        ("POST", "/v1/keys", {"scopes": ["admin"]}),
        ("GET", "/v1/keys", None),
        ("POST", "/v1/snapshots", {"parts": [{"format": "deribit-csv", "content": "x"}]}),
    ],
)
def test_admin_routes_need_admin(service: Service, method: str, path: str, body: Any) -> None:
    for scopes in (["read"], ["trade"]):
        response = _call(service, method, path, body, service.key(scopes, (A,)))
        assert response.status_code == 403, response.text


def test_missing_wrong_and_revoked_keys_get_401(service: Service) -> None:
    assert service.client.get("/v1/accounts").status_code == 401
    bad = {"Authorization": "Bearer pm_" + "x" * 56}
    assert service.client.get("/v1/accounts", headers=bad).status_code == 401
    key = service.key(["read"], (A,))
    assert service.client.get(f"/v1/accounts/{A}", headers=key).status_code == 200
    key_id = service.client.get("/v1/keys", headers=service.admin).json()[-1]["key_id"]
    revoked = service.client.delete(f"/v1/keys/{key_id}", headers=service.admin)
    assert revoked.status_code == 200, revoked.text
    response = service.client.get(f"/v1/accounts/{A}", headers=key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_revocation_outside_the_api_is_seen_at_once(service: Service) -> None:
    key = service.key(["read"], (A,))
    assert service.client.get(f"/v1/accounts/{A}", headers=key).status_code == 200
    key_id = key["Authorization"].removeprefix("Bearer pm_")[:12]
    with service.store.begin() as tx:  # as the CLI in another process would
        tx.revoke_key(key_id)
    assert service.client.get(f"/v1/accounts/{A}", headers=key).status_code == 401


def test_body_over_the_limit_gets_413(service: Service) -> None:
    big = b"x" * (2 * 1024 * 1024 + 1)
    response = service.client.post(
        "/v1/snapshots/upload?format=deribit-csv",
        content=big,
        headers={**service.admin, "Content-Type": "text/csv"},
    )
    assert response.status_code == 413
    assert "bytes" in response.json()["detail"][0]["msg"]

    def chunks() -> Any:
        for _ in range(3):
            yield b"y" * (1024 * 1024)

    streamed = service.client.post(
        "/v1/snapshots/upload?format=deribit-csv",
        content=chunks(),
        headers={**service.admin, "Content-Type": "text/csv"},
    )
    assert streamed.status_code == 413


def test_idempotency_key_replays_and_refuses_other_bodies(service: Service) -> None:
    headers = {**service.admin, "Idempotency-Key": "create-acct-1"}
    first = service.client.post("/v1/accounts", json={"account_id": "idem"}, headers=headers)
    assert first.status_code == 201, first.text
    again = service.client.post("/v1/accounts", json={"account_id": "idem"}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = service.client.post("/v1/accounts", json={"account_id": "idem2"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert service.store.account("idem2") is None
    audits = [a for a in service.store.audit(1000) if a.target == "idem"]
    assert len(audits) == 1


def test_every_write_is_audited_with_its_key(service: Service) -> None:
    key = service.key(["trade"], (A,))
    key_id = key["Authorization"].removeprefix("Bearer pm_")[:12]
    start = max((a.audit_id for a in service.store.audit(10_000)), default=0)
    writes = [
        ("PUT", f"/v1/accounts/{A}/positions", POSITIONS),
        ("PATCH", f"/v1/accounts/{A}/positions", POSITIONS),
        ("PUT", f"/v1/accounts/{A}/collateral", {"balances": {"BTC": 2.0}}),
        ("DELETE", f"/v1/accounts/{A}/positions/BTC-PERPETUAL", None),
    ]
    for method, path, body in writes:
        assert _call(service, method, path, body, key).status_code == 200
    rows = service.store.audit(10_000, after_id=start)
    assert [(r.key_id, r.action, r.target, r.status) for r in rows] == [
        (key_id, "PUT /v1/accounts/{account_id}/positions", A, 200),
        (key_id, "PATCH /v1/accounts/{account_id}/positions", A, 200),
        (key_id, "PUT /v1/accounts/{account_id}/collateral", A, 200),
        (key_id, "DELETE /v1/accounts/{account_id}/positions/{instrument}", A, 200),
    ]


def test_refused_writes_are_audited(service: Service) -> None:
    key = service.key(["read"], (A,))
    key_id = key["Authorization"].removeprefix("Bearer pm_")[:12]
    start = max((a.audit_id for a in service.store.audit(10_000)), default=0)
    refused = _call(service, "PUT", f"/v1/accounts/{A}/positions", POSITIONS, key)
    assert refused.status_code == 403
    hidden = _call(service, "PUT", f"/v1/accounts/{B}/positions", POSITIONS, key)
    assert hidden.status_code == 404
    rows = service.store.audit(10_000, after_id=start)
    assert [(r.key_id, r.action, r.target, r.status) for r in rows] == [
        (key_id, "PUT /v1/accounts/{account_id}/positions", A, 403),
        (key_id, "PUT /v1/accounts/{account_id}/positions", B, 404),
    ]
    assert "trade" in rows[0].detail["refused"]
