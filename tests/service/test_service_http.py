"""The service over real HTTP: uvicorn on a free loopback port, a client in this process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from portmargin.service import ServiceSettings, create_app, load_demo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Base URL of a running server on the demo data, and an admin token."""
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'http.db'}"))
    store = app.state.services.store
    load_demo(store)
    with store.begin() as tx:
        _, token = tx.create_key(scopes=["admin"], label="http test")
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        srv.should_exit = True
        thread.join(20)


def test_round_trip_over_http(server: tuple[str, str]) -> None:
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/ready").status_code == 200
        created = client.post("/v1/accounts", json={"account_id": "http-1"})
        assert created.status_code == 201, created.text
        put = client.put(
            "/v1/accounts/http-1/positions",
            json={"positions": [{"instrument": "BTC-26JUN20-9000-C", "quantity": -2}]},
        )
        assert put.status_code == 200
        client.put("/v1/accounts/http-1/collateral", json={"balances": {"BTC": 1}})
        margin = client.get("/v1/accounts/http-1/margin")
        assert margin.status_code == 200, margin.text
        assert margin.json()["results"][0]["initial_margin"] > 0
        whatif = client.post(
            "/v1/accounts/http-1/whatif",
            json={"trades": [{"instrument": "BTC-26JUN20-9000-C", "quantity": 2}]},
        )
        assert whatif.json()["after"]["results"][0]["initial_margin"] == 0.0
        assert client.get("/v1/accounts/http-1/history").json()["results"]
        assert client.get("/v1/accounts", headers={"Authorization": "Bearer x"}).status_code == 401
        big = client.post(
            "/v1/snapshots/upload?format=deribit-csv",
            content=b"x" * (10 * 1024 * 1024 + 1),
            headers={"Content-Type": "text/csv"},
        )
        assert big.status_code == 413
