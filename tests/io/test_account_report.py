"""The account report: scenario grids per method, page names, index order, offline pages."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.analysis import compute_margin, linear_twin, sample_portfolios
from portmargin.core import ValidationError
from portmargin.io._account_grids import _layout, grids
from portmargin.io.params import load_params
from portmargin.io.report import (
    AccountReport,
    ScenarioGrid,
    safe_page_names,
    scenario_grid_html,
    write_account_report,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio
from portmargin.risk import Book

REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*['\"]?(https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def books(demo_snapshot: MarketSnapshot) -> tuple[Portfolio, ...]:
    coin = sample_portfolios(demo_snapshot)
    return (*coin, *(linear_twin(b) for b in coin))


def _run(method: str, books: tuple[Portfolio, ...], snap: MarketSnapshot) -> AccountReport:
    m = get_method(method)
    pack = load_params(m)
    batch = compute_margin(m, books, snap, pack)
    return AccountReport(batch=batch, portfolios=books, market=snap, params=pack)


def _run_without_equity(
    method: str, books: tuple[Portfolio, ...], snap: MarketSnapshot
) -> AccountReport:
    """A batch straight from the method's ``compute``: no equity valued."""
    m = get_method(method)
    pack = load_params(m)
    batch = m.compute(Book.from_portfolios(books), snap, pack)
    return AccountReport(batch=batch, portfolios=books, market=snap, params=pack)


def _index_accounts(index: str) -> list[str]:
    """Account cells of the index table, in display order."""
    return re.findall(r"<tr><td>\d+</td><td class='l'>(?:<a href='[^']*'>)?([^<]*)", index)


NO_GRID = {"var"}
"""Methods without a scenario grid in the report (var scenarios are dates, not a grid)."""


@pytest.mark.parametrize("method", [m for m in method_names() if m not in NO_GRID])
def test_every_worst_scenario_is_marked_on_the_methods_grid(
    method: str, books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot
) -> None:
    report = _run(method, books, demo_snapshot)
    batch = report.batch
    laid_out = grids(batch, books, demo_snapshot, report.params)
    assert laid_out is not None
    rows = batch.rows_by_account()
    computed = [pf.account for pf in books if pf.account not in batch.errors]
    assert computed
    for account in computed:
        account_grids = laid_out[account]
        assert account_grids, account
        for g in account_grids:
            assert g.pnl.shape == (len(g.y), len(g.x))
            assert np.any(np.isfinite(g.pnl))
        marked = [g.labels[g.worst] for g in account_grids if g.worst is not None]
        assert len(marked) <= len(rows[account])
        if method == "standard":
            # no scenario in standard margin: the grid's own largest loss is marked
            for g in account_grids:
                if g.worst is not None:
                    assert g.pnl[g.worst] == np.nanmin(g.pnl) < 0
            continue
        assert batch.worst_scenario is not None
        expected = {str(batch.worst_scenario[i]) for i in rows[account] if batch.worst_scenario[i]}
        if method == "deribit-pm":
            # labels differ in number format only: compare the cells' moves and vol slots
            assert len(marked) == len(expected), account
        else:
            assert set(marked) == expected, account


def test_deribit_grid_is_the_aggregated_risk_vector(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot
) -> None:
    report = _run("deribit-pm", books, demo_snapshot)
    batch = report.batch
    laid_out = grids(batch, books, demo_snapshot, report.params)
    assert laid_out is not None
    for i in range(len(batch)):
        account = str(batch.account[i])
        worst_case = float(batch.components["risk_matrix_margin/worst_case"][i])
        values = np.concatenate([g.pnl.ravel() for g in laid_out[account]])
        # worst_case is the largest loss of the aggregated vector, rounded to 9 decimals
        assert max(0.0, -float(np.nanmin(values))) == pytest.approx(worst_case, abs=1e-8)
        if worst_case > 0:
            (g,) = [g for g in laid_out[account] if g.worst is not None]
            assert -g.pnl[g.worst] == pytest.approx(worst_case, abs=1e-8)


