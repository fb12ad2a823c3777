"""``portmargin demo``: the main job on bundled data."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portmargin.analysis import cross_asset_portfolio, reprice_chain, summarise_chain
from portmargin.cli._common import stdout, with_history
from portmargin.cli._demo_cascade import cascade_sections
from portmargin.cli._demo_hedge import hedge_sections
from portmargin.cli._demo_margin import margin_sections
from portmargin.cli._demo_risk import risk_sections
from portmargin.core import ms_to_datetime
from portmargin.data import demo_chain_path, demo_market_paths
from portmargin.instruments import format_expiry
from portmargin.io import load_markets
from portmargin.io.deribit import load_snapshot
from portmargin.io.report import ReportSection, smile_figure_html, summary_table_html, write_report

__all__ = ["demo"]


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the HTML report.")] = Path(
        "portmargin-report"
    ),
) -> None:
    """Bundled Deribit BTC chain: reprice it, margin sample books under every method (on the
    chain merged with the bundled ETH market and the bundled daily history), show the scenario
    P&L of the cross-asset and a short-tail book over FHS scenarios, suggest a hedge for the
    market-maker book, run a liquidation cascade under three margin models, report."""
    load = load_snapshot(demo_chain_path())
    snap = with_history(load.snapshot, None)
    rows = reprice_chain(snap.quotes.values())
    summary = summarise_chain(rows)
    when = ms_to_datetime(snap.valuation_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
    stdout.print(f"[bold]Deribit BTC option chain[/bold], valuation time {when}")
    stdout.print(
        f"{len(snap.quotes)} options loaded, {len(load.excluded)} rows excluded, "
        f"BTC index {snap.index('BTC'):,.2f} USD"
    )
    table = Table(title="Forwards and at-the-money vols per expiry", title_justify="left")
    for col in ("expiry", "days", "forward (USD)", "basis", "ATM vol", "options"):
        table.add_column(col, justify="left" if col == "expiry" else "right")
    per_expiry: dict[int, int] = {}
    for q in snap.quotes.values():
        per_expiry[q.instrument.expiry_ms] = per_expiry.get(q.instrument.expiry_ms, 0) + 1
    for expiry in snap.expiries("BTC"):
        fwd = snap.forward("BTC", expiry)
        atm = float(snap.vol("BTC", expiry, [fwd])[0])
        table.add_row(
            format_expiry(expiry),
            f"{snap.year_fraction(expiry) * 365:.2f}",
            f"{fwd:,.2f}",
            f"{fwd / snap.index('BTC') - 1:+.3%}",
            f"{atm:.1%}",
            str(per_expiry.get(expiry, 0)),
        )
    stdout.print(table)
    stdout.print(
        f"Black-76 repricing vs venue marks: median |diff| {summary.median_abs_error:.2e} BTC, "
        f"95th percentile {summary.p95_abs_error:.2e} BTC, "
        f"median |delta diff| {summary.median_delta_error:.2e}"
    )
    market = with_history(load_markets(demo_market_paths()).snapshot, None)
    sections = [
        *margin_sections(market),
        *hedge_sections(market),
        *cascade_sections(market),
        *risk_sections(market, cross_asset_portfolio(market)),
    ]
    report = write_report(
        out / "index.html",
        "portmargin demo: Deribit BTC options, 2020-05-21",
        [
            ReportSection(
                title="Chain repricing (Black-76 on each row's forward and mark IV)",
                body_html=summary_table_html(summary)
                + f"<p class='note'>Valuation time {html.escape(when)}. Errors in BTC.</p>",
            ),
            ReportSection(title="Volatility smiles", body_html=smile_figure_html(snap, "BTC")),
            *sections,
        ],
    )
    stdout.print(f"report written to {report}")
    stdout.print(
        "dashboard: run `portmargin serve --demo` (the demo accounts in a fresh embedded store) "
        "and open http://127.0.0.1:8000/ with the API key it prints"
    )
