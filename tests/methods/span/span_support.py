"""The market and book of specs/span.md section 11 and helpers shared by the span tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from portmargin.instruments import Future, Instrument, Option, OptionType, Perpetual, Settlement
from portmargin.io.params import read_pack
from portmargin.market import MarketSnapshot, VolSmile
from portmargin.methods import get_method
from portmargin.methods.span import SpanParams, SpanRun, run_span
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

VALUATION_MS = 1_637_740_800_000
"""2021-11-24 08:00 UTC."""
DAY_MS = 86_400_000
DEC, MAR = VALUATION_MS + 30 * DAY_MS, VALUATION_MS + 120 * DAY_MS


def future(asset: str, expiry: int) -> Future:
    return Future(underlying=asset, quote="USDC", settlement=Settlement.LINEAR, expiry_ms=expiry)


def option(asset: str, expiry: int, strike: float, call: bool) -> Option:
    return Option(
        underlying=asset,
        quote="USDC",
        settlement=Settlement.LINEAR,
        option_type=OptionType.CALL if call else OptionType.PUT,
        strike=strike,
        expiry_ms=expiry,
    )


def inverse_perpetual(asset: str = "BTC") -> Perpetual:
    return Perpetual(underlying=asset, settlement=Settlement.INVERSE)


A = future("BTC", DEC)
B = future("BTC", MAR)
C = option("BTC", DEC, 55_000.0, True)
D = option("BTC", DEC, 40_000.0, False)
E = future("ETH", DEC)
G = option("ETH", DEC, 4_400.0, True)
EXAMPLE = ((A, 2.0), (B, -3.0), (C, -4.0), (D, -2.0), (E, 20.0), (G, 10.0))
"""Positions of the worked example, in the order of its table."""


def _smile(expiry: int, forward: float, vols: Mapping[float, float]) -> VolSmile:
    strikes = sorted(vols)
    if len(strikes) == 1:
        k = strikes[0]
        strikes, values = [k * 0.5, k, k * 2.0], [vols[k]] * 3
    else:
        values = [vols[k] for k in strikes]
    return VolSmile(
        expiry_ms=expiry, forward=forward, strikes=np.array(strikes), vols=np.array(values)
    )


def example_market(
    btc_dec_vols: Mapping[float, float] | None = None,
) -> MarketSnapshot:
    """Zero rates, forwards 50,000 (BTC DEC) / 51,000 (BTC MAR) / 4,000 (ETH DEC), the
    example's vols at its strikes (BTC MAR flat 0.80)."""
    vols = {40_000.0: 0.90, 55_000.0: 0.80} if btc_dec_vols is None else btc_dec_vols
    smiles = {
        ("BTC", DEC): _smile(DEC, 50_000.0, vols),
        ("BTC", MAR): _smile(MAR, 51_000.0, {51_000.0: 0.80}),
        ("ETH", DEC): _smile(DEC, 4_000.0, {4_400.0: 0.90}),
    }
    return MarketSnapshot(
        valuation_ms=VALUATION_MS,
        index_prices={"BTC": 50_000.0, "ETH": 4_000.0},
        forwards={k: s.forward for k, s in smiles.items()},
        smiles=smiles,
        allow_unlisted=True,
    )


def book(accounts: Mapping[str, Sequence[tuple[Instrument, float]]]) -> Book:
    return Book.from_portfolios(
        [
            Portfolio.from_positions(n, [Position(instrument=i, quantity=q) for i, q in ps])
            for n, ps in accounts.items()
        ]
    )


def pack(name: str = "span/worked-example", **changes: Any) -> dict[str, Any]:
    """A parsed bundled pack."""
    data = read_pack(name)
    data.update(changes)
    return data


def params(data: Mapping[str, Any] | None = None) -> SpanParams:
    method = get_method("span")
    parsed = method.params_from_mapping(pack() if data is None else data)
    assert isinstance(parsed, SpanParams)
    return parsed


def run(
    accounts: Mapping[str, Sequence[tuple[Instrument, float]]],
    data: Mapping[str, Any] | None = None,
    market: MarketSnapshot | None = None,
) -> SpanRun:
    return run_span(book(accounts), market or example_market(), params(data))
