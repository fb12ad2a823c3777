"""The margin part of ``portmargin demo``: sample books under every registered method."""

from __future__ import annotations

import html

import numpy as np
from rich.table import Table

from portmargin.analysis import (
    compare_methods,
    compute_margin,
    cross_asset_portfolio,
    linear_twin,
    risk_matrix,
    sample_portfolios,
)
from portmargin.cli._common import stdout
from portmargin.cli._demo_risk import short_put_portfolio
from portmargin.cli._margin import comparison_cells, error_notes
from portmargin.io.params import load_params
from portmargin.io.report import (
    ReportSection,
    margin_bars_html,
    risk_matrix_html,
    span_active_scenarios,
    span_statement_html,
    table_html,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio

__all__ = ["margin_sections"]

SPOT_GRID = np.round(np.linspace(-0.30, 0.30, 13), 4)
VOL_GRID = np.array([-0.4, -0.25, 0.0, 0.25, 0.5, 1.0])


def margin_sections(snap: MarketSnapshot) -> list[ReportSection]:
    """Print the side-by-side margin table and return the report sections for it.

    The BTC sample books and their USDC twins, short far out-of-the-money BTC puts
    (``short-otm-puts``), plus the cross-asset book (BTC calls against an
    ETH perpetual) when ``snap`` has an ETH index.
    """
    coin_books = sample_portfolios(snap)
    books = [*coin_books, *(linear_twin(b) for b in coin_books)]
    books.append(short_put_portfolio(snap))
    cross = cross_asset_portfolio(snap) if "ETH" in snap.index_prices else None
    if cross is not None:
        books.append(cross)
    runs = {}
    for name in method_names():
        method = get_method(name)
        runs[name] = (method, load_params(method))
    rows = compare_methods(runs, books, snap)
    table = Table(
        title="Initial margin of sample portfolios (USD at index; saving vs standard)",
        title_justify="left",
    )
    table.add_column("portfolio")
    for name in runs:
        table.add_column(name, justify="right")
    cells_html = []
    for c in rows:
        cells = comparison_cells(c, ",.0f")
        table.add_row(c.account, *cells)
        cells_html.append([c.account, *cells])
    stdout.print(table)
    notes = error_notes(rows)
    for line in notes:
        stdout.print(line, markup=False, soft_wrap=True)
    bars = {
        name: [next(r.initial_margin_usd for r in c.runs if r.method == name) for c in rows]
        for name in runs
    }
    errors = [[c.account, r.method, r.error] for c in rows for r in c.runs if r.error is not None]
    sections = [
        ReportSection(
            title="Margin by method (USD at index)",
            body_html=table_html(["portfolio", *runs], cells_html)
            + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
            + "<p class='note'>(USDC) books: the same positions in linear USDC-settled "
            "contracts priced on the same forwards and smiles; a coin balance becomes a long "
            "linear perpetual. short-otm-puts: short 10 BTC puts struck near 65 % of the "
            "forward, about a month out. btc-calls-vs-eth-perp: long BTC calls hedged with a "
            "short ETH perpetual of the same USD delta; the ETH marks are derived from the BTC "
            "basis (bundled data README).</p>"
            + margin_bars_html([c.account for c in rows], bars, "Initial margin by method"),
        )
    ]
    if errors:
        sections.append(
            ReportSection(
                title="Books a method cannot margin (n/a above), with its reason",
                body_html=table_html(["portfolio", "method", "reason"], errors),
            )
        )
    heatmaps = "".join(
        risk_matrix_html(risk_matrix(pf, snap, SPOT_GRID, VOL_GRID), pf.account)
        for pf in coin_books
    )
    sections.append(ReportSection(title="Risk matrices (spot × vol shock)", body_html=heatmaps))
    if cross is not None and "span" in runs:
        sections.append(span_section(cross, snap, runs["span"][1]))
    return sections


def span_section(book: Portfolio, snap: MarketSnapshot, params: object) -> ReportSection:
    """The ``span`` clearing statement of ``book`` (the error text if span cannot margin it)."""
    batch = compute_margin(get_method("span"), [book], snap, params)
    title = f"SPAN statement: {book.account} (parameters {batch.params_version})"
    if book.account in batch.errors:
        text = html.escape(batch.errors[book.account])
        return ReportSection(title=title, body_html=f"<p>span cannot margin this book: {text}</p>")
    active = span_active_scenarios([book], snap, params).get(book.account, {})  # type: ignore[arg-type]
    body = "".join(span_statement_html(batch, i, active) for i in batch.rows_of(book.account))
    return ReportSection(
        title=title,
        body_html=body
        + "<p class='note'>The inter-commodity credit is where the BTC/ETH correlation shows: "
        "the BTC delta of the calls and the short ETH perpetual form spreads at the pack's "
        "ratio and earn a share of the weighted price risk back.</p>",
    )
