"""Hand-built linear (USDC-settled) markets, instruments and books shared by method tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from portmargin.instruments import Future, Instrument, Option, OptionType, Perpetual, Settlement
from portmargin.market import MarketSnapshot, VolSmile
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

VALUATION_MS = 1_767_225_600_000
"""2026-01-01 00:00 UTC."""
DAY_MS = 86_400_000


def expiry_ms(days: float) -> int:
    """Epoch ms ``days`` after the valuation time."""
    return VALUATION_MS + round(days * DAY_MS)


def perp(asset: str = "BTC", quote: str = "USDC") -> Perpetual:
    """Linear perpetual of ``asset`` settled in ``quote``."""
    return Perpetual(underlying=asset, quote=quote, settlement=Settlement.LINEAR)


def linear_future(days: float, asset: str = "BTC", quote: str = "USDC") -> Future:
    """Linear dated future expiring ``days`` after valuation."""
    return Future(
        underlying=asset, quote=quote, settlement=Settlement.LINEAR, expiry_ms=expiry_ms(days)
    )


def option(days: float, strike: float, call: bool = True, asset: str = "BTC") -> Option:
    """Linear USDC European option expiring ``days`` after valuation."""
    return Option(
        underlying=asset,
        quote="USDC",
        settlement=Settlement.LINEAR,
        option_type=OptionType.CALL if call else OptionType.PUT,
        strike=strike,
        expiry_ms=expiry_ms(days),
    )


def market(
    spots: Mapping[str, float] | None = None,
    days: Sequence[float] = (30.0,),
    vol: float = 0.5,
) -> MarketSnapshot:
    """Flat-vol market with forwards equal to spot (zero rates) for each expiry.

    A model market without venue quotes: every option is priced from its smiles
    (``allow_unlisted``).
    """
    spots = {"BTC": 70_000.0} if spots is None else dict(spots)
    forwards = {(a, expiry_ms(d)): s for a, s in spots.items() for d in days}
    smiles = {
        (a, expiry_ms(d)): VolSmile(
            expiry_ms=expiry_ms(d),
            forward=s,
            strikes=np.array([s * 0.5, s, s * 2.0]),
            vols=np.full(3, vol),
        )
        for a, s in spots.items()
        for d in days
    }
    return MarketSnapshot(
        valuation_ms=VALUATION_MS,
        index_prices=spots,
        forwards=forwards,
        smiles=smiles,
        allow_unlisted=True,
    )


def book(accounts: Mapping[str, Sequence[tuple[Instrument, float]]]) -> Book:
    """Book from ``{account: [(instrument, quantity), ...]}`` (repeats are summed)."""
    return Book.from_portfolios(
        [
            Portfolio.from_positions(
                name, [Position(instrument=i, quantity=q) for i, q in positions]
            )
            for name, positions in accounts.items()
        ]
    )
