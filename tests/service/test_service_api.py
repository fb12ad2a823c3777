"""Routes of the REST API in process: accounts, positions, collateral, snapshots, methods,
margin, history, errors naming the field."""

from __future__ import annotations

import json

import pytest
from service_support import Service

from portmargin.data import demo_chain_path, demo_eth_market_path


def test_health_ready_and_openapi(service: Service) -> None:
    assert service.client.get("/health").json()["status"] == "ok"
    ready = service.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["snapshot_id"] == service.demo.snapshot_id
    paths = service.client.get("/openapi.json").json()["paths"]
    assert "/v1/margin" in paths
    assert "/v1/accounts/{account_id}/whatif" in paths


def test_unknown_routes_and_methods_answer_in_the_error_format(service: Service) -> None:
    missing = service.client.get("/v1/nowhere", headers=service.admin)
    assert missing.status_code == 404
    assert missing.json() == {"detail": [{"loc": [], "msg": "Not Found", "type": "http"}]}
    wrong = service.client.put("/v1/margin", headers=service.admin)
    assert wrong.status_code == 405
    assert wrong.json()["detail"][0]["msg"] == "Method Not Allowed"


def test_account_crud(service: Service) -> None:
    h = service.admin
    created = service.client.post(
        "/v1/accounts", json={"account_id": "acct-1", "label": "one"}, headers=h
    )
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "one"
    dup = service.client.post("/v1/accounts", json={"account_id": "acct-1"}, headers=h)
    assert dup.status_code == 409
    assert "acct-1" in dup.json()["detail"][0]["msg"]
    patched = service.client.patch("/v1/accounts/acct-1", json={"currency": "BTC"}, headers=h)
    assert patched.json()["currency"] == "BTC"
    assert patched.json()["label"] == "one"
    listed = service.client.get("/v1/accounts", headers=h).json()
    assert "acct-1" in [a["account_id"] for a in listed]
    assert service.client.delete("/v1/accounts/acct-1", headers=h).status_code == 200
    assert service.client.get("/v1/accounts/acct-1", headers=h).status_code == 404


