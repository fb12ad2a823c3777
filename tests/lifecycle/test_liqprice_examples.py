"""Liquidation prices against ``lifecycle.md`` §8 closed forms and the §10.1 worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from liqprice_support import example_10_1, holdings, linear_market, rates

from portmargin.core import ValidationError
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import LifecycleParams, liquidation_prices

NAN = float("nan")


@pytest.fixture(scope="module")
def params() -> LifecycleParams:
    return load_lifecycle_params()


def test_isolated_linear_closed_forms(params: LifecycleParams) -> None:
    # C = 5,000, n = 1, P0 = 50,000, r = 0.01 -> long 45,454.55, short 54,455.45 (§8)
    market = linear_market({"BTC": 50_000.0})
    accounts = [
        ("long", [("USDC", 5_000.0, NAN), ("BTC_USDC-PERPETUAL", 1.0, 50_000.0)]),
        ("short", [("USDC", 5_000.0, NAN), ("BTC_USDC-PERPETUAL", -1.0, 50_000.0)]),
    ]
    r = liquidation_prices(holdings(accounts, market), market, rates({"BTC": 0.01}), params)
    assert r.labels == ("long", "short")
    assert r.underlyings == ("BTC",)
    assert r.down.prices[0, 0] == pytest.approx(45_454.55, abs=0.005)
    assert r.down.prices[0, 0] == pytest.approx((50_000 - 5_000) / 0.99, rel=1e-9)
    assert r.up.prices[1, 0] == pytest.approx(54_455.45, abs=0.005)
    assert r.up.prices[1, 0] == pytest.approx((5_000 + 50_000) / 1.01, rel=1e-9)
    # a long only loses going down, a short only going up
    assert not r.up.reachable[0]
    assert not r.down.reachable[1]
    assert np.isnan(r.up.prices[0, 0])
    assert np.isnan(r.down.x[1])
    # at the root equity equals MM: r n P
    assert r.down.equity[0] == pytest.approx(r.down.maintenance_margin[0], abs=1e-5)
    assert r.down.maintenance_margin[0] == pytest.approx(0.01 * r.down.prices[0, 0], rel=1e-9)
    assert r.down.distance_pct[0] == pytest.approx(100 * (45_454.545454 / 50_000 - 1), abs=1e-5)
    assert r.currency == ("USD", "USD")
    assert not r.errors


def test_example_10_1_btc_only(params: LifecycleParams) -> None:
    # 4.95 S - 170,000 = 0.4 S + 18,000 -> 41,318.68; upward not reachable
    market = linear_market({"BTC": 50_000.0, "ETH": 4_000.0})
    h = holdings([("10.1", example_10_1())], market)
    mm = rates({"BTC": 0.10, "ETH": 0.15})
    r = liquidation_prices(h, market, mm, params, {"BTC": 1})
    assert r.underlyings == ("BTC",)
    assert r.equity[0] == pytest.approx(77_500.0, abs=1e-6)
    assert r.maintenance_margin[0] == pytest.approx(38_000.0, abs=1e-6)
    assert round(float(r.down.prices[0, 0]), 2) == 41_318.68
    assert r.down.prices[0, 0] == pytest.approx(188_000 / 4.55, rel=1e-9)
    assert r.down.equity[0] == pytest.approx(0.4 * 188_000 / 4.55 + 18_000, rel=1e-9)
    assert not r.up.reachable[0]
    assert not r.liquidatable[0]


def test_example_10_1_both_uniform(params: LifecycleParams) -> None:
    # 77,500 + 367,500 x = 38,000 (1 + x) -> x = -0.119879 -> 44,006.07 / 3,520.49
    market = linear_market({"BTC": 50_000.0, "ETH": 4_000.0})
    h = holdings([("10.1", example_10_1())], market)
    mm = rates({"BTC": 0.10, "ETH": 0.15})
    for direction in (None, {"BTC": 1.0, "ETH": 1.0}):
        r = liquidation_prices(h, market, mm, params, direction)
        assert r.underlyings == ("BTC", "ETH")
        assert round(float(r.down.x[0]), 6) == -0.119879
        assert r.down.x[0] == pytest.approx(-39_500 / 329_500, rel=1e-9)
        assert [round(float(p), 2) for p in r.down.prices[0]] == [44_006.07, 3_520.49]
        assert r.down.distance_pct[0] == pytest.approx(-11.9879, abs=1e-4)
        assert not r.up.reachable[0]


def test_example_10_1_at_42000_returns_current_prices(params: LifecycleParams) -> None:
    # E 13,900 < MM 31,200 (§10.1 last row): already liquidatable
    market = linear_market({"BTC": 42_000.0, "ETH": 3_200.0})
    h = holdings([("10.1", example_10_1())], market)
    r = liquidation_prices(h, market, rates({"BTC": 0.10, "ETH": 0.15}), params)
    assert r.liquidatable[0]
    assert r.equity[0] == pytest.approx(13_900.0, abs=1e-6)
    for side in (r.down, r.up):
        assert side.reachable[0]
        assert side.x[0] == 0.0
        np.testing.assert_array_equal(side.prices[0], [42_000.0, 3_200.0])
        assert side.equity[0] == r.equity[0]
        assert side.distance_pct[0] == 0.0


def test_direction_vector_and_range(params: LifecycleParams) -> None:
    # d = (2, 0.5): BTC moves twice as fast; the down side stops at BTC -99 %
    market = linear_market({"BTC": 50_000.0, "ETH": 4_000.0})
    h = holdings([("10.1", example_10_1())], market)
    r = liquidation_prices(
        h, market, rates({"BTC": 0.10, "ETH": 0.15}), params, {"BTC": 2, "ETH": 0.5}
    )
    # g(x) = 77,500 + (4.95 * 2 * 50,000 + 30 * 0.5 * 4,000) x - 38,000 - (40,000 + 9,000) x
    x = -39_500 / (495_000 + 60_000 - 49_000)
    assert r.down.x[0] == pytest.approx(x, rel=1e-9)
    np.testing.assert_allclose(r.down.prices[0], [50_000 * (1 + 2 * x), 4_000 * (1 + 0.5 * x)])
    np.testing.assert_array_equal(r.direction, [2.0, 0.5])


def test_unreachable_and_errors_in_one_batch(params: LifecycleParams) -> None:
    market = linear_market({"BTC": 50_000.0})
    accounts = [
        ("cash", [("USDC", 1_000.0, NAN)]),
        ("over-collateralised", [("USDC", 60_000.0, NAN), ("BTC_USDC-PERPETUAL", 1.0, 50_000.0)]),
        ("unaccepted", [("USDC", 1_000.0, NAN), ("DOGE", 10.0, NAN)]),
        ("long", [("USDC", 5_000.0, NAN), ("BTC_USDC-PERPETUAL", 1.0, 50_000.0)]),
    ]
    r = liquidation_prices(holdings(accounts, market), market, rates({"BTC": 0.01}), params)
    assert set(r.errors) == {"unaccepted"}
    assert "DOGE, which is not accepted as collateral" in r.errors["unaccepted"]
    i = r.labels.index("long")
    assert r.down.prices[i, 0] == pytest.approx(45_000 / 0.99, rel=1e-9)
    for name in ("cash", "over-collateralised", "unaccepted"):
        k = r.labels.index(name)
        assert not r.down.reachable[k]
        assert not r.up.reachable[k]
        assert np.isnan(r.down.x[k])
        assert np.isnan(r.up.prices[k, 0])


def test_segregated_coin_margined_inverse_perpetual() -> None:
    # BTC sub-account: C = 0.1 BTC, inverse perp of q coins at P0: E = C + q (1 - P0 / P) BTC,
    # MM = r |q| BTC -> long P = q P0 / (C + q (1 - r)), short P = m P0 / (m (1 + r) - C).
    # USDC sub-account of the same account: isolated linear closed form.
    params = load_lifecycle_params(overrides=["collateral.scope=segregated"])
    market = linear_market({"BTC": 50_000.0})
    accounts = [
        (
            "both",
            [
                ("BTC", 0.1, NAN),
                ("BTC-PERPETUAL", 1.0, 50_000.0),
                ("USDC", 5_000.0, NAN),
                ("BTC_USDC-PERPETUAL", -1.0, 50_000.0),
            ],
        ),
        ("short", [("BTC", 0.1, NAN), ("BTC-PERPETUAL", -1.0, 50_000.0)]),
    ]
    r = liquidation_prices(holdings(accounts, market), market, rates({"BTC": 0.01}), params)
    assert r.labels == ("both/BTC", "both/USDC", "short/BTC")
    assert r.accounts == ("both", "both", "short")
    assert r.currency == ("BTC", "USDC", "BTC")
    assert r.equity[0] == pytest.approx(0.1, rel=1e-12)  # BTC, not USD
    assert r.maintenance_margin[0] == pytest.approx(0.01, rel=1e-9)
    assert r.down.prices[0, 0] == pytest.approx(50_000 / 1.09, rel=1e-9)
    assert round(float(r.down.prices[0, 0]), 2) == 45_871.56
    assert r.down.equity[0] == pytest.approx(0.01, abs=1e-12)
    assert r.up.prices[1, 0] == pytest.approx(55_000 / 1.01, rel=1e-9)
    assert r.up.prices[2, 0] == pytest.approx(50_000 / 0.91, rel=1e-9)
    assert r.up.maintenance_margin[2] == pytest.approx(0.01, rel=1e-9)
    assert not r.up.reachable[0]
    assert not r.down.reachable[2]


def test_bad_directions(params: LifecycleParams) -> None:
    market = linear_market({"BTC": 50_000.0})
    h = holdings([("a", [("USDC", 1.0, NAN)])], market)
    with pytest.raises(ValidationError, match="direction"):
        liquidation_prices(h, market, rates({"BTC": 0.01}), params, {"SOL": 1})
    with pytest.raises(ValidationError, match="non-zero"):
        liquidation_prices(h, market, rates({"BTC": 0.01}), params, {"BTC": 0})
    with pytest.raises(ValidationError, match="finite"):
        liquidation_prices(h, market, rates({"BTC": 0.01}), params, {"BTC": math.inf})
    with pytest.raises(ValidationError, match="exposed"):
        liquidation_prices(h, market, rates({"BTC": 0.01}), params)


def test_batch_without_a_valid_account(params: LifecycleParams) -> None:
    market = linear_market({"BTC": 50_000.0})
    h = holdings([("x", [("DOGE", 1.0, NAN), ("BTC_USDC-PERPETUAL", 1.0, 50_000.0)])], market)
    r = liquidation_prices(h, market, rates({"BTC": 0.01}), params)
    assert r.labels == ("x",)
    assert set(r.errors) == {"x"}
    assert r.grid_calls == 0
    assert r.down.prices.shape == (1, 1)
    assert not r.down.reachable[0]