def test_method_without_grid_says_so(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run("standard", books[:2], demo_snapshot)
    custom = replace(report, batch=replace(report.batch, method="my-method"))
    assert grids(custom.batch, custom.portfolios, demo_snapshot, custom.params) is None
    index = write_account_report(custom, tmp_path)
    pages = list((tmp_path / "accounts").glob("*.html"))
    assert len(pages) == 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "exposes no scenario grid" in text
        assert "Plotly.newPlot" not in text
    assert index.is_file()


@pytest.mark.parametrize("method", [m for m in method_names() if m not in NO_GRID])
def test_report_files_offline_and_ordered_by_initial_margin(
    method: str, books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run_without_equity(method, books, demo_snapshot)
    index = write_account_report(report, tmp_path)
    assert index == tmp_path / "index.html"
    text = index.read_text(encoding="utf-8")
    computed = [pf.account for pf in books if pf.account not in report.batch.errors]
    shown = _index_accounts(text)
    assert sorted(shown) == sorted(computed)
    im = {a: 0.0 for a in computed}
    for i in range(len(report.batch)):
        ccy = str(report.batch.currency[i])
        rate = 1.0 if ccy in ("USD", "USDC", "USDT") else demo_snapshot.index(ccy)
        im[str(report.batch.account[i])] += float(report.batch.initial_margin[i]) * rate
    ordered = [im[a] for a in shown]
    assert ordered == sorted(ordered, reverse=True)
    for account, reason in report.batch.errors.items():
        assert account in text
        assert reason[:40] in text
    assert "excess (USD)" in text
    assert "n/a" in text
    pages = sorted((tmp_path / "accounts").glob("*.html"))
    assert len(pages) == len(computed)
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    for page in [index, *pages]:
        html_text = page.read_text(encoding="utf-8")
        assert not REMOTE_SCRIPT.search(html_text), page
        assert "cdn." not in html_text
    for page in pages:
        html_text = page.read_text(encoding="utf-8")
        assert "<script src='../plotly.min.js'></script>" in html_text
        assert html_text.count("Plotly.newPlot") >= 1
        assert "worst scenario" in html_text
        assert "n/a (no equity given)" in html_text
    marked = sum(p.read_text(encoding="utf-8").count('"name": "worst scenario"') for p in pages)
    assert marked >= 1


def test_with_equity_accounts_are_ranked_by_excess(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run("paradex-pm", books, demo_snapshot)  # one USD row per account
    batch = report.batch
    equity = np.linspace(40_000.0, 2_000.0, len(batch))
    funds = replace(
        batch,
        equity=equity,
        excess=equity - batch.initial_margin,
        margin_ratio=batch.maintenance_margin / equity,
    )
    wrapped = replace(report, batch=funds)
    text = write_account_report(wrapped, tmp_path).read_text(encoding="utf-8")
    excess = {
        str(a): float(e - im)
        for a, e, im in zip(batch.account, equity, batch.initial_margin, strict=True)
    }
    shown = _index_accounts(text)
    assert [excess[a] for a in shown] == sorted(excess.values())
    assert "lowest first" in text
    worst = shown[0]
    page = (tmp_path / "accounts" / safe_page_names([worst])[worst]).read_text(encoding="utf-8")
    assert f"{excess[worst]:,.2f}" in page or f"{excess[worst]:.6g}" in page
    assert "no equity given" not in page


def test_pages_are_capped_and_the_rest_counted(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run("okx-pm", books, demo_snapshot)
    text = write_account_report(report, tmp_path, pages=3).read_text(encoding="utf-8")
    pages = list((tmp_path / "accounts").glob("*.html"))
    assert len(pages) == 3
    assert f"{len(books) - 3} account(s) have no page" in text
    linked = re.findall(r"<a href='accounts/([^']+)'>", text)
    assert sorted(linked) == sorted(p.name for p in pages)
    assert _index_accounts(text)[:3] == [
        next(a for a, n in safe_page_names(_index_accounts(text)).items() if n == name)
        for name in linked
    ]
    assert len(_index_accounts(text)) == len(books)


def test_no_page_at_all(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run("standard", books[:2], demo_snapshot)
    text = write_account_report(report, tmp_path, pages=0).read_text(encoding="utf-8")
    assert not list((tmp_path / "accounts").glob("*.html"))
    assert not (tmp_path / "plotly.min.js").exists()
    assert "2 account(s) have no page" in text


@pytest.mark.parametrize("pages", [-1, 1.5, True])
def test_bad_page_count(
    pages: Any, books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    report = _run("standard", books[:1], demo_snapshot)
    with pytest.raises(ValidationError, match="pages"):
        write_account_report(report, tmp_path, pages=pages)


def test_weird_names_are_escaped(demo_snapshot: MarketSnapshot, tmp_path: Path) -> None:
    (book,) = sample_portfolios(demo_snapshot)[:1]
    name = "<script>alert(1)</script> & ../x"
    pf = Portfolio(account=name, positions=book.positions)
    report = _run("deribit-pm", (pf,), demo_snapshot)
    text = write_account_report(report, tmp_path).read_text(encoding="utf-8")
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; ../x" in text
    (page,) = (tmp_path / "accounts").glob("*.html")
    assert page.parent == tmp_path / "accounts"
    assert "<script>alert" not in page.read_text(encoding="utf-8")


def test_grid_html_marks_the_worst_cell() -> None:
    grid = ScenarioGrid(
        title="t",
        currency="USD",
        x_title="spot",
        y_title="vol",
        x=("-1%", "+1%"),
        y=("up", "down"),
        pnl=np.array([[1.0, -2.0], [np.nan, 0.5]]),
        labels=np.array([["a", "b"], ["", "d"]], dtype=object),
        worst=(0, 1),
    )
    out = scenario_grid_html(grid, "g0")
    assert "Plotly.newPlot('g0'" in out
    assert '"name": "worst scenario"' in out
    assert '"x0": 0.5, "x1": 1.5, "y0": -0.5, "y1": 0.5' in out
    assert "null" in out  # the empty cell
    assert "worst: b" in out
    with pytest.raises(ValidationError, match="worst"):
        replace(grid, worst=(2, 0))


SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*\.html$")


@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=30, unique=True))
def test_safe_page_names_are_distinct_and_portable(accounts: list[str]) -> None:
    names = safe_page_names(accounts)
    assert set(names) == set(accounts)
    values = list(names.values())
    assert len({v.lower() for v in values}) == len(values)
    for v in values:
        assert SAFE.match(v), v
        assert len(v) <= 80


def test_names_that_sanitise_alike_stay_apart() -> None:
    accounts = ["a b", "a_b", "a/b", "../x", "..", "Ünïcödé 账户", "ABC", "abc"]
    names = safe_page_names(accounts)
    assert len({v.lower() for v in names.values()}) == len(accounts)
    assert names["a b"].startswith("a_b-")
    assert names["a_b"].startswith("a_b-")
    assert names[".."].startswith("account-")
    assert names["../x"].startswith("x-")
    assert safe_page_names(accounts) == names  # same ids, same names


def test_report_inputs_are_checked(
    books: tuple[Portfolio, ...], demo_snapshot: MarketSnapshot
) -> None:
    report = _run("standard", books[:3], demo_snapshot)
    with pytest.raises(ValidationError, match="portfolios"):
        replace(report, portfolios=books[1:3])
    with pytest.raises(ValidationError, match="one portfolio per account"):
        replace(report, portfolios=(*books[:3], books[0]))


def test_scenarios_sharing_a_cell_are_laid_out_in_one_row() -> None:
    layout = _layout([0.1, 0.1, -0.1], ["+10%", "+10%", "-10%"], ["up", "up", "up"], ["up"])
    assert layout.y == ("",)
    assert layout.x == ("+10% up", "+10% up", "-10% up")
    z, text = layout.fill(np.array([1.0, 2.0, 3.0]), ["a", "b", "c"])
    assert z.tolist() == [[1.0, 2.0, 3.0]]
    assert text.tolist() == [["a", "b", "c"]]
    grid = _layout([0.1, -0.1, 0.1], ["+10%", "-10%", "+10%"], ["up", "up", "down"], ["up", "down"])
    assert grid.x == ("-10%", "+10%")
    assert grid.y == ("up", "down")
    z, _ = grid.fill(np.array([1.0, 2.0, 3.0]), ["a", "b", "c"])
    assert np.array_equal(z, [[2.0, 1.0], [np.nan, 3.0]], equal_nan=True)
