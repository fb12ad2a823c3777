"""The worked cases of specs/derive-pm2.md §10, built by hand through the public API.

Inputs are the numbers quoted in the specification; the parameter set is the conformance
default one (read from its case file). Expected values are the specification's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from portmargin.methods.derive_pm2 import (
    DeriveCase,
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveCollateralParams,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    DeriveResult,
    compute,
)

REL = 1e-12
S_BTC = 95663.50604855
STABLE = 1.00019088635
SIGMA = 0.453803924321583


def _btc_market(*, collateral: bool = False) -> DeriveMarket:
    feed = DeriveExpiryFeed(
        expiry_seconds=794852,
        forward=95776.67392708939,
        rate=0.15,
        strikes=[100000.0],
        vols=[SIGMA],
        vol_confidence=0.95,
    )
    prices = (DeriveCollateralFeed(name="BTC", price=S_BTC),) if collateral else ()
    return DeriveMarket(spot_price=S_BTC, stable_price=STABLE, expiries=(feed,), collaterals=prices)


def _short_calls(n: float) -> DeriveOptions:
    return DeriveOptions(expiry_seconds=[794852], strike=[100000.0], is_call=[True], amount=[-n])


def _tail_min(result: DeriveResult) -> float:
    return min(s.pnl for s in result.scenario_pnls if s.scenario.dampening != 1.0)


def _check_components(result: DeriveResult) -> None:
    assert sum(c.amount for c in result.im_components) == pytest.approx(
        result.im_requirement, rel=1e-14
    )
    assert sum(c.amount for c in result.mm_components) == pytest.approx(
        result.mm_requirement, rel=1e-14
    )
    assert result.im == pytest.approx(result.equity - result.im_requirement, rel=1e-13)
    assert result.mm == pytest.approx(result.equity - result.mm_requirement, rel=1e-13)


def test_12_naked_short_call(default_params: DeriveParams) -> None:
    result = compute(DerivePortfolio(options=_short_calls(1.0)), _btc_market(), default_params)
    (expiry,) = result.expiries
    assert expiry.tau == pytest.approx(0.02520459157787925, rel=REL)
    assert expiry.discount == pytest.approx(0.9962264490688729, rel=REL)
    assert expiry.mtm == pytest.approx(-1186.4185694587657, rel=REL)
    assert (expiry.vol_shock_up - 1.0) / default_params.vol_range_up == pytest.approx(
        1.425623, abs=1e-6
    )
    assert expiry.vol_shock_up == pytest.approx(1.712811375927374, rel=REL)
    assert expiry.vol_shock_down == pytest.approx(0.6079537432399443, rel=REL)
    assert SIGMA * expiry.vol_shock_up == pytest.approx(0.7772805240184925, rel=REL)
    assert expiry.static_discount_pos == pytest.approx(0.9445087287221925, rel=REL)
    assert expiry.static_discount_neg == pytest.approx(1.0037878445554764, rel=REL)
    assert expiry.static_discount_neg == pytest.approx(1.0 / expiry.discount, rel=1e-15)
    assert result.basis_contingency == pytest.approx(-947.2098049301085, rel=REL)

    pnl = result.pnl_array()
    assert pnl.shape == (31,)
    assert pnl[29] == pytest.approx(-43.43395259503018, rel=1e-11)  # Linear skew
    assert pnl[30] == pytest.approx(-43.43395259503018, rel=1e-11)  # Abs skew
    assert pnl[0] == pytest.approx(-12939.312020443322, rel=REL)  # +18 % Up
    assert result.scenario_pnls[11].label == "0% None"
    assert pnl[11] == pytest.approx(-4.493969118840596, rel=1e-10)
    assert _tail_min(result) == pytest.approx(-3383.043325666785, rel=REL)
    assert result.scenario_pnls[28].label == "+300% Up x0.012"
    assert result.min_span == pytest.approx(-12939.312020443322, rel=REL)
    assert result.worst_scenario == "+18% Up"
    assert result.worst_scenario_index == 0

    assert result.mm_contingency == pytest.approx(286.99051814565, rel=REL)
    assert result.im_contingency == pytest.approx(191.3270120971, rel=REL)
    assert result.confidence_contingency == 0.0
    assert result.im == pytest.approx(-14604.048120144837, rel=REL)
    assert result.mm == pytest.approx(-11824.858703959073, rel=REL)
    assert result.im_requirement == pytest.approx(13417.62955068607, rel=REL)
    assert result.mm_requirement == pytest.approx(10638.44013450031, rel=REL)
    _check_components(result)


def test_13_btc_covered_call(default_params: DeriveParams) -> None:
    params = _with_btc_collateral(default_params)
    portfolio = DerivePortfolio(
        options=_short_calls(2.0),
        collaterals=(DeriveCollateralHolding(name="BTC", amount=1.0),),
    )
    result = compute(portfolio, _btc_market(collateral=True), params)
    assert result.collateral_mtm == pytest.approx(95645.24867613538, rel=REL)
    assert result.option_mtm == pytest.approx(-2372.8371389175313, rel=REL)
    assert result.total_mtm == pytest.approx(93272.41153721785, rel=REL)
    assert result.basis_contingency == pytest.approx(-1894.419609860217, rel=REL)
    pnl = result.pnl_array()
    assert result.worst_scenario_index == 22
    assert result.worst_scenario == "-18% Up"
    assert pnl[22] == pytest.approx(-15050.749373322431, rel=REL)
    assert _tail_min(result) == pytest.approx(-3322.8576989926974, rel=REL)
    assert min(pnl[29], pnl[30]) == pytest.approx(-86.86790519006036, rel=1e-11)
    assert result.mm_contingency == pytest.approx(2486.8860098140075, rel=REL)
    assert result.im_contingency == pytest.approx(1339.1065109555538, rel=REL)
    components = {c.name: c.amount for c in result.im_components}
    assert components["collateral_mm"] == pytest.approx(1912.9049735227075, rel=REL)
    assert components["option_mm"] == pytest.approx(573.9810362913, rel=REL)
    assert components["collateral_im"] == pytest.approx(956.4524867613538, rel=REL)
    assert components["option_im"] == pytest.approx(382.6540241942, rel=REL)
    assert result.im == pytest.approx(74395.66964312586, rel=REL)
    assert result.mm == pytest.approx(78744.92602874589, rel=REL)
    _check_components(result)


def test_29_basic_perp(default_params: DeriveParams) -> None:
    portfolio = DerivePortfolio(perp_position=1.0, perp_value=10.0)
    market = DeriveMarket(spot_price=3000.0, perp_price=3100.0, stable_price=STABLE)
    result = compute(portfolio, market, default_params)
    assert result.total_mtm == 10.0
    assert result.perp_mtm == 10.0
    assert result.basis_contingency == 0.0
    assert result.worst_scenario == "-18% Up"
    assert result.min_span == pytest.approx(-558.0, rel=REL)
    assert _tail_min(result) == pytest.approx(-111.6, rel=REL)
    assert result.mm_contingency == pytest.approx(45.0, rel=REL)
    assert result.im_contingency == pytest.approx(15.0, rel=REL)
    assert result.im == pytest.approx(-607.9999999999995, rel=REL)
    assert result.mm == pytest.approx(-481.39999999999964, rel=REL)
    assert result.expiries == ()
    _check_components(result)


def _with_btc_collateral(params: DeriveParams) -> DeriveParams:
    btc = DeriveCollateralParams(
        name="BTC", is_risk_cancelling=True, mm_haircut=0.02, im_haircut=0.01
    )
    return DeriveParams.from_mapping(params.to_mapping(), collaterals=(btc,))


def test_hand_built_case_matches_the_loaded_file(default_case: DeriveCase) -> None:
    assert default_case.portfolio is not None
    assert default_case.market is not None
    assert default_case.params is not None
    loaded = compute(default_case.portfolio, default_case.market, default_case.params)
    hand = compute(DerivePortfolio(options=_short_calls(1.0)), _btc_market(), default_case.params)
    assert hand.im == pytest.approx(loaded.im, rel=1e-13)
    assert np.allclose(hand.pnl_array(), loaded.pnl_array(), rtol=1e-11, atol=1e-9)
    assert math.isclose(hand.mm, loaded.mm, rel_tol=1e-13)
