"""Cascade chart data: one price line per method and underlying, one bar series per method."""

from __future__ import annotations

import json

import numpy as np

from portmargin.instruments import Perpetual, Settlement
from portmargin.io.cascade_plot import cascade_figure, metric_text
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    CascadeMarket,
    CascadeParams,
    LinearImpact,
    NotionalRates,
    max_leverage_population,
    run_cascade,
)
from portmargin.market import MarketSnapshot
from portmargin.risk import Book


def test_price_and_notional_traces() -> None:
    snap = MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0})
    perp = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
    book = Book.from_arrays(
        ["a", "b"], [perp], np.array([0, 1]), np.array([0, 0]), np.array([100.0, 200.0])
    )
    rates = NotionalRates(mm_rates={"BTC": 0.04}, im_rates={"BTC": 0.05})
    pop = max_leverage_population(book, snap, rates, np.array([1.05, 3.0]))
    params = CascadeParams.from_lifecycle(
        load_lifecycle_params(), shock={"BTC": -0.1}, fund_usd=1e6, penalty=0.01
    )
    impact = CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=1e7)})
    result = run_cascade(pop.holdings, snap, rates, params, impact)
    figure = cascade_figure([result, result])
    lines = [t for t in figure["data"] if t["type"] == "scatter"]
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    assert len(lines) == 2
    assert len(bars) == 2
    assert lines[0]["customdata"][:2] == [50_000.0, 45_000.0]
    assert abs(lines[0]["y"][1] + 10.0) < 1e-12
    assert bars[0]["x"] == [r.number for r in result.rounds]
    assert bars[0]["y"] == [r.liquidated_notional for r in result.rounds]
    json.dumps(figure, allow_nan=False)
    assert metric_text({"BTC": -0.1342}, percent=True) == "BTC -13.42 %"
    assert metric_text(1234.5) == "1,234.50"
