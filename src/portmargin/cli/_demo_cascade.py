"""The cascade part of ``portmargin demo``: a seeded population of leveraged BTC and ETH
perpetual accounts on the bundled market, a crash, and the margin-call feedback loop under a
flat, a static high and a volatility-responsive margin, side by side with a chart."""

from __future__ import annotations

import html

from rich.table import Table

from portmargin.cli._common import stdout
from portmargin.core import ms_to_datetime
from portmargin.io.cascade_plot import cascade_figure, metric_text
from portmargin.io.figures import figure_div_html
from portmargin.io.params import load_lifecycle_params
from portmargin.io.report import ReportSection, table_html
from portmargin.lifecycle import (
    CascadeMarket,
    CascadeParams,
    EwmaRates,
    LinearImpact,
    Margining,
    NotionalRates,
    PopulationKind,
    compare_cascades,
    ewma_daily_vol,
    synthetic_positions,
)
from portmargin.market import MarketSnapshot

__all__ = ["cascade_sections"]

ACCOUNTS = 2_000
"""Accounts of the demo population."""
SEED = 7
SHOCK = {"BTC": -0.10, "ETH": -0.12}
DEPTH_1PCT_USD = {"BTC": 100_000_000.0, "ETH": 40_000_000.0}
"""USD of net selling that moves each price by 1 % (linear impact)."""
FUND_USD = 2_000_000.0


def _methods(market: MarketSnapshot) -> list[Margining]:
    underlyings = ("BTC", "ETH")
    if market.history is None:
        raise ValueError("the demo market carries the bundled daily history")
    as_of = ms_to_datetime(market.valuation_ms).date().isoformat()
    sigma = {u: ewma_daily_vol(market.history, u, as_of) for u in underlyings}
    return [
        NotionalRates(
            mm_rates=dict.fromkeys(underlyings, 0.04), im_rates=dict.fromkeys(underlyings, 0.05)
        ),
        NotionalRates(
            mm_rates=dict.fromkeys(underlyings, 0.12), im_rates=dict.fromkeys(underlyings, 0.15)
        ),
        EwmaRates(
            sigma0=sigma,
            reference={u: market.index(u) for u in underlyings},
            multiplier=3.0,
            floor=0.08,
            cap=0.40,
        ),
    ]


def cascade_sections(market: MarketSnapshot) -> list[ReportSection]:
    """Run the demo cascade, print its metrics and return the report section."""
    prices = {u: market.index(u) for u in ("BTC", "ETH")}
    book, cushions = synthetic_positions(ACCOUNTS, SEED, prices=prices)
    params = CascadeParams.from_lifecycle(load_lifecycle_params(), shock=SHOCK, fund_usd=FUND_USD)
    impact = CascadeMarket(
        impact={u: LinearImpact(depth_1pct_usd=d) for u, d in DEPTH_1PCT_USD.items()}
    )
    comparison = compare_cascades(
        book,
        market,
        _methods(market),
        params,
        impact,
        population=PopulationKind.MAX_LEVERAGE,
        cushion=cushions,
    )
    names = [f"{chr(ord('A') + k)}: {r.margining}" for k, r in enumerate(comparison.results)]
    rows = [
        [key, *(metric_text(v, key == "final_move") for v in values)]
        for key, values in comparison.table()
    ]
    table = Table(
        title=f"Liquidation cascade: {ACCOUNTS:,} leveraged perpetual accounts, "
        "BTC -10 %, ETH -12 %",
        title_justify="left",
    )
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
    note = (
        f"A seeded population of {ACCOUNTS:,} accounts holding BTC and ETH USDC perpetuals, "
        "each depositing its cushion times the method's IM at the snapshot (max-leverage "
        "population). After the shock, each round margins every surviving account at the "
        "round's price, closes those below MM, sells their net flow with linear impact "
        "(100M USD per 1 % for BTC, 40M for ETH), nets penalties and deficits into a "
        "2M USD insurance fund and moves the price, until no account is below MM. "
        "A: flat 4 % / 5 %; B: static 12 % / 15 %; C: MM clip(3 sigma, 8 %, 40 %) with the "
        "EWMA daily vol updated by the move, IM 1.25 x MM at the snapshot."
    )
    return [
        ReportSection(
            title="Liquidation cascade (margin-call feedback loop)",
            body_html=figure_div_html(cascade_figure(comparison.results), "cascade")
            + table_html(["metric", *names], rows)
            + f"<p class='note'>{html.escape(note)}</p>",
        )
    ]
