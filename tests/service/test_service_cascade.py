"""Liquidation cascades of the stored accounts: ``POST /v1/cascade`` and the dashboard's
cascade page, checked against closed forms of the inverse-perpetual book (``lifecycle.md``
§9), with admin-only access and bad input answered 4xx naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_support import PERP_ACCOUNTS, Demo, add_perp_accounts, demo_app
from fastapi.testclient import TestClient

OPTION_ACCOUNTS = 8
"""Demo accounts holding options: a cascade sets them aside."""

DEEP = 1e15
"""Book depth (USD per 1 %) at which the price impact of the perp book is negligible."""


@pytest.fixture
def demo(database_url: str) -> Demo:
    app = demo_app(database_url)
    add_perp_accounts(app.app)
    return app


@pytest.fixture
def client(demo: Demo) -> Iterator[TestClient]:
    with TestClient(demo.app) as c:
        yield c


def _post(client: TestClient, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    r = client.post("/v1/cascade", json=body, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json()


def _face_usd(demo: Demo) -> float:
    """USD face value of the perp accounts: 1 + ... + 12 BTC at the index (the perpetual's
    mark in the snapshot)."""
    _, market = demo.app.state.services.desk.market()
    return sum(range(1, len(PERP_ACCOUNTS) + 1)) * market.index("BTC")


def test_flat_rates_cascade_matches_the_closed_form(client: TestClient, demo: Demo) -> None:
    """Max leverage deposits 1.5 x 5 % of the face N; a 10 % fall costs 10 % of N on an
    inverse perpetual (in USD), so each account is bankrupt by 2.5 % of N, closed in the
    first round, and with negligible impact nothing moves afterwards."""
    status, body = _post(
        client,
        demo.tokens["admin"],
        {"shock": {"BTC": -0.1}, "methods": ["rates:0.04/0.05"], "depth_1pct_usd": DEEP},
    )
    assert status == 200, body
    (run,) = body["methods"]
    face = _face_usd(demo)
    assert run["rounds"] == 1
    assert run["accounts_liquidated"] == len(PERP_ACCOUNTS)
    assert run["accounts_bankrupt"] == len(PERP_ACCOUNTS)
    assert run["liquidated_notional"] == pytest.approx(face, rel=1e-9)
    assert run["deficits"] == pytest.approx(0.025 * face, rel=1e-9)
    assert run["fund_end"] == pytest.approx(1e6 - 0.025 * face, rel=1e-9)
    assert run["final_move"]["BTC"] == pytest.approx(-0.1, abs=1e-9)
    (round_1,) = run["round_details"]
    assert sorted(round_1["liquidated"]) == list(PERP_ACCOUNTS)
    assert body["population"] == "max-leverage"
    assert len(body["set_aside"]) == OPTION_ACCOUNTS
    assert all("futures and perpetuals" in reason for reason in body["set_aside"].values())
    assert isinstance(body["snapshot_id"], int)


def test_ewma_and_methods_side_by_side(client: TestClient, demo: Demo) -> None:
    """EWMA rates at sigma 3 % deposit 1.5 x 1.25 x 9 % of N: the 10 % fall leaves equity of
    6.875 % of N, under the moved MM but positive, so every account is liquidated and none is
    bankrupt; the penalties go to the fund. A thin book moves the price further than the
    shock."""
    status, body = _post(
        client,
        demo.tokens["admin"],
        {
            "shock": {"BTC": -0.1},
            "methods": ["ewma", "rates:0.04/0.05", "standard"],
            "sigma_daily": 0.03,
            "depth_1pct_usd": 100_000.0,
        },
    )
    assert status == 200, body
    ewma, rates, standard = body["methods"]
    assert ewma["margining"].startswith("ewma")
    assert rates["margining"].startswith("notional rates")
    assert ewma["accounts_liquidated"] == len(PERP_ACCOUNTS)
    assert ewma["accounts_bankrupt"] == 0
    assert ewma["fund_end"] > ewma["fund_start"]
    assert ewma["fund_end"] - ewma["fund_start"] == pytest.approx(ewma["penalty_income"])
    for run in (ewma, rates, standard):
        assert run["final_move"]["BTC"] < -0.1
        assert run["fund_start"] - run["fund_min"] == pytest.approx(run["fund_drawdown"])
        assert len(run["round_details"]) == run["rounds"]
        total = sum(r["liquidated_notional"] for r in run["round_details"])
        assert run["liquidated_notional"] == pytest.approx(total)


def test_as_is_population_keeps_the_stored_balances(client: TestClient, demo: Demo) -> None:
    """The perp accounts hold no collateral: every one is bankrupt at once, losing 10 % of
    its face to the fund."""
    status, body = _post(
        client,
        demo.tokens["admin"],
        {
            "shock": {"BTC": -0.1},
            "methods": ["rates:0.04/0.05"],
            "population": "as-is",
            "depth_1pct_usd": DEEP,
        },
    )
    assert status == 200, body
    (run,) = body["methods"]
    assert run["accounts_bankrupt"] == len(PERP_ACCOUNTS)
    assert run["deficits"] == pytest.approx(0.1 * _face_usd(demo), rel=1e-9)


def test_cascade_needs_an_admin_key(client: TestClient, demo: Demo) -> None:
    body = {"shock": {"BTC": -0.1}, "methods": ["rates:0.04/0.05"]}
    status, answer = _post(client, demo.tokens["a"], body)
    assert status == 403
    assert "admin" in answer["detail"][0]["msg"]
    r = client.post("/v1/cascade", json=body)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"shock": {"XRP": -0.1}}, "shock", "underlying of the snapshot"),
        ({"shock": {"BTC": -1.5}}, "shock['BTC']", "(-1, 10]"),
        ({"shock": {}}, "shock", ""),
        ({"shock": {"BTC": -0.1}, "methods": ["rates:x"]}, "methods", "rates:MM/IM"),
        ({"shock": {"BTC": -0.1}, "methods": ["ewma:1/2"]}, "methods", "ewma:K/FLOOR/CAP"),
        ({"shock": {"BTC": -0.1}, "methods": ["nope"]}, "methods", "deribit-pm"),
        ({"shock": {"BTC": -0.1}, "methods": ["standard"] * 7}, "methods", ""),
        ({"shock": {"BTC": -0.1}, "depth_1pct_usd": 0}, "depth_1pct_usd", ""),
        ({"shock": {"BTC": -0.1}, "fund_usd": -1}, "fund_usd", ""),
        ({"shock": {"BTC": -0.1}, "population": "all"}, "population", ""),
        ({"shock": {"BTC": -0.1}, "colour": "red"}, "colour", ""),
    ],
)
def test_bad_cascade_requests_are_4xx_naming_the_field(
    client: TestClient, demo: Demo, body: dict[str, Any], field: str, words: str
) -> None:
    status, answer = _post(client, demo.tokens["admin"], body)
    assert status == 422, answer
    (problem,) = answer["detail"]
    located = ".".join(str(p) for p in problem["loc"])
    assert field in located or field in problem["msg"]
    assert words in problem["msg"]


def _log_in(client: TestClient, token: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"api_key": token}, follow_redirects=False)
    assert r.status_code == 303


def _metrics(html: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr data-metric="([^"]+)"><td class="l">[^<]*</td>(.*?)</tr>', html)
    return {key: re.findall(r"<td>([^<]*)</td>", cells) for key, cells in rows}


def test_cascade_page_runs_and_shows_rounds(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["admin"])
    page = client.get("/")
    assert 'id="nav-cascade"' in page.text
    form = client.get("/cascade")
    assert form.status_code == 200
    assert 'name="shock:BTC" value="-0.1"' in form.text
    assert 'name="shock:ETH" value=""' in form.text
    assert 'id="cascade-metrics"' not in form.text

    posted = {
        "shock:BTC": "-0.1",
        "shock:ETH": "",
        "method": ["rates:0.04/0.05"],
        "extra": "rates:0.1/0.12",
        "depth": "1,000,000,000,000,000",
        "fund": "1000000",
        "population": "max-leverage",
        "sigma": "",
    }
    r = client.post("/cascade", data=posted)
    assert r.status_code == 200, r.text
    metrics = _metrics(r.text)
    assert metrics["rounds"] == ["1", "1"]
    assert metrics["accounts_liquidated"] == ["12", "12"]
    # 10 % of face against a 1.5 x 12 % deposit: liquidated but not bankrupt
    assert metrics["accounts_bankrupt"] == ["12", "0"]
    assert 'id="plot-cascade"' in r.text
    assert r.text.count("<li>") >= OPTION_ACCOUNTS  # the option accounts, set aside
    api = _post(
        client,
        demo.tokens["admin"],
        {"shock": {"BTC": -0.1}, "methods": ["rates:0.04/0.05"], "depth_1pct_usd": DEEP},
    )[1]
    shown = float(metrics["liquidated_notional"][0].replace(",", ""))
    assert shown == pytest.approx(api["methods"][0]["liquidated_notional"], rel=1e-3)


def test_cascade_page_explains_bad_input(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["admin"])
    base = {
        "shock:BTC": "-0.1",
        "method": ["rates:0.04/0.05"],
        "population": "max-leverage",
        "depth": "1e7",
        "fund": "1e6",
    }
    cases = [
        ({**base, "shock:BTC": "down"}, "shock BTC"),
        ({**base, "depth": "0"}, "depth_1pct_usd"),
        ({**base, "fund": ""}, "fund"),
        ({**base, "extra": "rates:x"}, "rates:MM/IM"),
        ({**base, "shock:BTC": ""}, "at least one underlying"),
        ({**base, "population": "everyone"}, "everyone"),
    ]
    for data, words in cases:
        r = client.post("/cascade", data=data)
        assert r.status_code == 422, (data, r.text)
        error = re.search(r'<p class="error" id="cascade-error">([^<]*)</p>', r.text)
        assert error is not None, data
        assert words in error.group(1), (data, error.group(1))


def test_cascade_page_is_for_admin_keys_and_same_site_posts(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["a"])
    assert 'id="nav-cascade"' not in client.get("/").text
    assert client.get("/cascade").status_code == 404
    assert client.post("/cascade", data={"shock:BTC": "-0.1"}).status_code == 404
    _log_in(client, demo.tokens["admin"])
    r = client.post(
        "/cascade", data={"shock:BTC": "-0.1"}, headers={"Origin": "https://elsewhere.example"}
    )
    assert r.status_code == 403
    client.cookies.clear()
    assert client.get("/cascade", follow_redirects=False).headers["location"] == "/login"
