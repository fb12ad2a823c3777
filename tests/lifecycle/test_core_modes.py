"""Margin modes: isolated positions as their own units, cross and portfolio side by side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.analysis import sample_portfolios
from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    STATES,
    AccountState,
    CollateralPolicy,
    CollateralScope,
    Holdings,
    MethodMargining,
    NotionalRates,
    account_values,
    assess,
    compare_modes,
    isolate,
    unit_owner,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

PARAMS = load_lifecycle_params()
MARKET = MarketSnapshot(
    valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
)
RATES = NotionalRates(mm_rates={"BTC": 0.01, "ETH": 0.01}, im_rates={"BTC": 0.02, "ETH": 0.02})
PLAIN = CollateralPolicy(scope=CollateralScope.SEGREGATED, haircuts=PARAMS.collateral.haircuts)


def _holdings(accounts: dict[str, list[tuple[str, float]]]) -> Holdings:
    portfolios = [
        Portfolio(
            account=a,
            positions=tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q in held),
        )
        for a, held in accounts.items()
    ]
    return Holdings.settled(Book.from_portfolios(portfolios), MARKET)


def test_isolated_losses_stop_at_their_collateral() -> None:
    # long 1 BTC perp isolated with 5,000 USDC; a short ETH perp stays in the pool
    holdings = _holdings(
        {"A": [("USDC", 20_000.0), ("BTC_USDC-PERPETUAL", 1.0), ("ETH_USDC-PERPETUAL", -10.0)]}
    )
    units = isolate(holdings, {("A", "BTC_USDC-PERPETUAL"): 5_000.0})
    assert units.accounts == ("A", "A/isolated/BTC_USDC-PERPETUAL")
    crash = moved_market(MARKET, {"BTC": -0.2, "ETH": -0.2})
    values = account_values(units, crash, PLAIN)
    # unit: 5,000 + (40,000 - 50,000); pool: 15,000 + 10 * 800
    assert values.equity.tolist() == [15_000.0 + 8_000.0, -5_000.0]
    result = assess(units, crash, RATES, PARAMS)
    assert result.state_of("A") is AccountState.HEALTHY
    assert result.state_of("A/isolated/BTC_USDC-PERPETUAL") is AccountState.BANKRUPT


def test_spec_isolated_liquidation_price_closed_form() -> None:
    # long n = 1 at P0 = 50,000, C = 5,000, r = 1 %: E = MM at (n P0 - C) / (n (1 - r))
    holdings = _holdings({"A": [("USDC", 5_000.0), ("BTC_USDC-PERPETUAL", 1.0)]})
    units = isolate(holdings, {("A", "BTC_USDC-PERPETUAL"): 5_000.0})
    price = (50_000.0 - 5_000.0) / 0.99
    at = moved_market(MARKET, {"BTC": price / 50_000.0 - 1})
    result = assess(units, at, RATES, PARAMS)
    unit = result.accounts.index("A/isolated/BTC_USDC-PERPETUAL")
    assert result.equity[unit] == pytest.approx(result.maintenance_margin[unit], abs=1e-6)
    assert round(price, 2) == 45_454.55


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-20, 20).filter(lambda q: abs(q) > 1e-3), min_size=2, max_size=2),
    st.lists(st.floats(0, 10_000), min_size=2, max_size=2),
    st.floats(-0.5, 0.5),
)
def test_isolating_moves_collateral_without_creating_it(
    sizes: list[float], amounts: list[float], move: float
) -> None:
    holdings = _holdings(
        {
            "A": [("USDC", 30_000.0), ("BTC_USDC-PERPETUAL", sizes[0])],
            "B": [("USDC", 1_000.0), ("ETH_USDC-PERPETUAL", sizes[1])],
        }
    )
    units = isolate(
        holdings,
        {("A", "BTC_USDC-PERPETUAL"): amounts[0], ("B", "ETH_USDC-PERPETUAL"): amounts[1]},
    )
    market = moved_market(MARKET, {"BTC": move, "ETH": -move})
    before = account_values(holdings, market, PLAIN).equity
    after = account_values(units, market, PLAIN)
    owners = [unit_owner(u) for u in after.accounts]
    for k, account in enumerate(holdings.accounts):
        total = sum(e for o, e in zip(owners, after.equity, strict=True) if o == account)
        assert total == pytest.approx(before[k], rel=1e-12, abs=1e-6)


@pytest.mark.parametrize(
    ("collateral", "field_part"),
    [
        ({("A", "ETH_USDC-PERPETUAL"): 1.0}, "a position held by account"),
        ({("A", "USDC"): 1.0}, "not a currency balance"),
        ({("A", "BTC_USDC-PERPETUAL"): -1.0}, "a finite amount >= 0"),
    ],
)
def test_bad_isolation_is_named(collateral: dict[tuple[str, str], float], field_part: str) -> None:
    holdings = _holdings({"A": [("USDC", 100.0), ("BTC_USDC-PERPETUAL", 1.0)]})
    with pytest.raises(ValidationError, match=field_part):
        isolate(holdings, collateral)


def test_three_modes_side_by_side(demo_snapshot: MarketSnapshot) -> None:
    standard, pm = get_method("standard"), get_method("deribit-pm")
    book = Book.from_portfolios(sample_portfolios(demo_snapshot))
    holdings = Holdings.settled(book, demo_snapshot)
    result = compare_modes(
        holdings,
        demo_snapshot,
        MethodMargining(method=standard, params=load_params(standard)),
        MethodMargining(method=pm, params=load_params(pm)),
        PARAMS,
    )
    ok = result.cross.state >= 0
    # isolating every position with its own IM as collateral: same per-position requirements
    np.testing.assert_allclose(result.isolated_im[ok], result.cross.initial_margin[ok], rtol=1e-9)
    assert set(result.isolated_worst_state.tolist()) <= set(range(len(STATES))) | {-1}
    assert result.portfolio.margining == "deribit-pm"
    assert result.cross.margining == "standard"
