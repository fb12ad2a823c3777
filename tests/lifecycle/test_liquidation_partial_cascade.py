"""The partial liquidation engine as the cascade's ``partial`` mode (``lifecycle.md`` §9)."""

from __future__ import annotations

import numpy as np
from cascade_support import CUSHIONS, impact, market, params, positions

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    FixedSlippage,
    Holdings,
    NotionalRates,
    PartialLiquidation,
    account_values,
    max_leverage_population,
    run_cascade,
)
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

PARAMS = load_lifecycle_params()
RATES = NotionalRates(mm_rates={"BTC": 0.10, "ETH": 0.15}, im_rates={"BTC": 0.125, "ETH": 0.1875})
SLIPPAGE = FixedSlippage(rates_by_key={"BTC": 0.002, "ETH": 0.004})


def test_trades_are_the_worked_example_slices() -> None:
    base = MarketSnapshot(
        valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
    )
    held = [
        ("USDC", 30_000.0),
        ("BTC", 1.0),
        ("BTC_USDC-PERPETUAL", 4.0),
        ("ETH_USDC-PERPETUAL", 30.0),
    ]
    positions_ = tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q in held)
    holdings = Holdings.settled(
        Book.from_portfolios([Portfolio(account="A", positions=positions_)]), base
    )
    at = moved_market(base, {"BTC": 42_000 / 50_000 - 1, "ETH": 3_200 / 4_000 - 1})
    values = account_values(holdings, at, PARAMS.collateral)
    mm = RATES.requirements(holdings.book, at).maintenance_margin
    liquidator = PartialLiquidation(params=PARAMS, slippage=SLIPPAGE)
    trades = liquidator.trades(holdings, at, RATES, values.equity, mm).toarray()[0]
    names = [i.name for i in holdings.book.instruments]
    assert liquidator.mode == "partial"
    assert trades[names.index("ETH_USDC-PERPETUAL")] == -30.0
    assert round(trades[names.index("BTC_USDC-PERPETUAL")], 6) == -1.428571
    assert trades[names.index("USDC")] == 0.0
    assert trades[names.index("BTC")] == 0.0


def test_partial_mode_liquidates_less_than_full_close() -> None:
    flat = NotionalRates(mm_rates={"BTC": 0.04}, im_rates={"BTC": 0.05})
    population = max_leverage_population(positions(), market(), flat, CUSHIONS).holdings
    full = run_cascade(population, market(), flat, params(-0.1), impact())
    partial = run_cascade(
        population,
        market(),
        flat,
        params(-0.1),
        impact(),
        PartialLiquidation(params=PARAMS, slippage=FixedSlippage(rates_by_key={}, default=0.001)),
    )
    assert partial.mode == "partial"
    assert partial.liquidated_notional < full.liquidated_notional
    assert partial.final_price["BTC"] > full.final_price["BTC"]
    assert np.isfinite(partial.fund_end)
    assert partial.fund_end >= 0
    assert partial.n_rounds >= 1
