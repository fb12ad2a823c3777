"""Sample portfolios and the spot × vol risk matrix."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.analysis import risk_matrix, sample_portfolios
from portmargin.core import MarketDataError
from portmargin.instruments import parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position


def test_sample_books(demo_snapshot: MarketSnapshot) -> None:
    books = {pf.account: pf for pf in sample_portfolios(demo_snapshot)}
    assert list(books) == [
        "naked-short-call",
        "covered-call",
        "short-strangle",
        "calendar-spread",
        "risk-reversal-hedged",
        "box",
        "market-maker",
    ]
    assert 190 <= len(books["market-maker"].positions) <= 201
    assert books["covered-call"].balances == {"BTC": 5.0}


def test_risk_matrix_centre_is_zero_and_balances_are_left_out(
    demo_snapshot: MarketSnapshot,
) -> None:
    covered = sample_portfolios(demo_snapshot)[1]
    spots = np.array([-0.1, 0.0, 0.1])
    vols = np.array([-0.2, 0.0, 0.3])
    matrix = risk_matrix(covered, demo_snapshot, spots, vols)
    assert list(matrix.pnl) == ["BTC"]
    grid = matrix.pnl["BTC"]
    assert grid.shape == (3, 3)
    assert grid[1, 1] == 0.0
    assert grid[1, 2] < grid[1, 0]  # short call loses when the market rallies
    assert grid[2, 1] < 0 < grid[0, 1] + 1e-12  # and when vol rises
    eth = Portfolio.from_positions(
        "e", [Position(instrument=parse_instrument("ETH-PERPETUAL"), quantity=1.0)]
    )
    with pytest.raises(MarketDataError, match="ETH"):
        risk_matrix(eth, demo_snapshot, spots, vols)


def test_linear_twin_swaps_settlement_and_keeps_quantities(demo_snapshot: MarketSnapshot) -> None:
    from portmargin.analysis import linear_twin

    covered = sample_portfolios(demo_snapshot)[1]
    twin = linear_twin(covered)
    assert twin.account == "covered-call (USDC)"
    assert [(p.instrument.name, p.quantity) for p in twin.positions] == [
        ("BTC_USDC-26JUN20-10000-C", -5.0),
        ("BTC_USDC-PERPETUAL", 5.0),
    ]
