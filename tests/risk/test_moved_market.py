"""moved_market: every price of an underlying scaled, sticky strike, quotes moved consistently."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError, year_fraction
from portmargin.data import demo_chain_path
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.pricing import black76
from portmargin.risk import moved_market

MARKET = load_deribit_chain_csv(demo_chain_path()).snapshot


def test_zero_move_is_the_same_snapshot() -> None:
    assert moved_market(MARKET, {"BTC": 0.0}) is MARKET
    assert moved_market(MARKET, {}) is MARKET


@settings(max_examples=25, deadline=None)
@given(st.floats(-0.9, 3.0).filter(lambda x: abs(x) > 1e-6))
def test_prices_scale_and_vols_stick_to_strikes(x: float) -> None:
    moved = moved_market(MARKET, {"BTC": x})
    assert moved.index("BTC") == pytest.approx(MARKET.index("BTC") * (1 + x), rel=1e-15)
    for key, forward in MARKET.forwards.items():
        assert moved.forwards[key] == pytest.approx(forward * (1 + x), rel=1e-15)
    for name, quote in MARKET.futures.items():
        assert moved.futures[name].mark_price == pytest.approx(quote.mark_price * (1 + x))
    for key, smile in list(MARKET.smiles.items())[:4]:
        strikes = smile.strikes
        np.testing.assert_allclose(moved.smiles[key].vol(strikes), smile.vol(strikes), rtol=1e-12)
    assert moved.metadata["moved"].startswith("BTC:")


def test_option_marks_move_by_the_black76_change() -> None:
    x = -0.15
    moved = moved_market(MARKET, {"BTC": x})
    for name, quote in list(MARKET.quotes.items())[:50]:
        new = moved.quotes[name]
        inst = quote.instrument
        u0, u1 = quote.underlying_price, quote.underlying_price * (1 + x)
        tau = year_fraction(MARKET.valuation_ms, inst.expiry_ms)
        b0, b1 = (
            float(black76.price(u, inst.strike, tau, quote.mark_iv, inst.is_call)) for u in (u0, u1)
        )
        assert new.underlying_price == pytest.approx(u1)
        expected = (quote.mark_price * u0 + b1 - b0) / u1  # inverse: marks in coin
        assert new.mark_price == pytest.approx(max(expected, 0.0), abs=1e-12)
        assert new.mark_iv == quote.mark_iv


@pytest.mark.parametrize(
    ("moves", "field"),
    [
        ({"ETH": 0.1}, "moves"),
        ({"BTC": -1.0}, "moves['BTC']"),
        ({"BTC": float("nan")}, "moves['BTC']"),
    ],
)
def test_bad_moves_are_named(moves: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        moved_market(MARKET, moves)
    assert info.value.field == field
