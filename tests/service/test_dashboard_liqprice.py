"""Liquidation prices of stored accounts: the API route and the dashboard pages show the
solver's roots (equity equals MM there, checked by valuing the moved market afresh), one
account is cached until its rows change, and another key's account is 404."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from dashboard_support import OTHERS, OWN, Demo, demo_app
from fastapi.testclient import TestClient

from portmargin.io.positions import positions_from_table
from portmargin.lifecycle import Holdings, MethodMargining, account_values
from portmargin.risk import moved_market
from portmargin.service._lifecycle import lifecycle_params


@pytest.fixture
def demo(database_url: str) -> Demo:
    return demo_app(database_url)


@pytest.fixture
def client(demo: Demo) -> Iterator[TestClient]:
    with TestClient(demo.app) as c:
        yield c


def _get(client: TestClient, token: str, path: str) -> tuple[int, dict[str, object]]:
    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json()


def _g(demo: Demo, account: str, x: float) -> tuple[float, float]:
    """E and MM (USD) of a stored account with BTC moved by ``x``, valued afresh."""
    services = demo.app.state.services
    method, params = services.desk.params()
    _, market = services.desk.market()
    book = positions_from_table(services.store.book_table([account]), "t").book
    holdings = Holdings.settled(book, market)
    moved = moved_market(market, {"BTC": x})
    equity = account_values(holdings, moved, lifecycle_params().collateral).equity[0]
    mm = MethodMargining(method=method, params=params).requirements(book, moved)
    return float(equity), float(mm.maintenance_margin[0])


def test_liqprice_route_gives_roots_where_equity_meets_mm(client: TestClient, demo: Demo) -> None:
    token = demo.tokens["b"]
    status, body = _get(client, token, "/v1/accounts/short-strangle/liqprice")
    assert status == 200
    assert body["underlyings"] == ["BTC"]
    assert body["main_underlying"] == "BTC"
    assert body["liquidatable"] is False
    assert body["error"] is None
    index = body["current_prices"]["BTC"]  # type: ignore[index]
    e0, mm0 = _g(demo, "short-strangle", 0.0)
    assert body["equity_usd"] == pytest.approx(e0, rel=1e-12)
    assert body["maintenance_margin_usd"] == pytest.approx(mm0, rel=1e-12)
    for side in ("down", "up"):
        figures = body[side]
        assert figures["reachable"] is True  # type: ignore[index]
        x = figures["distance_pct"] / 100  # type: ignore[index]
        assert (x < 0) == (side == "down")
        assert figures["prices"]["BTC"] == pytest.approx(index * (1 + x), rel=1e-12)  # type: ignore[index]
        e, mm = _g(demo, "short-strangle", x)
        assert e - mm == pytest.approx(0.0, abs=1e-4 * mm)
        inside = x - 1e-3 if side == "up" else x + 1e-3
        e_in, mm_in = _g(demo, "short-strangle", inside)
        assert e_in > mm_in
    # asked again: answered from the cache; a change of the account's rows solves it afresh
    cache = demo.app.state.services.liquidation
    kept = len(cache._entries)
    assert _get(client, token, "/v1/accounts/short-strangle/liqprice")[1] == body
    assert len(cache._entries) == kept
    store = demo.app.state.services.store
    with store.begin() as tx:
        tx.upsert_positions([("short-strangle", "BTC-PERPETUAL", 0.5)])
    status, moved = _get(client, token, "/v1/accounts/short-strangle/liqprice")
    assert status == 200
    assert len(cache._entries) == kept + 1
    assert moved["down"] != body["down"]


def test_an_account_without_rows_has_no_liquidation_price(client: TestClient, demo: Demo) -> None:
    with demo.app.state.services.store.begin() as tx:
        tx.create_account("empty", label="nothing held")
    status, body = _get(client, demo.tokens["admin"], "/v1/accounts/empty/liqprice")
    assert status == 200, body
    assert body["equity_usd"] == 0.0
    assert body["maintenance_margin_usd"] == 0.0
    assert body["liquidatable"] is False
    assert body["down"]["reachable"] is False  # type: ignore[index]
    assert body["up"]["reachable"] is False  # type: ignore[index]


def test_liqprice_is_isolated_and_validated(client: TestClient, demo: Demo) -> None:
    token = demo.tokens["a"]
    for account in OTHERS:
        assert _get(client, token, f"/v1/accounts/{account}/liqprice")[0] == 404
    assert _get(client, token, "/v1/accounts/nobody/liqprice")[0] == 404
    status, body = _get(client, token, "/v1/accounts/naked-short-call/liqprice")
    assert status == 200
    assert body["liquidatable"] is True  # no collateral: already below MM
    assert body["down"]["prices"] == body["current_prices"]  # type: ignore[index]
    assert _get(client, token, f"/v1/accounts/{OWN[1]}/liqprice?underlying=XYZ")[0] == 422
    assert _get(client, token, f"/v1/accounts/{OWN[1]}/liqprice?method=nope")[0] == 422
    status, alone = _get(client, token, f"/v1/accounts/{OWN[1]}/liqprice?underlying=BTC")
    assert status == 200
    assert alone["underlyings"] == ["BTC"]


def test_pages_show_the_liquidation_price(client: TestClient, demo: Demo) -> None:
    client.post("/login", data={"api_key": demo.tokens["b"]})
    _, body = _get(client, demo.tokens["b"], "/v1/accounts/short-strangle/liqprice")
    down = f"{body['down']['prices']['BTC']:,.2f}"  # type: ignore[index]
    up = f"{body['up']['prices']['BTC']:,.2f}"  # type: ignore[index]
    page = client.get("/accounts/short-strangle")
    assert page.status_code == 200
    table = page.text[page.text.index('id="liqprice"') :]
    assert re.search(rf'class="liq-down">.*?class="liq-price">{re.escape(down)}<', table, re.S)
    assert re.search(rf'class="liq-up">.*?class="liq-price">{re.escape(up)}<', table, re.S)
    assert f"{body['down']['distance_pct']:+.2f}%" in table  # type: ignore[index]
    listing = client.get("/")
    row = re.search(r'<tr data-account="short-strangle">(.*?)</tr>', listing.text, re.S)
    assert row is not None
    assert f'class="liq-price">{down}</span>' in row.group(1)
    box = re.search(r'<tr data-account="box">(.*?)</tr>', listing.text, re.S)
    assert box is not None
    assert "not reached" in box.group(1)


def test_the_list_solves_a_few_accounts_per_load(
    client: TestClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portmargin.service import _dashboard

    monkeypatch.setattr(_dashboard, "LIQUIDATION_ON_THE_FLY", 1)
    client.post("/login", data={"api_key": demo.tokens["admin"]})

    def pending() -> int:
        cells = re.findall(r'<td class="l liq">(.*?)</td>', client.get("/").text, re.S)
        assert len(cells) >= 3
        return sum(c.strip() == "pending" for c in cells)

    first = pending()
    assert first >= 2  # one account solved, the other rows wait
    assert pending() == first - 1  # the next load solves one more, keeping the first
