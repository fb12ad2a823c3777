"""Markets and books every method is run on: the bundled coin-settled chain and a USDC market.

derive-pm2 margins USDC-settled options and perpetuals only and gets a hand-built USDC market
of the same shape (``linear_market_support``); every other method runs on the bundled Deribit
chain (coin-settled options, futures, perpetual).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import linear_market_support as lm
from portmargin.bench._margin import venue_instruments
from portmargin.instruments import Instrument, parse_instrument
from portmargin.market import MarketSnapshot

LINEAR_ONLY = {"derive-pm2"}


@dataclass(frozen=True)
class Universe:
    """A market, the instruments listed on it, and named instruments the tests use."""

    market: MarketSnapshot
    instruments: list[Instrument]
    short_call: Instrument
    unpriced: Instrument
    hedged_book: list[tuple[Instrument, float]]
    collateral: str


def coin_books(snapshot: MarketSnapshot) -> Universe:
    """The bundled BTC chain: listed options, futures and the perpetual; BTC collateral."""
    p = parse_instrument
    return Universe(
        market=snapshot,
        instruments=venue_instruments(snapshot),
        short_call=p("BTC-26JUN20-10000-C"),
        unpriced=p("ETH-26JUN20-200-C"),
        hedged_book=[
            (p("BTC-26JUN20"), 10.0),
            (p("BTC-PERPETUAL"), -10.0),
            (p("BTC-26JUN20-9000-C"), -2.0),
            (p("BTC-26JUN20-9500-C"), 2.0),
        ],
        collateral="BTC",
    )


def usdc_books() -> Universe:
    """A hand-built USDC market (BTC at 70,000) with linear options and a perpetual."""
    days = (7.0, 30.0, 90.0)
    strikes = np.linspace(50_000.0, 90_000.0, 9)
    options = [lm.option(d, k, c) for d in days for k in strikes for c in (True, False)]
    return Universe(
        market=lm.market({"BTC": 70_000.0}, days=days, vol=0.6),
        instruments=[*options, lm.perp("BTC")],
        short_call=lm.option(30.0, 75_000.0),
        unpriced=lm.option(30.0, 3_000.0, asset="ETH"),
        hedged_book=[(lm.option(30.0, 75_000.0), -5.0), (lm.perp("BTC"), 3.0)],
        collateral="USDC",
    )
