"""Market snapshots under a stress scenario: spot, basis, implied-vol and horizon moves."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from portmargin.core import MS_PER_DAY, year_fraction
from portmargin.instruments import Future, Instrument, Perpetual, Settlement
from portmargin.market import FutureQuote, MarketSnapshot, OptionQuote
from portmargin.pricing import black76
from portmargin.risk._moved import moved_market
from portmargin.scenarios import StressScenario

__all__ = ["stressed_market"]


def stressed_market(
    market: MarketSnapshot, scenario: StressScenario, instruments: Sequence[Instrument] = ()
) -> MarketSnapshot:
    """``market`` as it stands at the end of ``scenario`` (``stress-and-dynamics.md`` A.1).

    1. Spot: every price of an underlying with a ``spot_shock`` ``s`` moves by ``1 + s``
       (index, forwards, future and perpetual marks, option quotes;
       :func:`~portmargin.risk.moved_market`: sticky strike).
    2. Basis: futures and perpetuals of an underlying with a ``basis_shock`` ``b`` move by a
       further ``1 + b`` against the index, and so do the listed forwards (the futures curve
       from which unquoted futures and options are priced); the index, spot pairs and coin
       balances do not. A perpetual without a venue quote is marked at the index: those
       among ``instruments`` get a quote at the stressed index times ``1 + b``.
    3. Vol: the smile of each expiry of an underlying is multiplied by
       ``scenario.vol_multipliers(u, DTE)``, ``DTE`` = days to expiry at ``market``'s
       valuation time (the term law ``M(DTE)``, floored at 0.2 and capped).
    4. Horizon: valuation time moves forward by ``horizon_days`` (ACT/365 time to expiry
       ``T`` becomes ``max(T - horizon / 365, 0)``). Expiries at or before the new time are
       dropped with their forwards, smiles and quotes: options past expiry are then valued
       at intrinsic on the (shocked) index wherever the engine admits them
       (:func:`~portmargin.risk.with_expired_at_intrinsic`), futures past expiry settle
       against the index (``portmargin.lifecycle`` settles both into cash).

    Option quotes stay consistent: ``mark_iv`` (and the bid and ask vols) take the multiplier
    of their expiry, and the mark, bid and ask change by the Black-76 value change from the
    old forward, vol and time to the new ones. Underlyings the scenario does not name, and
    names ``market`` does not have, are left alone. ``collateral_shock`` is not a market
    price (stablecoins are valued at 1); equity applies it (``portmargin.lifecycle``).

    Parameters
    ----------
    market
        The snapshot now.
    scenario
        The stress scenario.
    instruments
        Instruments that will be priced at the stressed market (e.g. a book's columns);
        only read to mark unquoted perpetuals under a basis shock.

    Returns
    -------
    MarketSnapshot
        A new snapshot (``metadata["stress"]`` = the scenario id); ``market`` if the scenario
        moves nothing.
    """
    have = market.index_prices
    spot = {u: x for u, x in scenario.spot_shock.items() if u in have and x != 0}
    basis = {u: b for u, b in scenario.basis_shock.items() if u in have and b != 0}
    total = {u: (1.0 + spot.get(u, 0.0)) * (1.0 + basis.get(u, 0.0)) - 1.0 for u in {*spot, *basis}}
    moved = moved_market(market, total)
    if basis:
        moved = _index_unmoved_by_basis(market, moved, spot, basis, instruments)
    horizon_ms = round(scenario.horizon_days * MS_PER_DAY)
    vol_moved = any(scenario.vol_multiplier.get(u, 1.0) != 1.0 for u in have)
    if horizon_ms == 0 and not vol_moved:
        return _tagged(moved, scenario) if moved is not market else market
    now, then = market.valuation_ms, market.valuation_ms + horizon_ms
    factor = {
        key: float(scenario.vol_multipliers(key[0], (key[1] - now) / MS_PER_DAY))
        for key in moved.smiles
    }
    smiles = {
        key: dataclasses.replace(smile, vols=smile.vols * factor[key])
        for key, smile in moved.smiles.items()
        if key[1] > then
    }
    forwards = {key: f for key, f in moved.forwards.items() if key[1] > then}
    futures = {
        name: q
        for name, q in moved.futures.items()
        if not (isinstance(q.instrument, Future) and q.instrument.expiry_ms <= then)
    }
    quotes = {
        name: _repriced(q, scenario, now, then)
        for name, q in moved.quotes.items()
        if q.instrument.expiry_ms > then
    }
    stressed = dataclasses.replace(
        moved,
        valuation_ms=then,
        forwards=forwards,
        smiles=smiles,
        futures=futures,
        quotes=quotes,
    )
    return _tagged(stressed, scenario)


def _tagged(market: MarketSnapshot, scenario: StressScenario) -> MarketSnapshot:
    meta = {**market.metadata, "stress": scenario.id, "horizon_days": f"{scenario.horizon_days:g}"}
    return dataclasses.replace(market, metadata=meta)


def _index_unmoved_by_basis(
    market: MarketSnapshot,
    moved: MarketSnapshot,
    spot: dict[str, float],
    basis: dict[str, float],
    instruments: Sequence[Instrument],
) -> MarketSnapshot:
    """``moved`` (every price moved by spot and basis) with the index of the underlyings in
    ``basis`` moved by the spot shock only (also on option quotes), and a quote at the
    moved index times ``1 + basis`` for each unquoted perpetual of ``instruments``."""
    index = {
        u: p * (1.0 + spot.get(u, 0.0)) if u in basis else moved.index_prices[u]
        for u, p in market.index_prices.items()
    }
    quotes = {}
    for name, q in moved.quotes.items():
        u = q.instrument.underlying
        before = market.quotes[name].index_price
        if u in basis and before is not None:
            q = dataclasses.replace(q, index_price=before * (1.0 + spot.get(u, 0.0)))
        quotes[name] = q
    futures = dict(moved.futures)
    for inst in instruments:
        if isinstance(inst, Perpetual) and inst.underlying in basis and inst.name not in futures:
            futures[inst.name] = FutureQuote(
                instrument_name=inst.name,
                instrument=inst,
                timestamp_ms=market.valuation_ms,
                mark_price=index[inst.underlying] * (1.0 + basis[inst.underlying]),
            )
    return dataclasses.replace(moved, index_prices=index, quotes=quotes, futures=futures)


def _repriced(quote: OptionQuote, scenario: StressScenario, now: int, then: int) -> OptionQuote:
    """``quote`` with its vols multiplied for its expiry and its prices moved by the Black-76
    value change from (vol, time to expiry) at ``now`` to the stressed vol at ``then``."""
    inst = quote.instrument
    m = float(scenario.vol_multipliers(inst.underlying, (inst.expiry_ms - now) / MS_PER_DAY))
    if m == 1.0 and then == now:
        return quote
    u = quote.underlying_price
    tau0, tau1 = (float(year_fraction(t, inst.expiry_ms)) for t in (now, then))
    before = float(black76.price(u, inst.strike, tau0, quote.mark_iv, inst.is_call))
    after = float(black76.price(u, inst.strike, tau1, quote.mark_iv * m, inst.is_call))
    change = after - before  # USD per coin
    inverse = inst.settlement is Settlement.INVERSE

    def moved(price: float | None) -> float | None:
        if price is None:
            return None
        new = (price * u + change) / u if inverse else price + change
        return new if new > 0 else None

    mark = moved(quote.mark_price)

    def scaled(iv: float | None) -> float | None:
        return None if iv is None else iv * m

    return dataclasses.replace(
        quote,
        mark_price=mark if mark is not None else 0.0,
        mark_iv=quote.mark_iv * m,
        best_bid=moved(quote.best_bid),
        best_ask=moved(quote.best_ask),
        bid_iv=scaled(quote.bid_iv),
        ask_iv=scaled(quote.ask_iv),
    )