def test_positions_put_patch_delete(service: Service) -> None:
    h = service.admin
    service.client.post("/v1/accounts", json={"account_id": "p"}, headers=h)
    put = service.client.put(
        "/v1/accounts/p/positions",
        json={
            "positions": [
                {"instrument": "BTC-PERPETUAL", "quantity": 2},
                {"instrument": "BTC-26JUN20-9000-C", "quantity": -1},
            ]
        },
        headers=h,
    )
    assert put.status_code == 200, put.text
    service.client.patch(
        "/v1/accounts/p/positions",
        json={"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 0}]},
        headers=h,
    )
    got = service.client.get("/v1/accounts/p/positions", headers=h).json()
    assert [(p["instrument"], p["quantity"]) for p in got["positions"]] == [
        ("BTC-26JUN20-9000-C", -1.0)
    ]
    gone = service.client.delete("/v1/accounts/p/positions/BTC-26JUN20-9000-C", headers=h)
    assert gone.status_code == 200
    again = service.client.delete("/v1/accounts/p/positions/BTC-26JUN20-9000-C", headers=h)
    assert again.status_code == 404
    assert service.client.get("/v1/accounts/p/positions", headers=h).json()["positions"] == []
    service.client.patch(
        "/v1/accounts/p/positions",
        json={"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1}]},
        headers=h,
    )
    cleared = service.client.put("/v1/accounts/p/positions", json={"positions": []}, headers=h)
    assert cleared.status_code == 200
    assert service.store.positions("p") == []
    for method in ("PUT", "PATCH", "POST"):
        none = service.client.request(
            method, "/v1/accounts/nobody/positions", json={"positions": []}, headers=h
        )
        assert none.status_code == 404, (method, none.text)


def test_bad_instrument_is_a_422_naming_the_field(service: Service) -> None:
    response = service.client.put(
        "/v1/accounts/box/positions",
        json={"positions": [{"instrument": "BTC-32JUN20-1-C", "quantity": 1}]},
        headers=service.admin,
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["positions[0].instrument"]
    assert "BTC-32JUN20-1-C" in detail["msg"]


def test_schema_errors_name_the_field(service: Service) -> None:
    response = service.client.post(
        "/v1/margin",
        json={"positions": [{"instrument": "BTC-PERPETUAL", "quantity": "lots"}]},
        headers=service.admin,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "positions", 0, "quantity"]


def test_bulk_positions_json_and_csv(service: Service) -> None:
    h = service.admin
    rows = [
        {"account": "bulk-1", "instrument": "BTC-PERPETUAL", "quantity": 1},
        {"account": "bulk-2", "instrument": "BTC-26JUN20-9000-P", "quantity": -2},
    ]
    response = service.client.post(
        "/v1/positions", json={"rows": rows, "create_accounts": True}, headers=h
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 2
    csv = "account,instrument,quantity\nbulk-1,BTC-26JUN20-9000-C,3\nbulk-3,ETH-PERPETUAL,-4\n"
    response = service.client.post(
        "/v1/positions?create_accounts=true",
        content=csv,
        headers={**h, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert [p.instrument for p in service.store.positions("bulk-1")] == [
        "BTC-26JUN20-9000-C",
        "BTC-PERPETUAL",
    ]
    assert service.store.positions("bulk-3")[0].quantity == -4.0
    bad = service.client.post(
        "/v1/positions",
        content="account,instrument,quantity\nbulk-1,BTC-PERPETUAL,many\n",
        headers={**h, "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["row 1: quantity"]
    missing = service.client.post(
        "/v1/positions",
        content="account,instrument\nx,BTC\n",
        headers={**h, "Content-Type": "text/csv"},
    )
    assert missing.status_code == 422
    assert "quantity" in missing.json()["detail"][0]["msg"]


def test_collateral_put_and_get(service: Service) -> None:
    h = service.admin
    put = service.client.put(
        "/v1/accounts/box/collateral", json={"balances": {"BTC": 1.5, "USDC": 100}}, headers=h
    )
    assert put.status_code == 200, put.text
    got = service.client.get("/v1/accounts/box/collateral", headers=h).json()
    assert got["balances"] == {"BTC": 1.5, "USDC": 100.0}


def test_snapshot_upload_list_latest_and_get(service: Service) -> None:
    h = service.admin
    body = {
        "label": "again",
        "parts": [
            {"format": "deribit-csv", "content": demo_chain_path().read_text()},
            {"format": "market-file", "content": demo_eth_market_path().read_text()},
        ],
    }
    response = service.client.post("/v1/snapshots", json=body, headers=h)
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["underlyings"] == ["BTC", "ETH"]
    assert (
        service.client.get("/v1/snapshots/latest", headers=h).json()["snapshot_id"]
        == new["snapshot_id"]
    )
    listed = service.client.get("/v1/snapshots", headers=h).json()
    assert [s["snapshot_id"] for s in listed] == [new["snapshot_id"], service.demo.snapshot_id]
    one = service.client.get(f"/v1/snapshots/{service.demo.snapshot_id}", headers=h).json()
    assert one["label"].startswith("demo")
    raw = service.client.post(
        "/v1/snapshots/upload?format=deribit-csv&label=raw",
        content=demo_chain_path().read_bytes(),
        headers={**h, "Content-Type": "text/csv"},
    )
    assert raw.status_code == 201, raw.text
    assert raw.json()["underlyings"] == ["BTC"]


@pytest.mark.parametrize(
    ("fmt", "content", "expected"),
    [
        ("deribit-csv", "a,b\n1,2\n", "missing column"),
        ("deribit-json", "{nope", "invalid JSON"),
        ("market-file", "x\n1\n", "unknown column"),
        ("deribit-json", json.dumps({"jsonrpc": "2.0", "error": {"code": 1, "message": "no"}}), ""),
    ],
)
def test_unparseable_snapshot_is_refused(
    service: Service, fmt: str, content: str, expected: str
) -> None:
    body = {"parts": [{"format": fmt, "content": content}]}
    response = service.client.post("/v1/snapshots", json=body, headers=service.admin)
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"][0]["msg"]
    assert len(service.store.snapshots(10)) == 1


def test_margin_errors_name_method_snapshot_and_override(service: Service) -> None:
    base = {"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 1}]}
    cases = [
        ({"method": "nope"}, "method"),
        ({"snapshot_id": 999}, "snapshot_id"),
        ({"set": ["general.no_such_key=1"]}, "general.no_such_key"),
        ({"params": "/etc/passwd"}, "params"),
    ]
    for extra, field in cases:
        response = service.client.post("/v1/margin", json={**base, **extra}, headers=service.admin)
        assert response.status_code == 422, response.text
        assert field in json.dumps(response.json()["detail"][0]["loc"]), response.json()


def test_account_margin_is_recorded_in_history(service: Service) -> None:
    h = service.admin
    margin = service.client.get("/v1/accounts/box/margin?method=standard", headers=h)
    assert margin.status_code == 200, margin.text
    results = margin.json()["results"]
    for result in results:
        assert {"components", "equity", "excess", "margin_ratio", "worst_scenario"} <= set(result)
    history = service.client.get("/v1/accounts/box/history", headers=h).json()
    rows = history["results"]
    assert len(rows) == len(results)
    for row, result in zip(sorted(rows, key=lambda r: r["currency"]), results, strict=True):
        assert row["method"] == "standard"
        assert row["currency"] == result["currency"]
        assert row["initial_margin"] == result["initial_margin"]
        assert row["detail"]["components"] == result["components"]
    assert history["status"][0]["status"] == margin.json()["status"]


def test_methods_and_params_in_use(service: Service) -> None:
    h = service.admin
    methods = service.client.get("/v1/methods", headers=h).json()
    assert {m["method"] for m in methods} >= {"deribit-pm", "standard", "span", "var"}
    put = service.client.put(
        "/v1/params/deribit-pm",
        json={"pack": "deribit-pm/2024-06-17", "overrides": {"general.mm_factor": "0.5"}},
        headers=h,
    )
    assert put.status_code == 200, put.text
    margin = service.client.get("/v1/accounts/box/margin", headers=h).json()
    assert margin["params_version"].endswith("+set")
    bad = service.client.put(
        "/v1/params/deribit-pm",
        json={"pack": "deribit-pm/2024-06-17", "overrides": {"general.nope": "1"}},
        headers=h,
    )
    assert bad.status_code == 422
    assert "general.nope" in bad.json()["detail"][0]["loc"][0]
