"""Paradex cross margin: worked examples of specs/standard-margin.md section 2."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from portmargin.instruments import Option, OptionType, Perpetual, Settlement
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot, OptionQuote, VolSmile
from portmargin.methods.standard import (
    StandardMargin,
    StandardParams,
    paradex_net_imr,
    paradex_open_sizes,
)
from portmargin.risk import Book

METHOD = StandardMargin()
VALUATION_MS = 1_700_000_000_000
EXPIRY_MS = VALUATION_MS + 30 * 86_400_000


def _params() -> StandardParams:
    params = load_params(METHOD, "standard/paradex-cross-2026")
    assert isinstance(params, StandardParams)
    return params


def _option(coin: str, kind: OptionType, strike: float) -> Option:
    return Option(
        underlying=coin,
        quote="USDC",
        settlement=Settlement.LINEAR,
        option_type=kind,
        strike=strike,
        expiry_ms=EXPIRY_MS,
    )


def _market(spot: float = 100.0, quotes: tuple[OptionQuote, ...] = ()) -> MarketSnapshot:
    smile = VolSmile(
        expiry_ms=EXPIRY_MS, forward=spot, strikes=np.array([spot]), vols=np.array([0.6])
    )
    return MarketSnapshot(
        valuation_ms=VALUATION_MS,
        index_prices={"BTC": spot, "DOGE": 0.1},
        forwards={("BTC", EXPIRY_MS): spot},
        smiles={("BTC", EXPIRY_MS): smile},
        quotes={q.instrument_name: q for q in quotes},
        allow_unlisted=True,
    )


def _quote(option: Option, mark: float) -> OptionQuote:
    return OptionQuote(
        instrument_name=option.name,
        instrument=option,
        timestamp_ms=VALUATION_MS,
        mark_price=mark,
        mark_iv=0.6,
        underlying_price=100.0,
        underlying_index="BTC",
    )


def _single(option: Option, quantity: float, market: MarketSnapshot) -> tuple[float, float]:
    book = Book.from_arrays(["acct"], [option], np.array([0]), np.array([0]), np.array([quantity]))
    batch = METHOD.compute(book, market, _params())
    assert list(batch.currency) == ["USD"]
    return float(batch.initial_margin[0]), float(batch.maintenance_margin[0])


def test_short_call() -> None:
    assert _single(_option("BTC", OptionType.CALL, 106.0), -1.0, _market()) == pytest.approx(
        (10.0, 5.0)
    )


def test_short_put_cap() -> None:
    """Deep OTM put K = 15: uncapped IMR 10 / MMR 5, caps 7.5 / 3.75 bind."""
    assert _single(_option("BTC", OptionType.PUT, 15.0), -2.0, _market()) == pytest.approx(
        (15.0, 7.5)
    )


def test_long_call_premium() -> None:
    call = _option("BTC", OptionType.CALL, 106.0)
    im, mm = _single(call, 1.0, _market(quotes=(_quote(call, 3.0),)))
    assert (im, mm) == pytest.approx((3.0, 1.5))


def test_long_call_capped_by_long_itm() -> None:
    call = _option("BTC", OptionType.CALL, 50.0)
    im, mm = _single(call, 1.0, _market(quotes=(_quote(call, 50.5),)))
    assert (im, mm) == pytest.approx((20.0, 10.0))


def test_perpetual_mmr_and_imr_without_orders() -> None:
    """Short 1 BTC perp at mark 90,000, IMF 2 %: MMR 900 USD (DERIVED), IMR 1,800 USD."""
    perp = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
    market = MarketSnapshot(valuation_ms=VALUATION_MS, index_prices={"BTC": 90_000.0})
    book = Book.from_arrays(["acct"], [perp], np.array([0]), np.array([0]), np.array([-1.0]))
    batch = METHOD.compute(book, market, _params())
    assert batch.maintenance_margin[0] == pytest.approx(900.0)
    assert batch.initial_margin[0] == pytest.approx(1_800.0)


def test_net_imr_with_open_orders() -> None:
    """DOC: short 1, buy orders 3, sell orders 2 → open sizes 2 / 3, Net IMR 5,400 USD."""
    buy, sell = paradex_open_sizes(-1.0, 3.0, 2.0)
    assert (float(buy), float(sell)) == (2.0, 3.0)
    assert float(paradex_net_imr(-1.0, 3.0, 2.0, 0.02, 90_000.0)) == pytest.approx(5_400.0)


def test_fee_provision() -> None:
    params = dataclasses.replace(_params(), taker_fee_rate=0.0003)
    perp = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
    market = MarketSnapshot(valuation_ms=VALUATION_MS, index_prices={"BTC": 90_000.0})
    book = Book.from_arrays(["acct"], [perp], np.array([0]), np.array([0]), np.array([2.0]))
    batch = METHOD.compute(book, market, params)
    fee = 0.0003 * 2 * 90_000.0
    assert batch.components["maintenance_margin/fee_provision"][0] == pytest.approx(fee)
    assert batch.maintenance_margin[0] == pytest.approx(1_800.0 + fee)
    assert batch.initial_margin[0] == pytest.approx(3_600.0 + fee)


def test_option_without_table_is_an_account_error() -> None:
    doge = _option("DOGE", OptionType.CALL, 0.2)
    btc = _option("BTC", OptionType.CALL, 106.0)
    smile = VolSmile(
        expiry_ms=EXPIRY_MS, forward=0.1, strikes=np.array([0.1]), vols=np.array([0.9])
    )
    base = _market()
    market = dataclasses.replace(
        base,
        forwards={**base.forwards, ("DOGE", EXPIRY_MS): 0.1},
        smiles={**base.smiles, ("DOGE", EXPIRY_MS): smile},
    )
    book = Book.from_arrays(
        ["bad", "good"], [doge, btc], np.array([0, 0, 1]), np.array([0, 1, 1]), -np.ones(3)
    )
    batch = METHOD.compute(book, market, _params())
    assert list(batch.account) == ["good"]
    assert "DOGE" in batch.errors["bad"]
    assert batch.initial_margin[0] == pytest.approx(10.0)
