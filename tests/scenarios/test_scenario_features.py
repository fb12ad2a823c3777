"""Skew laws, up states, -100 % moves and the seconds form of the vol-shock law."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.scenarios import ScenarioSet, ShockTable, SkewShockLaw, UpFloor, VolShockLaw

LAW = VolShockLaw(short_term_power=0.3, long_term_power=0.13, short_inclusive=True)
SKEW = SkewShockLaw(
    base_cap=0.2, c_base=0.1, min_k_star=0.05, width_scale=1.0, vol_param_static=0.5,
    vol_param_scale=0.0,
)  # fmt: skip


@given(days=st.floats(0.01, 3650.0))
def test_seconds_form_is_the_same_law(days: float) -> None:
    seconds = np.array([days * 86_400.0])
    np.testing.assert_allclose(
        LAW.term_factor_seconds(seconds), LAW.term_factor(seconds / 86_400.0), rtol=1e-12
    )


def test_power_on_the_unfloored_time() -> None:
    """With a floor above the 30-day boundary a 10-day expiry keeps the short-term power."""
    floored = VolShockLaw(short_term_power=0.3, long_term_power=0.13, dte_floor_days=60.0)
    raw = VolShockLaw(
        short_term_power=0.3, long_term_power=0.13, dte_floor_days=60.0, power_on_floored=False
    )
    ten = np.array([10.0])
    assert floored.term_factor(ten)[0] == pytest.approx(0.5**0.13, rel=1e-15)
    assert raw.term_factor(ten)[0] == pytest.approx(0.5**0.3, rel=1e-15)


def test_negative_power_and_zero_floor() -> None:
    law = VolShockLaw(short_term_power=-0.5, long_term_power=-0.5, dte_floor_days=0.0)
    assert law.term_factor(np.array([120.0]))[0] == pytest.approx(2.0)  # grows with tenor
    with pytest.raises(ValidationError, match="expired") as err:
        law.term_factor_seconds(np.array([0.0]))
    assert err.value.field == "dte_floor_days"
    with pytest.raises(ValidationError):
        VolShockLaw(dte_floor_days=-1.0)


def test_up_state_floors_without_a_shock() -> None:
    law = VolShockLaw(min_vol_up=0.4, up_floor=UpFloor.LEVEL)
    sigma = np.array([0.3])
    shocks = np.array([0.0, 0.0, 0.5])
    default = law.shocked_vols(sigma, np.array([30.0]), shocks)
    stated = law.shocked_vols(sigma, np.array([30.0]), shocks, np.array([True, False, True]))
    np.testing.assert_allclose(default, [[0.3, 0.3, 0.45]], rtol=1e-15)
    np.testing.assert_allclose(stated, [[0.4, 0.3, 0.45]], rtol=1e-15)


def test_skew_law_closed_form() -> None:
    tau = np.array([0.25, 0.25, 0.25, 0.25])
    k = np.array([0.02, -0.02, 0.5, -0.5])
    out = SKEW.shocked_vols(np.full(4, 0.6), k, tau)
    cap = 0.1 * 0.5 + 0.2
    k_star = max(0.05, 0.5 * 1.0 * 0.5)
    expected = [0.6 * (1 + 0.02 * cap / k_star), 0.6 * (1 - 0.02 * cap / k_star)]
    np.testing.assert_allclose(out[:2], expected, rtol=1e-15)
    np.testing.assert_allclose(out[2:], [0.6 * (1 + cap), 0.6 * (1 - cap)], rtol=1e-15)
    absolute = SkewShockLaw(
        base_cap=0.2, c_base=0.1, min_k_star=0.05, width_scale=1.0, vol_param_static=0.5,
        vol_param_scale=0.0, absolute=True,
    )  # fmt: skip
    both = absolute.shocked_vols(np.full(4, 0.6), k, tau)
    assert both[0] == both[1] == out[0]
    assert both[2] == both[3] == out[2]


def test_skew_law_needs_a_width() -> None:
    law = SkewShockLaw(
        base_cap=0.2, c_base=0.0, min_k_star=0.0, width_scale=1.0, vol_param_static=0.5,
        vol_param_scale=0.0,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="width") as err:
        law.shocked_vols(np.array([0.5]), np.array([0.1]), np.array([0.0]))
    assert err.value.field == "min_k_star"
    with pytest.raises(ValidationError) as err:
        SkewShockLaw(
            base_cap=-0.1, c_base=0.0, min_k_star=0.1, width_scale=1.0, vol_param_static=0.5,
            vol_param_scale=0.0,
        )  # fmt: skip
    assert err.value.field == "base_cap"


def _table(**extra: object) -> ShockTable:
    return ShockTable(labels=("crash", "skew"), spot={"*": np.array([-1.0, 0.0])}, **extra)  # type: ignore[arg-type]


def test_a_minus_100_percent_move_only_where_admitted() -> None:
    with pytest.raises(ValidationError, match="> -1"):
        _table()
    assert _table(zero_price=True).spot["*"][0] == -1.0
    with pytest.raises(ValidationError, match=">= -1"):
        ShockTable(labels=("x",), spot={"*": np.array([-1.5])}, zero_price=True)


def test_skew_indices_refer_to_the_set_laws() -> None:
    table = _table(zero_price=True, skew=np.array([-1, 0]))
    scenarios = ScenarioSet(name="s", shocks=table, skew_laws=(SKEW,))
    assert scenarios.skew_laws == (SKEW,)
    with pytest.raises(ValidationError, match="skew of scenario 'skew'"):
        ScenarioSet(name="s", shocks=table)
    with pytest.raises(ValidationError):
        _table(zero_price=True, skew=np.array([-2, 0]))
    with pytest.raises(ValidationError):
        _table(zero_price=True, up_state=np.array([True]))
