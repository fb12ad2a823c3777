"""Market snapshots moved along a direction: every price of an underlying scaled together."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from portmargin.core import ValidationError, year_fraction
from portmargin.instruments import Settlement
from portmargin.market import FutureQuote, MarketSnapshot, OptionQuote
from portmargin.pricing import black76

__all__ = ["moved_market"]


def moved_market(market: MarketSnapshot, moves: Mapping[str, float]) -> MarketSnapshot:
    """``market`` with every price of each underlying in ``moves`` multiplied by ``1 + x``.

    Sticky strike, no time decay: the index, every listed forward, the venue marks and top of
    book of futures and perpetuals move by the factor; smiles keep their strikes and vols
    (the vol of a strike is unchanged) around the moved forward. Option quotes are moved
    consistently: their underlying and index prices scale, and their mark (and best bid and
    ask) change by the Black-76 value change at the quote's own mark vol, so a move of 0
    returns the same numbers. Underlyings not in ``moves`` (and stablecoins) do not move.

    Parameters
    ----------
    market
        The snapshot to move.
    moves
        Underlying → relative move ``x`` (fraction, ``-0.1`` = 10 % down), ``x > -1``.

    Raises
    ------
    ValidationError
        If an underlying has no index price in ``market`` or a move is not finite and > -1.
    """
    factors: dict[str, float] = {}
    for underlying, x in moves.items():
        if underlying not in market.index_prices:
            raise ValidationError(
                "moves", underlying, f"an underlying of the snapshot {sorted(market.index_prices)}"
            )
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x <= -1:
            raise ValidationError(f"moves[{underlying!r}]", x, "a finite relative move > -1")
        if x != 0:
            factors[underlying] = 1.0 + float(x)
    if not factors:
        return market
    index = {u: p * factors.get(u, 1.0) for u, p in market.index_prices.items()}
    forwards = {k: f * factors.get(k[0], 1.0) for k, f in market.forwards.items()}
    smiles = {
        k: s if k[0] not in factors else dataclasses.replace(s, forward=forwards[k])
        for k, s in market.smiles.items()
    }
    futures = {n: _moved_future(q, factors) for n, q in market.futures.items()}
    quotes = _moved_options(market.quotes, factors, market.valuation_ms)
    text = ",".join(f"{u}:{factors[u] - 1.0:+.10g}" for u in sorted(factors))
    return dataclasses.replace(
        market,
        index_prices=index,
        forwards=forwards,
        smiles=smiles,
        futures=futures,
        quotes=quotes,
        metadata={**market.metadata, "moved": text},
    )


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _moved_future(quote: FutureQuote, factors: Mapping[str, float]) -> FutureQuote:
    factor = factors.get(quote.instrument.underlying)
    if factor is None:
        return quote
    return dataclasses.replace(
        quote,
        mark_price=quote.mark_price * factor,
        best_bid=_scaled(quote.best_bid, factor),
        best_ask=_scaled(quote.best_ask, factor),
    )


def _moved_options(
    quotes: Mapping[str, OptionQuote], factors: Mapping[str, float], valuation_ms: int
) -> dict[str, OptionQuote]:
    """Every option quote moved: the Black-76 values before and after, at each quote's mark
    vol, in one vectorised call; quotes of underlyings that do not move are kept."""
    moving = [(n, q) for n, q in quotes.items() if q.instrument.underlying in factors]
    out = dict(quotes)
    if not moving:
        return out
    inst = [q.instrument for _, q in moving]
    u0 = np.array([q.underlying_price for _, q in moving])
    u1 = u0 * np.array([factors[i.underlying] for i in inst])
    strike = np.array([i.strike for i in inst])
    tau = year_fraction(valuation_ms, np.array([i.expiry_ms for i in inst], dtype=np.int64))
    vol = np.array([q.mark_iv for _, q in moving])
    call = np.array([i.is_call for i in inst], dtype=bool)
    before, after = black76.price(
        np.concatenate([u0, u1]),
        *(np.tile(a, 2) for a in (strike, tau, vol, call)),
        allow_expired=True,
    ).reshape(2, -1)
    change = (after - before).tolist()  # USD per coin
    for k, (name, quote) in enumerate(moving):
        out[name] = _moved_option(quote, float(u1[k]), change[k], factors[inst[k].underlying])
    return out


def _moved_option(quote: OptionQuote, u1: float, change: float, factor: float) -> OptionQuote:
    u0 = quote.underlying_price
    inverse = quote.instrument.settlement is Settlement.INVERSE

    def moved(price: float | None) -> float | None:
        if price is None:
            return None
        usd = price * u0 if inverse else price
        new = (usd + change) / u1 if inverse else usd + change
        return new if new > 0 else None

    mark = moved(quote.mark_price)
    return quote.with_prices(
        mark_price=mark if mark is not None else 0.0,
        underlying_price=u1,
        index_price=_scaled(quote.index_price, factor),
        best_bid=moved(quote.best_bid),
        best_ask=moved(quote.best_ask),
    )
