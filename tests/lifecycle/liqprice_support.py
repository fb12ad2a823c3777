"""Books and markets for the liquidation price tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from portmargin.instruments import parse_instrument
from portmargin.lifecycle import Holdings, NotionalRates
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

VALUATION_MS = 1_637_712_000_000
"""2021-11-24 00:00 UTC."""


def linear_market(prices: dict[str, float]) -> MarketSnapshot:
    """Index prices only: perpetuals are marked at the index."""
    return MarketSnapshot(valuation_ms=VALUATION_MS, index_prices=prices)


def rates(mm: dict[str, float]) -> NotionalRates:
    """MM at ``mm`` of notional, IM 1.25 times it."""
    return NotionalRates(mm_rates=mm, im_rates={u: 1.25 * r for u, r in mm.items()})


def holdings(
    accounts: Sequence[tuple[str, Sequence[tuple[str, float, float]]]], market: MarketSnapshot
) -> Holdings:
    """Accounts of ``(instrument name, quantity, entry price or NaN)`` positions."""
    portfolios = [
        Portfolio(
            account=a,
            positions=tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q, _ in ps),
        )
        for a, ps in accounts
    ]
    book = Book.from_portfolios(portfolios)
    entry_of = {(a, n): e for a, ps in accounts for n, _, e in ps}
    q = book.quantities
    rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
    entry = np.array(
        [
            entry_of[book.accounts[r], book.instruments[c].name]
            for r, c in zip(rows.tolist(), q.indices.tolist(), strict=True)
        ]
    )
    return Holdings.from_entries(book, entry, market)


def example_10_1() -> list[tuple[str, float, float]]:
    """The account of ``lifecycle.md`` §10.1 entered at 50,000 / 4,000."""
    nan = float("nan")
    return [
        ("USDC", 30_000.0, nan),
        ("BTC", 1.0, nan),
        ("BTC_USDC-PERPETUAL", 4.0, 50_000.0),
        ("ETH_USDC-PERPETUAL", 30.0, 4_000.0),
    ]
