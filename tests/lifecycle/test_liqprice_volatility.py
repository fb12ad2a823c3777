"""Daily volatility behind distances in standard deviations (``var-margin.md`` §3.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from liqprice_support import holdings, linear_market, rates

from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import daily_volatility, liquidation_prices
from portmargin.market import MarketSnapshot, PriceHistory

NAN = float("nan")
NOON_2021_11_24 = 1_637_755_200_000


def _market(
    prices: dict[str, float], history: PriceHistory, valuation_ms: int = NOON_2021_11_24
) -> MarketSnapshot:
    return MarketSnapshot(valuation_ms=valuation_ms, index_prices=prices, history=history)


@pytest.fixture(scope="module")
def history() -> PriceHistory:
    return load_history(demo_daily_paths()).history


def test_ewma_reference_values_after_2021_11_24(history: PriceHistory) -> None:
    # var-margin.md §3.3: sigma_now after 2021-11-24 is 0.030217 (BTC) and 0.039634 (ETH)
    market = _market({"BTC": 56_654.58, "ETH": 4_000.0}, history)
    vol = daily_volatility(market, ["BTC", "ETH"])
    assert vol.as_of == "2021-11-24"
    assert round(float(vol.sigma[0]), 6) == 0.030217
    assert round(float(vol.sigma[1]), 6) == 0.039634
    assert "EWMA" in vol.source
    assert "up to 2021-11-24" in vol.source


def test_history_ending_before_the_market_uses_its_last_day(history: PriceHistory) -> None:
    market = _market({"BTC": 1.0}, history, NOON_2021_11_24 + 400 * 86_400_000)
    vol = daily_volatility(market, ["BTC"])
    assert vol.as_of == "2021-11-24"
    assert round(float(vol.sigma[0]), 6) == 0.030217


def test_missing_history_is_explicit(history: PriceHistory) -> None:
    without = daily_volatility(linear_market({"BTC": 1.0}), ["BTC"])
    assert np.isnan(without.sigma[0])
    assert without.as_of == ""
    assert "no daily history" in without.source
    market = _market({"SOL": 1.0, "BTC": 1.0}, history)
    vol = daily_volatility(market, ["BTC", "SOL"])
    assert np.isfinite(vol.sigma[0])
    assert np.isnan(vol.sigma[1])
    assert "SOL: no history" in vol.source


def test_distance_in_standard_deviations(history: PriceHistory) -> None:
    params = load_lifecycle_params()
    market = _market({"BTC": 50_000.0}, history)
    books = [("long", [("USDC", 5_000.0, NAN), ("BTC_USDC-PERPETUAL", 1.0, 50_000.0)])]
    r = liquidation_prices(holdings(books, market), market, rates({"BTC": 0.01}), params)
    sigma = r.volatility.sigma[0]
    assert r.down.distance_sigma[0, 0] == pytest.approx(
        math.log(45_000 / 0.99 / 50_000) / sigma, rel=1e-9
    )
    assert r.down.distance_sigma[0, 0] == pytest.approx(-0.0953102 / 0.030217, rel=1e-4)
    assert np.isnan(r.up.distance_sigma[0, 0])
