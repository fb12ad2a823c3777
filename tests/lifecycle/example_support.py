"""The market, rate method and account of ``lifecycle.md`` §10.1, shared by the lifecycle
tests, and a helper building holdings from ``(instrument, quantity)`` lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from portmargin.instruments import parse_instrument
from portmargin.lifecycle import Holdings, NotionalRates
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

MARKET = MarketSnapshot(
    valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
)
"""BTC 50,000 and ETH 4,000 (2021-11-24), no options."""
RATES = NotionalRates(mm_rates={"BTC": 0.10, "ETH": 0.15}, im_rates={"BTC": 0.125, "ETH": 0.1875})
"""The example's method: MM 10 % of BTC and 15 % of ETH perpetual notional, IM 1.25 x MM."""
EXAMPLE = (
    ("USDC", 30_000.0),
    ("BTC", 1.0),
    ("BTC_USDC-PERPETUAL", 4.0),
    ("ETH_USDC-PERPETUAL", 30.0),
)
"""Account ``A`` of §10.1: 30,000 USDC, 1 BTC, long 4 BTC and 30 ETH linear perpetuals."""


def holdings_of(
    accounts: Mapping[str, Sequence[tuple[str, float]]], market: MarketSnapshot = MARKET
) -> Holdings:
    """Holdings of accounts given as ``(instrument name, quantity)`` lists (repeats summed),
    settled at ``market``'s marks."""
    book = Book.from_portfolios(
        [
            Portfolio.from_positions(
                a, [Position(instrument=parse_instrument(n), quantity=q) for n, q in held]
            )
            for a, held in accounts.items()
        ]
    )
    return Holdings.settled(book, market)


def example_holdings() -> Holdings:
    """Account ``A`` of §10.1 at 50,000 / 4,000."""
    return holdings_of({"A": EXAMPLE})
