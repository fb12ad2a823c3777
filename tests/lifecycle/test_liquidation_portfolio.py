"""Liquidation with a portfolio method (deribit-pm on the bundled chain) keeps the hedge
legs; instruments without a usable mark are suspended but their MM counts (§6, §11)."""

from __future__ import annotations

import numpy as np

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    FixedSlippage,
    Holdings,
    LiquidationOutcome,
    MethodMargining,
    NotionalRates,
    liquidate,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

PARAMS = load_lifecycle_params()
SLIPPAGE = FixedSlippage(rates_by_key={}, default=0.001)
PERP, FUTURE, CALL = "BTC-PERPETUAL", "BTC-26JUN20", "BTC-26JUN20-12000-C"


def _book(account: str, held: list[tuple[str, float]]) -> Book:
    positions = tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q in held)
    return Book.from_portfolios([Portfolio(account=account, positions=positions)])


def test_portfolio_method_keeps_the_hedge_legs(demo_snapshot: MarketSnapshot) -> None:
    method = get_method("deribit-pm")
    margining = MethodMargining(method=method, params=load_params(method))
    held = [("BTC", 0.25), (PERP, 10.0), (FUTURE, -10.0), (CALL, -5.0)]
    holdings = Holdings.settled(_book("H", held), demo_snapshot)
    # the perp and the future hedge each other: a slice of either raises MM
    mm_now = margining.requirements(holdings.book, demo_snapshot).maintenance_margin[0]
    slice_btc = 20_000.0 / demo_snapshot.index("BTC")
    for leg, q in ((PERP, 10.0 - slice_btc), (FUTURE, -10.0 + slice_btc)):
        moved = [(n, q if n == leg else v) for n, v in held]
        after = margining.requirements(_book("H", moved), demo_snapshot).maintenance_margin[0]
        assert after > mm_now
    run = liquidate(holdings, demo_snapshot, margining, PARAMS, slippage=SLIPPAGE)
    assert run.assessment.state_of("H") is not None
    assert run.steps, "the account must be liquidating"
    assert run.steps[0].instrument == CALL
    calls_left = [s for s in run.steps if s.instrument == CALL]
    hedge = [s for s in run.steps if s.instrument in (PERP, FUTURE)]
    # no hedge leg is unwound before the outright short call is gone
    if hedge:
        assert max(s.step for s in calls_left) < min(s.step for s in hedge)
    assert all(s.maintenance_after < s.maintenance_before for s in run.steps)


def test_unmarked_instrument_is_suspended_but_margined(demo_snapshot: MarketSnapshot) -> None:
    market = demo_snapshot.with_unlisted_allowed()
    unlisted = "BTC-26JUN20-9100-C"  # no quote: priced from the smile, no usable mark
    assert unlisted not in market.quotes
    rates = NotionalRates(mm_rates={"BTC": 0.10}, im_rates={"BTC": 0.125})
    held = [("USDC", 18_000.0), ("BTC_USDC-PERPETUAL", 10.0), (unlisted, -10.0)]
    holdings = Holdings.settled(_book("S", held), market)
    run = liquidate(holdings, market, rates, PARAMS, slippage=SLIPPAGE)
    assert {s.instrument for s in run.steps} == {"BTC_USDC-PERPETUAL"}
    (summary,) = run.accounts
    assert summary.outcome is LiquidationOutcome.UNRESTORED
    option_mm = 0.10 * 10.0 * market.index("BTC")
    assert np.isclose(summary.maintenance_after, option_mm)
    assert summary.equity_after < PARAMS.states.liq_target * summary.maintenance_after
    book = run.holdings.book
    row = book.quantities.toarray()[0]
    names = [i.name for i in book.instruments]
    assert row[names.index(unlisted)] == -10.0
    assert row[names.index("BTC_USDC-PERPETUAL")] == 0.0
    assert not run.bankruptcies
