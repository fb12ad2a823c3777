"""The PMRM_2 scenario list as a shared ScenarioSet, and what the engine reads from it."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from portmargin.methods.derive_pm2 import (
    DeriveParams,
    DeriveScenario,
    DeriveVolShock,
    pmrm2_scenarios,
)
from portmargin.methods.derive_pm2._scenarios import scenario_columns, vol_shock_multipliers
from portmargin.scenarios import EVERY_UNDERLYING


def test_mainnet_list_in_shared_vocabulary(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    scenarios = pmrm2_scenarios(params)
    table = scenarios.table
    assert scenarios.labels == tuple(s.label for s in params.scenarios)
    assert scenarios.underlyings == (EVERY_UNDERLYING,)
    spot = np.array([s.spot_shock for s in params.scenarios])
    np.testing.assert_array_equal(scenarios.column("spot_shock"), spot - 1.0)
    np.testing.assert_array_equal(
        scenarios.column("weight"), [s.dampening for s in params.scenarios]
    )
    direction = [s.vol_shock for s in params.scenarios]
    expected_vol = [
        0.5 if d is DeriveVolShock.UP else -0.3 if d is DeriveVolShock.DOWN else 0.0
        for d in direction
    ]
    np.testing.assert_array_equal(scenarios.column("vol_shock"), expected_vol)
    np.testing.assert_array_equal(table.up_state, [d is DeriveVolShock.UP for d in direction])
    assert table.skew is not None
    assert table.skew.tolist()[-2:] == [0, 1]
    assert set(table.skew.tolist()[:-2]) == {-1}
    linear, absolute = scenarios.skew_laws
    assert (linear.absolute, absolute.absolute) == (False, True)
    assert linear.base_cap == params.linear_base_cap
    assert absolute.c_base == params.abs_c_base
    law = scenarios.vol_law
    assert (law.short_inclusive, law.power_on_floored) == (True, False)
    assert law.min_vol_up == params.min_vol_up_shock


def test_repeated_scenarios_get_unique_labels(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    first = params.scenarios[0]
    twice = dataclasses.replace(params, scenarios=(*params.scenarios, first))
    labels = pmrm2_scenarios(twice).labels
    assert labels[0] == first.label
    assert labels[-1] == f"{first.label} #2"


def test_a_zero_multiplier_is_a_minus_100_percent_move(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    zero = DeriveScenario(spot_shock=0.0, vol_shock=DeriveVolShock.NONE)
    scenarios = pmrm2_scenarios(dataclasses.replace(params, scenarios=(zero,)))
    assert scenarios.table.zero_price
    assert scenarios.column("spot_shock")[0] == -1.0


def test_option_forwards_keep_the_multiplier_itself(mainnet: dict[str, Any]) -> None:
    """Below s = 0.5 the move s - 1 does not hold s: 1 + (0.34 - 1) != 0.34."""
    mainnet["Scenarios"][-10]["SpotShock"] = 0.34
    params = DeriveParams.from_mapping(mainnet)
    columns = scenario_columns(params)
    j = len(params.scenarios) - 10
    assert columns.spot[j] == 0.34
    assert 1.0 + columns.moves[j] != 0.34
    assert columns.moves[j] == 0.34 - 1.0


@pytest.mark.parametrize("days", [0.5, 10.0, 30.0, 45.0, 400.0])
def test_vol_multipliers_follow_the_contract(mainnet: dict[str, Any], days: float) -> None:
    params = DeriveParams.from_mapping(mainnet)
    seconds = np.array([days * 86_400.0])
    up, down = vol_shock_multipliers(seconds, params)
    power = 0.3 if days <= 30.0 else 0.13
    m = (30.0 / max(days, 1.0)) ** power
    assert up[0] == pytest.approx(1.0 + 0.5 * m, rel=1e-14)
    assert down[0] == pytest.approx(max(0.0, 1.0 - 0.3 * m), rel=1e-14)
