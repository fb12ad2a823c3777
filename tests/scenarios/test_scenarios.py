"""Scenario sets and the vol-shock term-structure law."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.scenarios import Scenario, ScenarioSet, UpFloor, VolShockLaw, VolShockMode

DERIBIT_LAW = VolShockLaw(short_term_power=0.3, long_term_power=0.13, min_vol_up=0.5)


def test_deribit_vol_law_at_15_days() -> None:
    """deribit-pm spec §5.3: DTE 15 → factor 2**0.3; up ×1.6156, down ×0.6922."""
    shocked = DERIBIT_LAW.shocked_vols(np.array([0.8]), np.array([15.0]), np.array([0.5, -0.25]))
    assert shocked[0, 0] / 0.8 == pytest.approx(1 + 0.5 * 2**0.3, abs=1e-12)
    assert shocked[0, 0] / 0.8 == pytest.approx(1.6156, abs=5e-5)
    assert shocked[0, 1] / 0.8 == pytest.approx(0.6922, abs=5e-5)


def test_law_boundary_floor_and_level_floor() -> None:
    law = DERIBIT_LAW
    f = law.term_factor(np.array([0.1, 1.0, 30.0, 120.0]))
    np.testing.assert_allclose(f, [30**0.3, 30**0.3, 1.0, 0.25**0.13])
    inclusive = VolShockLaw(short_term_power=0.3, long_term_power=0.13, short_inclusive=True)
    assert inclusive.term_factor(np.array([30.0]))[0] == 1.0  # both powers give 1 at 30 days
    low = law.shocked_vols(np.array([0.1]), np.array([60.0]), np.array([0.5, -2.0]))
    assert low[0, 0] == 0.5  # up-shocked vol floored at the level min_vol_up
    assert low[0, 1] == 0.0  # never below 0


def test_absolute_mode() -> None:
    law = VolShockLaw(mode=VolShockMode.ABSOLUTE)
    out = law.shocked_vols(np.array([0.4]), np.array([10.0]), np.array([0.1, -0.5]))
    np.testing.assert_allclose(out, [[0.5, 0.0]])


@given(
    sigma=st.floats(0.0, 5.0),
    dte=st.floats(0.0, 3650.0),
    shock=st.floats(-2.0, 5.0),
)
def test_shocked_vols_are_finite_non_negative(sigma: float, dte: float, shock: float) -> None:
    out = DERIBIT_LAW.shocked_vols(np.array([sigma]), np.array([dte]), np.array([shock]))
    assert np.all(np.isfinite(out))
    assert np.all(out >= 0)


def test_scenario_validation() -> None:
    with pytest.raises(ValidationError, match="spot_shock"):
        Scenario(label="crash", spot_shock=-1.0)
    with pytest.raises(ValidationError, match="weight"):
        Scenario(label="w", weight=-0.5)
    with pytest.raises(ValidationError, match="delta_one_shock"):
        Scenario(label="d", delta_one_shock=-1.5)
    with pytest.raises(ValidationError, match="unique"):
        ScenarioSet(name="s", scenarios=(Scenario(label="a"), Scenario(label="a")))
    with pytest.raises(ValidationError, match="non-empty"):
        ScenarioSet(name="s", scenarios=())


def test_columns_and_concat() -> None:
    a = ScenarioSet(
        name="a", scenarios=(Scenario(label="up", spot_shock=0.1, delta_one_shock=0.05),)
    )
    b = ScenarioSet(name="b", scenarios=(Scenario(label="down", spot_shock=-0.1, weight=0.5),))
    both = ScenarioSet.concat("ab", [a, b])
    assert both.labels == ("up", "down")
    np.testing.assert_array_equal(both.column("spot_shock"), [0.1, -0.1])
    np.testing.assert_array_equal(both.column("delta_one_shock"), [0.05, -0.1])
    np.testing.assert_array_equal(both.column("weight"), [1.0, 0.5])
    with pytest.raises(ValidationError, match="column"):
        both.column("label")
    other = ScenarioSet(name="c", scenarios=(Scenario(label="x"),), vol_law=DERIBIT_LAW)
    with pytest.raises(ValidationError, match="vol law"):
        ScenarioSet.concat("bad", [a, other])


@pytest.mark.parametrize(
    ("up_floor", "expected_up"),
    [
        (UpFloor.LEVEL, max(0.2 * (1 + 0.5), 0.4)),
        (UpFloor.SHOCK, 0.2 * (1 + max(0.5, 0.6))),
        (UpFloor.BASE, max(0.2, 0.4) * (1 + 0.5)),
    ],
)
def test_up_floor_semantics(up_floor: UpFloor, expected_up: float) -> None:
    floor = 0.6 if up_floor is UpFloor.SHOCK else 0.4
    law = VolShockLaw(min_vol_up=floor, up_floor=up_floor, boundary_days=30.0)
    out = law.shocked_vols(np.array([0.2]), np.array([30.0]), np.array([0.5, 0.0, -0.5]))
    assert out[0, 0] == pytest.approx(expected_up, rel=1e-15)
    assert out[0, 1] == pytest.approx(0.2)  # floors never touch unchanged or down states
    assert out[0, 2] == pytest.approx(0.1)


def test_min_vol_floors_every_state() -> None:
    law = VolShockLaw(mode=VolShockMode.ABSOLUTE, min_vol=0.01)
    out = law.shocked_vols(np.array([0.05, 0.005]), np.array([10.0, 10.0]), np.array([-0.1, 0.0]))
    np.testing.assert_allclose(out, [[0.01, 0.05], [0.01, 0.01]])
    with pytest.raises(ValidationError, match="up_floor"):
        VolShockLaw(mode=VolShockMode.ABSOLUTE, up_floor=UpFloor.SHOCK)
