"""Holdings: futures' P&L from entry prices, settled into balances, valued at moved markets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import Holdings, account_values
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

PARAMS = load_lifecycle_params()
MARKET = MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0})


def _book(held: list[tuple[str, float]]) -> Book:
    positions = tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q in held)
    return Book.from_portfolios([Portfolio(account="A", positions=positions)])


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-50, 50).filter(lambda q: abs(q) > 1e-3),
    st.floats(20_000, 90_000),
    st.floats(-0.6, 2.0),
)
def test_linear_entry_pnl(q: float, entry: float, move: float) -> None:
    book = _book([("USDC", 1_000.0), ("BTC_USDC-PERPETUAL", q)])
    holdings = Holdings.from_entries(book, np.array([np.nan, entry]), MARKET)
    market = moved_market(MARKET, {"BTC": move})
    values = account_values(holdings, market, PARAMS.collateral)
    expected = 1_000.0 + q * (50_000.0 * (1 + move) - entry)
    assert values.equity[0] == pytest.approx(expected, rel=1e-12, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-5, 5).filter(lambda q: abs(q) > 1e-3),
    st.floats(20_000, 90_000),
    st.floats(-0.6, 2.0),
)
def test_inverse_entry_pnl_keeps_the_usd_notional(q: float, entry: float, move: float) -> None:
    # q coins bought at entry = q * entry USD of contracts; P&L (coin) = N (1/entry - 1/mark)
    book = _book([("BTC-PERPETUAL", q)])
    holdings = Holdings.from_entries(book, np.array([entry]), MARKET)
    mark = 50_000.0 * (1 + move)
    values = account_values(holdings, moved_market(MARKET, {"BTC": move}), PARAMS.collateral)
    coin = values.balances[0, values.currencies.index("BTC")]
    assert coin == pytest.approx(q * entry * (1 / entry - 1 / mark), rel=1e-9, abs=1e-12)


def test_settled_holdings_have_no_pnl_now() -> None:
    book = _book([("USDC", 500.0), ("BTC_USDC-PERPETUAL", 3.0), ("BTC-PERPETUAL", -2.0)])
    values = account_values(Holdings.settled(book, MARKET), MARKET, PARAMS.collateral)
    assert values.equity[0] == 500.0


def test_bad_entry_is_named() -> None:
    book = _book([("BTC_USDC-PERPETUAL", 3.0)])
    with pytest.raises(ValidationError) as info:
        Holdings.from_entries(book, np.array([-5.0]), MARKET)
    assert info.value.field == "entry of BTC_USDC-PERPETUAL in account A"
