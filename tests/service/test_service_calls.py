"""Account states and margin calls through the API: a call is issued when an account enters
MARGIN_CALL, listed per account and across the accounts a key sees, met when equity is back at
IM; keys only see calls of their accounts (404 for others)."""

from __future__ import annotations

import math

from service_support import Service

ACCOUNT = "calls-desk"
PERP = "BTC_USDC-PERPETUAL"


def _margin(service: Service) -> dict:  # type: ignore[type-arg]
    response = service.client.get(f"/v1/accounts/{ACCOUNT}/margin", headers=service.admin)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _set_collateral(service: Service, usdc: float) -> None:
    response = service.client.put(
        f"/v1/accounts/{ACCOUNT}/collateral",
        json={"balances": {"USDC": usdc}},
        headers=service.admin,
    )
    assert response.status_code == 200, response.text


def _account(service: Service) -> None:
    h = service.admin
    assert service.client.post("/v1/accounts", json={"account_id": ACCOUNT}, headers=h).is_success
    response = service.client.put(
        f"/v1/accounts/{ACCOUNT}/positions",
        json={"positions": [{"instrument": PERP, "quantity": 10.0}]},
        headers=h,
    )
    assert response.status_code == 200, response.text


def test_call_issued_listed_and_met(service: Service) -> None:
    _account(service)
    _set_collateral(service, 1_000_000.0)
    healthy = _margin(service)
    state = healthy["state"]
    assert healthy["status"] == state["state"] == "healthy"
    mm, im = state["maintenance_margin_usd"], state["initial_margin_usd"]
    assert 0 < mm < im
    assert state["equity_usd"] == 1_000_000.0  # USDC: no haircut, the perp settled at its mark
    assert state["margin_ratio"] == mm / 1_000_000.0
    assert state["open_call"] is None
    # equity between MM and 1.10 MM: a margin call of IM - E rounded up to 1 USD (>= 100)
    equity = 1.05 * mm
    _set_collateral(service, equity)
    called = _margin(service)
    assert called["status"] == "margin_call"
    call = called["state"]["open_call"]
    assert call["status"] == "open"
    assert call["amount_usd"] == max(math.ceil(im - equity), 100.0)
    assert call["deadline_ms"] - call["issued_ms"] == 3_600_000
    assert called["state"]["reduce_only"] is True
    listed = service.client.get(f"/v1/accounts/{ACCOUNT}/calls", headers=service.admin).json()
    assert [c["call_id"] for c in listed["calls"]] == [call["call_id"]]
    everyone = service.client.get("/v1/calls?status=open", headers=service.admin).json()
    assert call["call_id"] in [c["call_id"] for c in everyone["calls"]]
    account = service.client.get(f"/v1/accounts/{ACCOUNT}", headers=service.admin).json()
    assert account["state"]["state"] == "margin_call"
    assert account["state"]["open_call"]["call_id"] == call["call_id"]
    # back above IM: the call is met by equity
    _set_collateral(service, 1.01 * im)
    assert _margin(service)["status"] == "healthy"
    (met,) = service.client.get(f"/v1/accounts/{ACCOUNT}/calls", headers=service.admin).json()[
        "calls"
    ]
    assert (met["status"], met["reason"]) == ("met", "equity")
    assert met["closed_ms"] >= met["issued_ms"]
    assert service.client.get("/v1/calls?status=open", headers=service.admin).json()["calls"] == []
    changes = [c.new_status for c in service.store.status_changes(ACCOUNT)]
    assert changes == ["healthy", "margin_call", "healthy"]
    assert service.store.check_integrity() == []


def test_keys_see_only_their_accounts_calls(service: Service) -> None:
    _account(service)
    _set_collateral(service, 1_000_000.0)
    mm = _margin(service)["state"]["maintenance_margin_usd"]
    _set_collateral(service, 1.05 * mm)
    assert _margin(service)["state"]["open_call"] is not None
    other = service.key(["read"], (service.demo.accounts[0],))
    mine = service.key(["read"], (ACCOUNT,))
    assert service.client.get(f"/v1/accounts/{ACCOUNT}/calls", headers=other).status_code == 404
    assert service.client.get("/v1/accounts/nobody/calls", headers=service.admin).status_code == 404
    assert service.client.get("/v1/calls?status=open", headers=other).json() == {"calls": []}
    seen = service.client.get("/v1/calls?status=open", headers=mine).json()["calls"]
    assert [c["account_id"] for c in seen] == [ACCOUNT]
    assert service.client.get("/v1/calls?status=paid", headers=mine).status_code == 422
    assert service.client.get("/v1/calls").status_code == 401
