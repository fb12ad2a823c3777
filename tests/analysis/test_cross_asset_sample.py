"""The cross-asset sample book: BTC calls against an ETH perpetual of the same USD delta."""

from __future__ import annotations

import pytest

from portmargin.analysis import cross_asset_portfolio
from portmargin.core import MarketDataError
from portmargin.data import demo_market_paths
from portmargin.instruments import Option, Perpetual
from portmargin.io import load_markets
from portmargin.market import MarketSnapshot
from portmargin.risk import Book, build_risk_array, prepare_book
from portmargin.scenarios import Scenario, ScenarioSet


def test_btc_calls_hedged_with_the_eth_perpetual_of_the_same_usd_delta() -> None:
    market = load_markets(list(demo_market_paths())).snapshot
    book = cross_asset_portfolio(market)
    assert book.account == "btc-calls-vs-eth-perp"
    calls, perp = book.positions
    assert isinstance(calls.instrument, Option)
    assert calls.instrument.is_call
    assert calls.quantity == 5.0
    assert isinstance(perp.instrument, Perpetual)
    assert perp.instrument.name == "ETH-PERPETUAL"
    prepared = prepare_book(Book.from_portfolios([book]), market)
    assert not prepared.errors
    ra = build_risk_array(prepared.table, ScenarioSet(name="b", scenarios=(Scenario(label="b"),)))
    usd = {
        str(u): float(q * d) * market.index(str(u))
        for u, q, d in zip(
            prepared.table.underlying,
            prepared.book.quantities.toarray()[0],
            ra.delta,
            strict=True,
        )
    }
    assert usd["ETH"] == pytest.approx(-usd["BTC"], abs=0.05 * market.index("ETH"))
    assert usd["BTC"] > 0


def test_a_market_without_the_hedge_underlying_is_refused(demo_snapshot: MarketSnapshot) -> None:
    with pytest.raises(MarketDataError, match="ETH"):
        cross_asset_portfolio(demo_snapshot)
