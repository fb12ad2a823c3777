"""Realistic sample portfolios on a market snapshot, and a spot × vol risk matrix of a book."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError
from portmargin.instruments import (
    Currency,
    Instrument,
    Option,
    OptionType,
    Perpetual,
    Settlement,
)
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import (
    STABLECOINS,
    Book,
    Kind,
    build_risk_array,
    prepare_book,
    scenario_pnl,
)
from portmargin.scenarios import Scenario, ScenarioSet

__all__ = [
    "RiskMatrix",
    "cross_asset_portfolio",
    "linear_twin",
    "risk_matrix",
    "sample_portfolios",
]


def _listed(market: MarketSnapshot, underlying: str) -> list[Option]:
    return sorted(
        (q.instrument for q in market.quotes.values() if q.instrument.underlying == underlying),
        key=lambda o: (o.expiry_ms, o.strike, o.is_call),
    )


def _pick(options: list[Option], expiry: int, strike: float, kind: OptionType) -> Option:
    same = [o for o in options if o.expiry_ms == expiry and o.option_type is kind]
    if not same:
        raise MarketDataError(f"no listed {kind.value} for expiry {expiry}")
    return min(same, key=lambda o: (abs(o.strike - strike), o.strike))


def sample_portfolios(
    market: MarketSnapshot, underlying: str = "BTC", seed: int = 7
) -> list[Portfolio]:
    """Seven typical books on the listed options of ``market`` (quantities in coins).

    ``naked-short-call`` (10 % OTM, ~1 month), ``covered-call`` (that call against a coin
    balance), ``short-strangle``, ``calendar-spread`` (ATM call, short near, long far),
    ``risk-reversal-hedged`` (long OTM call, short OTM put, delta hedged with the perpetual),
    ``box`` (call and put spreads), ``market-maker`` (about 200 options across the chain,
    seeded, roughly delta hedged with the perpetual).
    """
    opts = _listed(market, underlying)
    expiries = market.expiries(underlying)
    if len(expiries) < 2 or not opts:
        raise MarketDataError(f"{underlying}: sample books need at least two listed expiries")
    days = np.array([market.year_fraction(e) * 365 for e in expiries])
    month = expiries[int(np.argmin(np.abs(days - 30)))]
    later = [e for e in expiries if e > month]
    far = later[-1] if later else expiries[-1]
    near = expiries[int(np.argmin(np.abs(days - 7)))]
    f = market.forward(underlying, month)
    call, put = OptionType.CALL, OptionType.PUT
    perp = Perpetual(underlying=underlying, contract_size=10.0)
    coin = Currency(code=underlying)

    def p(inst: Instrument, q: float) -> Position:
        return Position(instrument=inst, quantity=q)

    otm_call = _pick(opts, month, f * 1.10, call)
    books = {
        "naked-short-call": [p(otm_call, -5.0)],
        "covered-call": [p(otm_call, -5.0), p(coin, 5.0)],
        "short-strangle": [p(otm_call, -5.0), p(_pick(opts, month, f * 0.90, put), -5.0)],
        "calendar-spread": [
            p(_pick(opts, near, f, call), -5.0),
            p(_pick(opts, far, f, call), 5.0),
        ],
        "risk-reversal-hedged": [
            p(otm_call, 5.0),
            p(_pick(opts, month, f * 0.90, put), -5.0),
            p(perp, -3.0),
        ],
        "box": [
            p(_pick(opts, month, f * 0.9, call), 2.0),
            p(_pick(opts, month, f * 1.1, call), -2.0),
            p(_pick(opts, month, f * 0.9, put), -2.0),
            p(_pick(opts, month, f * 1.1, put), 2.0),
        ],
    }
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(opts), size=min(200, len(opts)), replace=False)
    mm = [p(opts[i], float(np.round(rng.normal(0, 2.0), 1) or 0.1)) for i in sorted(chosen)]
    table_delta = _book_delta(mm, market)
    mm.append(p(perp, -round(table_delta, 1)))
    books["market-maker"] = mm
    return [Portfolio.from_positions(name, ps) for name, ps in books.items()]


def cross_asset_portfolio(
    market: MarketSnapshot, underlying: str = "BTC", hedge: str = "ETH"
) -> Portfolio:
    """``btc-calls-vs-eth-perp``: a cross-asset book on a market of two underlyings.

    Long 5 at-the-money calls of ``underlying`` (the listed expiry nearest 30 days, quantity in
    coins), hedged by a short ``hedge`` perpetual (contract size 1 coin) of the same USD delta
    at the index: ``-round(delta * S_underlying / S_hedge, 1)`` coins of ``hedge``. The hedge
    works only as far as the two prices move together, so a method that offsets correlated
    underlyings margins it below the sum of its legs. The account is named
    ``"{underlying}-calls-vs-{hedge}-perp"`` in lower case.

    Raises
    ------
    MarketDataError
        If ``market`` has no listed option expiry of ``underlying`` or no index of ``hedge``.
    """
    opts = _listed(market, underlying)
    expiries = market.expiries(underlying)
    if not opts or not expiries:
        raise MarketDataError(f"{underlying}: a cross-asset sample needs listed options")
    days = np.array([market.year_fraction(e) * 365 for e in expiries])
    month = expiries[int(np.argmin(np.abs(days - 30)))]
    call = _pick(opts, month, market.forward(underlying, month), OptionType.CALL)
    calls = [Position(instrument=call, quantity=5.0)]
    usd_delta = _book_delta(calls, market) * market.index(underlying)
    perp = Perpetual(underlying=hedge)
    short = -round(usd_delta / market.index(hedge), 1)
    return Portfolio.from_positions(
        f"{underlying}-calls-vs-{hedge}-perp".lower(),
        [*calls, Position(instrument=perp, quantity=short)],
    )


def _book_delta(positions: list[Position], market: MarketSnapshot) -> float:
    book = Book.from_portfolios([Portfolio.from_positions("x", positions)])
    prepared = prepare_book(book, market)
    flat = ScenarioSet(name="base", scenarios=(Scenario(label="base"),))
    ra = build_risk_array(prepared.table, flat)
    return float((prepared.book.quantities @ ra.delta)[0])


def linear_twin(portfolio: Portfolio, quote: str = "USDC", suffix: str = " (USDC)") -> Portfolio:
    """The same book in linear, ``quote``-settled contracts on the same forwards and smiles.

    Inverse options and perpetuals become their linear twins (``BTC-26JUN20-9000-C`` →
    ``BTC_USDC-26JUN20-9000-C``, ``BTC-PERPETUAL`` → ``BTC_USDC-PERPETUAL``) with the same
    quantity in coins; a coin balance becomes a long linear perpetual of the same size (its
    USD exposure); everything else is kept. The account is renamed with ``suffix``.
    """
    positions = []
    for pos in portfolio.positions:
        inst = pos.instrument
        if isinstance(inst, Option | Perpetual) and inst.settlement is Settlement.INVERSE:
            inst = replace(inst, quote=quote, settlement=Settlement.LINEAR, contract_size=1.0)
        elif isinstance(inst, Currency) and inst.code not in STABLECOINS:
            inst = Perpetual(underlying=inst.code, quote=quote, settlement=Settlement.LINEAR)
        positions.append(Position(instrument=inst, quantity=pos.quantity))
    return Portfolio.from_positions(portfolio.account + suffix, positions)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskMatrix:
    """Scenario P&L of one portfolio on a spot × vol grid, per settlement currency.

    Attributes
    ----------
    spot_shocks
        Relative spot moves, shape ``(n_spot,)``.
    vol_shocks
        Relative vol moves, shape ``(n_vol,)``.
    pnl
        Settlement currency → P&L, shape ``(n_vol, n_spot)`` (> 0 gain); currency balances
        are left out (they have no P&L in their own currency).
    """

    spot_shocks: NDArray[np.float64]
    vol_shocks: NDArray[np.float64]
    pnl: dict[str, NDArray[np.float64]]


def risk_matrix(
    portfolio: Portfolio,
    market: MarketSnapshot,
    spot_shocks: NDArray[np.float64],
    vol_shocks: NDArray[np.float64],
) -> RiskMatrix:
    """P&L of ``portfolio`` on the full grid of relative spot and vol shocks (flat vol law).

    Raises
    ------
    MarketDataError
        If an instrument of the portfolio has no market data.
    """
    book = Book.from_portfolios([portfolio])
    prepared = prepare_book(book, market)
    if prepared.errors:
        raise MarketDataError(next(iter(prepared.errors.values())))
    grid = ScenarioSet(
        name="grid",
        scenarios=tuple(
            Scenario(label=f"{m:+.0%} spot, {v:+.0%} vol", spot_shock=float(m), vol_shock=float(v))
            for v in vol_shocks
            for m in spot_shocks
        ),
    )
    ra = build_risk_array(prepared.table, grid)
    out: dict[str, NDArray[np.float64]] = {}
    ccys = prepared.table.settlement_currency
    for ccy in sorted(set(ccys.tolist())):
        cols = np.flatnonzero((ccys == ccy) & (prepared.table.kind != Kind.CURRENCY))
        if cols.size == 0:
            continue
        pnl = scenario_pnl(prepared.book, cols, ra.pnl[cols])[0]
        out[str(ccy)] = pnl.reshape(len(vol_shocks), len(spot_shocks))
    return RiskMatrix(spot_shocks=spot_shocks, vol_shocks=vol_shocks, pnl=out)
