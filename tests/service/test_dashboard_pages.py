"""Dashboard pages in process: templates carry the numbers of known results, log-in keeps the
key in an HttpOnly SameSite=Strict cookie, pages of other keys' accounts are 404, static
files come from this server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_support import OTHERS, OWN, Demo, demo_app
from fastapi.testclient import TestClient

from portmargin.analysis import Comparison, MethodRun
from portmargin.instruments import format_expiry
from portmargin.io.figures import components_figure, method_margins_figure
from portmargin.results import MarginComponent, MarginResult
from portmargin.service import AccountMargin, WhatIfMargin
from portmargin.service import _dashboard as dashboard
from portmargin.service._dashboard import _environment, plotly_js_path
from portmargin.service._dashboard_account import AccountPage, whatif_rows


def _result(account: str, im: float, mm: float, equity: float) -> MarginResult:
    return MarginResult(
        account=account,
        method="deribit-pm",
        currency="BTC",
        initial_margin=im,
        maintenance_margin=mm,
        components=(
            MarginComponent(
                name="worst_case",
                amount=im,
                currency="BTC",
                source="scenario -16% vol up",
                children=(MarginComponent(name="options", amount=im, currency="BTC"),),
            ),
        ),
        worst_scenario="-16% vol up",
        equity=equity,
        excess=equity - im,
        margin_ratio=mm / equity,
    )


def _margin(results: tuple[MarginResult, ...]) -> AccountMargin:
    return AccountMargin(
        account="acc",
        method="deribit-pm",
        params_version="2024-06",
        snapshot_id=1,
        computed_ms=0,
        results=results,
        notes=(),
    )


def test_whatif_rows_pair_before_and_after() -> None:
    change = WhatIfMargin(
        before=_margin((_result("acc", 1.25, 1.0, 3.0),)),
        after=_margin((_result("acc", 2.5, 2.0, 3.0),)),
        change_im={"BTC": 1.25},
        change_mm={"BTC": 1.0},
    )
    (row,) = whatif_rows(change)
    assert row.name == "BTC"
    assert (row.im_before, row.im_after, row.im_change) == (1.25, 2.5, 1.25)
    assert (row.mm_before, row.mm_after, row.mm_change) == (1.0, 2.0, 1.0)


def test_account_template_shows_the_result_numbers() -> None:
    result = _result("acc <b>", 1234.5678, 987.25, 2000.0)
    comparison = Comparison(
        account="acc <b>",
        baseline="standard",
        runs=(
            MethodRun(method="standard", initial_margin_usd=5e6, maintenance_margin_usd=4e6),
            MethodRun(method="deribit-pm", initial_margin_usd=1.1e6, maintenance_margin_usd=9e5),
        ),
    )
    page = AccountPage(
        account="acc <b>",
        method="deribit-pm",
        params_version="2024-06",
        snapshot_label="chain",
        valuation_ms=1_590_103_355_277,
        status="healthy",
        row_status=("healthy",),
        state=None,
        results=(result,),
        error=None,
        components_figure=components_figure([result]),
        grid_figures=None,
        comparison=comparison,
        methods_figure=method_margins_figure(comparison),
        history_figures=[],
        positions=(),
        instruments=("BTC-PERPETUAL",),
        notes=(),
        whatif_rows=(("BTC-PERPETUAL", "2"), ("", "")),
    )
    html = (
        _environment()
        .get_template("account.html")
        .render(
            page=page,
            whatif=None,
            whatif_error=None,
            liq=None,
            liq_error="not solved",
            plots=True,
            page_url=lambda p: p,
            static_url=lambda n: "/static/" + n,
            account_url=lambda a: "/accounts/x",
            key_id="k",
        )
    )
    assert "acc &lt;b&gt;" in html
    assert "<b>" not in html
    assert "1,234.57" in html  # IM
    assert "987.25" in html  # MM
    assert "765.432" in html  # excess 2000 - 1234.5678
    assert "-16% vol up" in html
    assert "The method deribit-pm exposes no scenario grid" in html
    assert "2020-05-21 23:22:35" in html
    figures = {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(
            r'<script type="application/json" id="figure-([\w-]+)">(.*?)</script>', html
        )
    }
    assert set(figures) == {"components", "methods"}
    assert figures["methods"]["data"][0]["y"] == [5e6, 1.1e6]
    assert figures["components"]["data"][0]["x"] == [1234.5678, 1234.5678]
    assert 'value="BTC-PERPETUAL"' in html


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    db = tmp_path_factory.mktemp("store") / "pages.db"
    return demo_app(f"sqlite:///{db}")


@pytest.fixture(scope="module")
def client(demo: Demo) -> Iterator[TestClient]:
    with TestClient(demo.app) as c:
        yield c


def _log_in(client: TestClient, token: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"api_key": token}, follow_redirects=False)
    assert r.status_code == 303


def test_log_in_sets_a_strict_http_only_cookie(client: TestClient, demo: Demo) -> None:
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    bad = client.post("/login", data={"api_key": "pm_nope"}, follow_redirects=False)
    assert bad.status_code == 401
    assert "set-cookie" not in bad.headers
    r = client.post("/login", data={"api_key": demo.tokens["a"]}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert 'portmargin_key=""' in out.headers["set-cookie"]


def test_pages_show_only_the_keys_accounts(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["a"])
    listing = client.get("/")
    assert listing.status_code == 200
    shown = set(re.findall(r'data-account="([^"]+)"', listing.text))
    assert shown == set(OWN)
    assert "script-src 'self'" in listing.headers["content-security-policy"]
    for account in (*OWN, *OTHERS):
        r = client.get(f"/accounts/{account}")
        assert r.status_code == (200 if account in OWN else 404), account
        whatif = client.post(
            f"/accounts/{account}", data={"instrument": ["BTC-PERPETUAL"], "quantity": ["1"]}
        )
        assert whatif.status_code == (200 if account in OWN else 404), account
    assert client.get("/accounts/nobody").status_code == 404
    _log_in(client, demo.tokens["admin"])
    shown = set(re.findall(r'data-account="([^"]+)"', client.get("/").text))
    assert shown == set(demo.accounts)


def test_list_sorts_by_excess(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["admin"])

    def excess(order: str) -> list[float]:
        text = client.get(f"/?order={order}").text
        rows = re.findall(r'<tr data-account="[^"]+">(.*?)</tr>', text, re.S)
        cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[6].strip() for r in rows]
        assert "n/a" not in cells[: len(cells) - cells.count("n/a")]  # not computed: last
        return [float(c.replace(",", "")) for c in cells if c != "n/a"]

    up, down = excess("asc"), excess("desc")
    assert up == sorted(up)
    assert down == sorted(down, reverse=True)
    assert len(up) >= len(demo.accounts) - 1


def test_whatif_form_matches_the_api(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["a"])
    form = {"instrument": ["BTC-PERPETUAL", ""], "quantity": ["-3", ""]}
    page = client.post("/accounts/covered-call", data=form)
    assert page.status_code == 200
    api = client.post(
        "/v1/accounts/covered-call/whatif",
        json={"trades": [{"instrument": "BTC-PERPETUAL", "quantity": -3}]},
        headers={"Authorization": f"Bearer {demo.tokens['a']}"},
    ).json()
    table = page.text.split('id="whatif-result"')[1].split("</table>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)
    after = api["after"]["results"][0]["initial_margin"]
    assert float(cells[2].replace(",", "")) == pytest.approx(after, rel=1e-5)
    bad = client.post("/accounts/covered-call", data={"instrument": ["X"], "quantity": ["abc"]})
    assert "row 1" in bad.text
    assert 'id="whatif-error"' in bad.text


def test_cross_site_posts_are_refused(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["a"])
    r = client.post(
        "/accounts/covered-call",
        data={"instrument": ["BTC-PERPETUAL"], "quantity": ["1"]},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert r.status_code == 403


def test_plotly_is_served_from_the_installed_package(client: TestClient) -> None:
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200
    assert r.content == Path(plotly_js_path()).read_bytes()
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/static/../_dashboard.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_snapshot_page_lists_forwards_and_smiles(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["b"])
    r = client.get("/snapshot")
    assert r.status_code == 200
    assert r.text.count('<tr><td class="l">BTC</td>') == 7
    assert 'id="figure-smile-0"' in r.text


def test_a_revoked_key_is_logged_out(client: TestClient, demo: Demo) -> None:
    store = demo.app.state.services.store
    with store.begin() as tx:
        key, token = tx.create_key(scopes=["read"], accounts=OWN, label="soon revoked")
    _log_in(client, token)
    assert client.get("/", follow_redirects=False).status_code == 200
    with store.begin() as tx:
        tx.revoke_key(key.key_id)
    r = client.get("/accounts/covered-call", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_forwards_table_has_the_snapshot_forwards(client: TestClient, demo: Demo) -> None:
    _log_in(client, demo.tokens["a"])
    _, market = demo.app.state.services.desk.market()
    text = client.get("/snapshot").text.split('id="forwards"')[1]
    row = r'<tr><td class="l">(\w+)</td><td class="l">(\w+)</td>(.*?)</tr>'
    rows = re.findall(row, text, re.S)
    cells = {(u, e): re.findall(r"<td>(.*?)</td>", rest) for u, e, rest in rows}
    expiry = market.expiries("BTC")[0]
    days, index, forward, _ = cells[("BTC", format_expiry(expiry))]
    assert float(forward.replace(",", "")) == pytest.approx(market.forward("BTC", expiry), abs=0.01)
    assert float(index.replace(",", "")) == pytest.approx(market.index("BTC"), abs=0.01)
    assert float(days) == pytest.approx(market.year_fraction(expiry) * 365, abs=0.01)


def test_long_lists_are_cut_and_say_so(
    client: TestClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "LIST_ROWS", 3)
    _log_in(client, demo.tokens["admin"])
    text = client.get("/").text
    assert len(re.findall(r'<tr data-account="', text)) == 3
    assert f"{len(demo.accounts)} account(s);" in text
    assert "the first 3 in this order are shown" in text
