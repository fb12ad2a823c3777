"""Full revaluation (var-margin.md section 4) and the liquidity add-on (section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from var_support import params

import linear_market_support as lm
from portmargin.methods.var import delta_addon, scenario_sets, vega_addon
from portmargin.risk import build_risk_array, resolve_instruments, unit_values
from portmargin.scenarios import HistoricalScenarios


def one_scenario(log_return: float) -> HistoricalScenarios:
    return HistoricalScenarios(
        underlyings=("BTC",),
        end_dates=np.array(["2021-05-19"], dtype="datetime64[D]"),
        log_returns=np.array([[log_return]]),
        weights=np.ones(1),
        horizon_days=1,
        method="hs",
        overlapping=True,
        sqrt_time_scaling=False,
    )


def test_section_4_call_under_sticky_strike_and_vol_beta() -> None:
    market = lm.market({"BTC": 50_000.0}, days=(30.0,), vol=0.80)
    table = resolve_instruments([lm.option(30.0, 55_000.0)], market)
    assert unit_values(table)[0] == pytest.approx(2_699.0118, abs=5e-5)
    sets = scenario_sets(one_scenario(np.log(1 - 0.1377)), params(vol_model="worst_of"))["BTC"]
    assert len(sets) == 2
    sticky, beta = (build_risk_array(table, s) for s in sets)
    assert table.forward[0] * np.exp(np.log(1 - 0.1377)) == pytest.approx(43_115.0)
    assert sticky.pnl[0, 0] == pytest.approx(-1_917.9530, abs=5e-5)
    assert 2_699.0118 + sticky.pnl[0, 0] == pytest.approx(781.0588, abs=1e-4)
    assert beta.pnl[0, 0] == pytest.approx(-1_681.5802, abs=5e-5)
    assert 2_699.0118 + beta.pnl[0, 0] == pytest.approx(1_017.4315, abs=1e-4)
    vol = beta.scenarios.column("vol_shock")
    assert 0.80 + vol[0] == pytest.approx(0.874076, abs=5e-7)


def test_vol_beta_floors_vols_at_min_vol() -> None:
    market = lm.market({"BTC": 50_000.0}, days=(30.0,), vol=0.10)
    table = resolve_instruments([lm.option(30.0, 50_000.0)], market)
    (beta,) = scenario_sets(one_scenario(0.5), params(vol_model="vol_beta", min_vol=0.05))["BTC"]
    # sigma' = max(0.10 - 0.5 x 0.5, 0.05) = 0.05
    floored = build_risk_array(table, beta)
    at_floor = resolve_instruments(
        [lm.option(30.0, 50_000.0)], lm.market({"BTC": 50_000.0}, vol=0.05)
    )
    (sticky,) = scenario_sets(one_scenario(0.5), params(vol_model="sticky_strike"))["BTC"]
    assert floored.pnl[0, 0] + unit_values(table)[0] == pytest.approx(
        build_risk_array(at_floor, sticky).pnl[0, 0] + unit_values(at_floor)[0], rel=1e-12
    )


def test_section_7_add_on_example() -> None:
    btc = delta_addon(np.array([50e6, 100_000.0]), 0.0005, 1.0, 0.030217, 0.01 * 3.598e10)
    assert btc[0] == pytest.approx(575_717.02, abs=0.005)
    assert btc[0] / 50e6 == pytest.approx(0.0115, abs=5e-5)
    assert btc[1] == pytest.approx(75.38, abs=0.005)
    eth = delta_addon(np.array([-80_000.0]), 0.0008, 1.0, 0.039634, 1.885e8)
    assert eth[0] == pytest.approx(97.32, abs=0.005)
    # concentration: doubling the position more than doubles the add-on
    assert delta_addon(np.array([100e6]), 0.0005, 1.0, 0.030217, 3.598e8)[0] > 2 * btc[0]


def test_vega_add_on() -> None:
    # |vega| 10,000 USD/point, 1 point half spread, VD 500,000: 10,000 (1 + sqrt(0.02))
    got = vega_addon(np.array([-10_000.0, 0.0]), 1.0, 500_000.0)
    assert got[0] == pytest.approx(10_000.0 * (1 + np.sqrt(0.02)))
    assert got[1] == 0.0
