"""The hedge part of ``portmargin demo``: suggested trades for the market-maker sample book
under a few methods: the largest IM reduction (one leg and two), and the cheapest trade
cutting IM by a quarter."""

from __future__ import annotations

import html

from rich.table import Table

from portmargin.analysis import (
    HedgeOptions,
    HedgeSuggestion,
    Objective,
    sample_portfolios,
    suggest_hedges,
)
from portmargin.cli._common import stdout
from portmargin.cli._hedge import trade_text
from portmargin.io.params import load_params
from portmargin.io.report import ReportSection, table_html
from portmargin.lifecycle import MethodMargining
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.risk import Book

__all__ = ["hedge_sections"]

METHODS = ("standard", "deribit-pm", "span")
"""Methods the demo hedges the market-maker book under (each a batch run or a few)."""
TWO_LEGS = "deribit-pm"
"""The method the demo also searches a two-leg trade under."""
BOOK = "market-maker"
TARGET_SHARE = 0.75
"""The target run asks for IM at or under this share of the book's IM."""


def hedge_sections(market: MarketSnapshot) -> list[ReportSection]:
    """Print the hedge suggestions for the market-maker book and return the report section."""
    book = Book.from_portfolios([p for p in sample_portfolios(market) if p.account == BOOK])
    rows: list[list[str]] = []
    for name in METHODS:
        method = get_method(name)
        margining = MethodMargining(method=method, params=load_params(method))
        best = suggest_hedges(margining, book, market)
        rows.append(_row(name, "largest IM reduction", best.suggestions[0]))
        if name == TWO_LEGS:
            pair = suggest_hedges(margining, book, market, options=HedgeOptions(legs=2))
            rows.append(_row(name, "largest IM reduction, two legs", pair.suggestions[0]))
        im = best.suggestions[0].im_before_usd
        target = HedgeOptions(objective=Objective.TARGET, target_usd=TARGET_SHARE * im)
        cheapest = suggest_hedges(margining, book, market, options=target).suggestions[0]
        rows.append(_row(name, f"cheapest to IM <= {TARGET_SHARE:.0%}", cheapest))
    header = ["method", "asked", "trade (coins)", "cost USD", "IM before", "IM after"]
    table = Table(
        title=f"Hedge suggestion for the {BOOK} book (USD; IM after recomputed by the engine)",
        title_justify="left",
    )
    for col in header:
        left = col in ("method", "asked", "trade (coins)")
        table.add_column(col, justify="left" if left else "right")
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
    return [
        ReportSection(
            title=f"Hedge suggestion for the {BOOK} book",
            body_html=table_html(header, rows)
            + "<p class='note'>"
            + html.escape(
                "Candidates: the BTC perpetual and the quoted BTC options within 15 % "
                "log-moneyness in the two nearest expiries 2 to 120 days out, each tried at "
                "sizes from 1 % to 150 % of the book's gross notional, both ways, then refined; "
                "every trial is a row of one batch run. A second leg is searched the same way "
                "on the book with the first applied. Cost: premium at the venue mark plus "
                "half the quoted bid/ask spread (1 bp for the perpetual). IM after is the "
                "engine's margin of the book with the trade applied."
            )
            + "</p>",
        )
    ]


def _row(method: str, asked: str, s: HedgeSuggestion) -> list[str]:
    return [
        method,
        asked,
        trade_text(s),
        f"{s.cost_usd:,.0f}" if s.trades else "",
        f"{s.im_before_usd:,.0f}",
        f"{s.im_after_usd:,.0f}",
    ]
