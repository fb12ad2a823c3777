"""The dashboard end to end in a real headless browser (Debian's chromium via Playwright).

The app runs under uvicorn on a loopback port over a temporary SQLite store holding demo
accounts and the bundled chain. Skipped, with the reason, when chromium or Playwright is
missing (CI installs both and fails on skips).
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dashboard_support import OTHERS, OWN, Demo, add_perp_accounts, demo_app, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python missing")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"chromium not installed at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    db = tmp_path_factory.mktemp("store") / "dashboard.db"
    demo = demo_app(f"sqlite:///{db}")
    add_perp_accounts(demo.app)
    return demo


CALLED = "covered-call"
"""The account moved into MARGIN_CALL (equity 1.05 MM) by a USDC balance: it has a call."""


@pytest.fixture(scope="module")
def base_url(demo: Demo) -> Iterator[str]:
    """The server, with two margins of each account of key ``a`` recorded (history points),
    then :data:`CALLED` brought to 1.05 MM of equity and margined again (a margin call)."""
    with serving(demo.app) as url:
        headers = {"Authorization": f"Bearer {demo.tokens['admin']}"}
        for account in OWN * 2:
            r = httpx.get(f"{url}/v1/accounts/{account}/margin", headers=headers, timeout=60)
            assert r.status_code == 200, r.text
        assert OWN[-1] == CALLED
        state = r.json()["state"]  # the last margin run: of CALLED
        balances = httpx.get(f"{url}/v1/accounts/{CALLED}/collateral", headers=headers).json()
        usdc = balances["balances"].get("USDC", 0.0)
        usdc += 1.05 * state["maintenance_margin_usd"] - state["equity_usd"]
        r = httpx.put(
            f"{url}/v1/accounts/{CALLED}/collateral",
            json={"balances": {"USDC": usdc}, "replace": False},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        r = httpx.get(f"{url}/v1/accounts/{CALLED}/margin", headers=headers, timeout=60)
        assert r.json()["state"]["state"] == "margin_call", r.text
        assert r.json()["state"]["open_call"] is not None
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser page and the URLs of every request it makes."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg, requests
        browser.close()
        assert errors == [], errors


def _log_in(pg: Any, base_url: str, token: str) -> None:
    pg.goto(f"{base_url}/login")
    pg.fill("#api_key", token)
    pg.click("#login")
    pg.wait_for_url(f"{base_url}/")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _only_loopback(requests: list[str], base_url: str) -> None:
    host = urlsplit(base_url).netloc
    outside = [u for u in requests if urlsplit(u).scheme not in ("data", "blob")]
    outside = [u for u in outside if urlsplit(u).netloc != host]
    assert outside == []
    assert requests, "no request recorded"


def test_log_in_list_account_page_whatif_and_isolation(
    page: tuple[Any, list[str]], base_url: str, demo: Demo, tmp_path: Path
) -> None:
    pg, requests = page
    pg.goto(f"{base_url}/")
    assert pg.url == f"{base_url}/login"  # not logged in: sent to the log-in page

    pg.fill("#api_key", "pm_notakey_xxxxxxxx")
    pg.click("#login")
    assert "not valid" in pg.inner_text(".error")

    _log_in(pg, base_url, demo.tokens["a"])
    cookie = next(c for c in pg.context.cookies() if c["name"] == "portmargin_key")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    listed = pg.eval_on_selector_all("#accounts tbody tr", "rs => rs.map(r => r.dataset.account)")
    assert sorted(listed) == sorted(OWN)
    statuses = pg.eval_on_selector_all("#accounts .status", "s => s.map(e => e.className)")
    assert len(statuses) == len(OWN)
    states = ("healthy", "warning", "margin_call", "liquidation", "bankrupt")
    assert all(s.split()[1] in {f"status-{x}" for x in states} for s in statuses)
    # the naked short call has no collateral: the short calls are worth more than nothing
    row = pg.locator("tr[data-account='naked-short-call'] .status")
    assert row.inner_text() == "bankrupt"
    assert "status-bankrupt" in (row.get_attribute("class") or "")
    # the called account: its state and open call (amount and deadline) are listed
    headers = {"Authorization": f"Bearer {demo.tokens['a']}"}
    (call,) = httpx.get(f"{base_url}/v1/calls?status=open", headers=headers).json()["calls"]
    assert call["account_id"] == CALLED
    called = pg.locator(f"tr[data-account='{CALLED}']")
    assert called.locator(".status").inner_text() == "margin call"
    amount = called.locator(".call-amount").inner_text()
    assert float(amount.replace(",", "")) == pytest.approx(call["amount_usd"])
    assert called.locator(".call-deadline").inner_text().strip() != ""
    assert pg.locator("tr[data-account='naked-short-call'] .call-amount").count() == 0

    pg.click("a:text-is('naked-short-call')")
    pg.wait_for_url(f"{base_url}/accounts/naked-short-call")
    pg.wait_for_selector("#plot-methods .main-svg")
    plots = pg.locator("div.plot")
    n = plots.count()
    assert n >= 5  # components, at least one grid, methods, history
    for k in range(n):
        plots.nth(k).locator(".main-svg").first.wait_for()
    assert pg.locator("#plot-history-0 .scatterlayer .trace").count() == 3  # IM, MM, equity
    heat = pg.locator("#plot-grid-0")
    assert heat.locator(".heatmaplayer image, .hm image").count() >= 1
    assert pg.locator("div.plot .shapelayer path").count() >= 1  # the worst cell outline
    methods = pg.eval_on_selector_all(
        "#methods tbody td:first-child", "c => c.map(e => e.textContent)"
    )
    assert {"standard", "deribit-pm"} <= set(methods)

    shot = tmp_path / "dashboard-account.png"
    pg.screenshot(path=str(shot), full_page=True)
    width, height = _png_size(shot)
    assert width >= 1000
    assert height >= 1500
    assert shot.stat().st_size > 50_000

    # the account page shows the lifecycle state and the equity against IM and MM
    assert pg.inner_text("#lifecycle-state") == "bankrupt"
    assert pg.inner_text("#mm-ratio") == "n/a"  # E <= 0: no ratio
    assert "No open margin call" in pg.inner_text("#open-call")

    # what-if round trip: the form's before/after are the API's for the same trades
    pg.fill("#whatif-form tbody tr:nth-child(1) input[name=instrument]", "BTC-PERPETUAL")
    pg.fill("#whatif-form tbody tr:nth-child(1) input[name=quantity]", "5")
    pg.click("#whatif-submit")
    pg.wait_for_selector("#whatif-result")
    cells = pg.eval_on_selector_all(
        "#whatif-result tbody tr:first-child td", "c => c.map(e => e.textContent)"
    )
    api = httpx.post(
        f"{base_url}/v1/accounts/naked-short-call/whatif",
        json={"trades": [{"instrument": "BTC-PERPETUAL", "quantity": 5}]},
        headers={"Authorization": f"Bearer {demo.tokens['a']}"},
    ).json()
    before, after = api["before"]["results"][0], api["after"]["results"][0]
    assert cells[0].startswith(before["currency"])
    assert float(cells[1].replace(",", "")) == pytest.approx(before["initial_margin"], rel=1e-5)
    assert float(cells[2].replace(",", "")) == pytest.approx(after["initial_margin"], rel=1e-5)
    assert float(cells[5].replace(",", "")) == pytest.approx(after["maintenance_margin"], rel=1e-5)
    assert pg.input_value("#whatif-form tbody tr:nth-child(1) input[name=quantity]") == "5"

    # a bad trade is explained on the page
    pg.fill("#whatif-form tbody tr:nth-child(1) input[name=instrument]", "NOT-AN-INSTRUMENT")
    pg.click("#whatif-submit")
    assert "NOT-AN-INSTRUMENT" in pg.inner_text("#whatif-error")

    # the called account's page: state, open call, ratios IM/E and MM/E
    pg.goto(f"{base_url}/accounts/{CALLED}")
    assert pg.inner_text("#lifecycle-state") == "margin call"
    assert float(pg.inner_text("#mm-ratio")) == pytest.approx(1 / 1.05, rel=1e-3)
    assert float(pg.inner_text("#im-ratio")) > 1
    shown = pg.inner_text("#open-call .call-amount").removesuffix(" USD")
    assert float(shown.replace(",", "")) == pytest.approx(call["amount_usd"])
    assert pg.inner_text("#open-call .call-deadline").strip() != ""

    # the key of A cannot open B: 404, as the API
    for other in OTHERS:
        response = pg.goto(f"{base_url}/accounts/{other}")
        assert response is not None
        assert response.status == 404
        assert other in pg.inner_text("#error-message")

    pg.goto(f"{base_url}/snapshot")
    pg.wait_for_selector("#plot-smile-0 .main-svg")
    assert pg.locator("#forwards tbody tr").count() >= 7

    pg.click("#logout")
    pg.wait_for_url(f"{base_url}/login")
    pg.goto(f"{base_url}/accounts/naked-short-call")
    assert pg.url == f"{base_url}/login"

    _only_loopback(requests, base_url)


def test_liquidation_prices_and_a_cascade_run_from_the_dashboard(
    page: tuple[Any, list[str]], base_url: str, demo: Demo
) -> None:
    pg, requests = page
    _log_in(pg, base_url, demo.tokens["admin"])
    # the list shows each account's nearest liquidation price, as the API solves it
    headers = {"Authorization": f"Bearer {demo.tokens['admin']}"}
    account = OTHERS[0]
    api = httpx.get(f"{base_url}/v1/accounts/{account}/liqprice", headers=headers, timeout=60)
    assert api.status_code == 200, api.text
    sides = [api.json()[k] for k in ("down", "up")]
    reachable = [s for s in sides if s is not None and s["reachable"]]
    nearest = min(reachable, key=lambda s: abs(s["distance_pct"]))
    shown = pg.locator(f"tr[data-account='{account}'] .liq-price").inner_text()
    assert float(shown.replace(",", "")) == pytest.approx(nearest["prices"]["BTC"], rel=1e-4)

    pg.click("#nav-cascade")
    pg.wait_for_url(f"{base_url}/cascade")
    pg.fill("input[name='shock:BTC']", "-0.12")
    pg.check("input[name=method][value='standard']")
    pg.fill("input[name=depth]", "2000000")
    pg.click("#cascade-run")
    pg.wait_for_selector("#plot-cascade .main-svg")
    labels = pg.eval_on_selector_all("#cascade-metrics thead th", "c => c.map(e => e.textContent)")
    assert len(labels) == 3  # metric, the flat rates, standard
    liquidated = pg.eval_on_selector_all(
        "#cascade-metrics tr[data-metric=accounts_liquidated] td",
        "c => c.map(e => e.textContent)",
    )
    assert liquidated[1:] != ["0", "0"]
    traces = pg.locator("#plot-cascade .scatterlayer .trace, #plot-cascade .barlayer .trace")
    assert traces.count() >= 4  # price move and liquidated notional of each method
    assert pg.locator("#set-aside li").count() >= 8  # the demo's option accounts
    _only_loopback(requests, base_url)
