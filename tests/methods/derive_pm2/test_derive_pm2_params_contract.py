"""derive-pm2 parameter bounds are exactly the venue contract's setter bounds.

Source: ``derivexyz/v2-core`` ``src/risk-managers/PMRMLib_2.sol`` (stored version a6010890,
the one matching ``specs/derive-pm2.md`` at 7736900d: ``mmFactor >= 0.1e18`` and
``(IMHaircut + MMHaircut) <= 1e18``), field types from ``src/interfaces/IPMRMLib_2.sol``
(``uint`` fields cannot be negative; ``int`` fields without a lower check have no lower
bound) and ``src/risk-managers/PMRM_2.sol`` ``setScenarios``. The table below is written from
the contract, independently of ``_fields.PARAM_SPECS``; each bound is tested just inside
(accepted) and just outside (rejected), through the bundled pack.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from portmargin.core import ValidationError
from portmargin.io.derive_case import load_derive_case
from portmargin.io.params import read_pack
from portmargin.methods.derive_pm2 import (
    DeriveCase,
    DeriveParams,
    DerivePM2Params,
    DeriveScenario,
    DeriveVolShock,
    compute,
)

INF = math.inf

# attr: (lo, hi, lo_open, hi_open), with the setter whose require() gives the bound.
CONTRACT: dict[str, tuple[float, float, bool, bool]] = {
    # setVolShockParams
    "vol_range_up": (0.0, 10.0, False, False),  # uint, <= 10e18
    "vol_range_down": (0.0, 10.0, False, False),  # uint, <= 10e18
    "short_term_power": (-INF, 10.0, False, False),  # int, <= 10e18
    "long_term_power": (-INF, 10.0, False, False),  # int, <= 10e18
    "dte_floor_days": (0.0, 400.0, False, False),  # uint seconds, <= 400 days
    "min_vol_up_shock": (0.0, 20.0, False, False),  # uint, <= 20e18
    # setMarginParams
    "im_factor": (0.5, 10.0, False, False),  # >= 0.5e18, <= 10e18
    "mm_factor": (0.1, 10.0, False, False),  # >= 0.1e18, <= 10e18
    "long_base_static_discount": (0.0, 4.0, False, False),
    "long_rate_mult_scale": (0.0, 10.0, False, False),
    "long_rate_add_scale": (0.0, 10.0, False, False),
    "short_base_static_discount": (0.0, 4.0, False, False),
    "short_rate_mult_scale": (0.0, 10.0, False, False),
    "short_rate_add_scale": (0.0, 10.0, False, False),
    # setBasisContingencyParams
    "scenario_spot_up": (1.0, 3.0, True, True),  # > 1e18 && < 3e18
    "scenario_spot_down": (0.0, 1.0, False, True),  # uint, < 1e18
    "basis_cont_add_factor": (0.0, 20.0, False, False),
    "basis_cont_mult_factor": (0.0, 20.0, False, False),
    # setOtherContingencyParams
    "peg_loss_threshold": (0.0, 100.0, False, False),
    "peg_loss_factor": (0.0, 10.0, False, False),
    "conf_threshold": (0.0, 1.0, False, False),
    "conf_margin": (0.0, 20.0, False, False),
    "mm_perp_percent": (0.0, 3.0, False, False),
    "im_perp_percent": (0.0, 3.0, False, False),
    "mm_option_percent": (0.0, 2.0, False, False),
    "im_option_percent": (0.0, 2.0, False, False),
    # setSkewShockParameters
    "linear_base_cap": (0.0, 10.0, False, False),  # uint
    "linear_c_base": (-10.0, 10.0, False, False),
    "abs_base_cap": (0.0, 10.0, False, False),  # uint
    "abs_c_base": (-10.0, 10.0, False, False),
    "min_k_star": (0.0, 10.0, False, False),  # >= 0
    "width_scale": (0.0, 10.0, False, False),  # >= 0
    "vol_param_static": (0.0, 10.0, False, False),  # >= 0
    "vol_param_scale": (-20.0, 20.0, False, False),
}

EPS = 1e-9


def _cases() -> list[tuple[str, float, bool]]:
    """(attr, value, accepted) just inside and just outside every finite bound."""
    out: list[tuple[str, float, bool]] = []
    for attr, (lo, hi, lo_open, hi_open) in CONTRACT.items():
        if not math.isinf(lo):
            out += [
                (attr, lo + EPS if lo_open else lo, True),
                (attr, lo if lo_open else lo - EPS, False),
            ]
        out += [
            (attr, hi - EPS if hi_open else hi, True),
            (attr, hi if hi_open else hi + EPS, False),
        ]
    return out


CASES = _cases()


def _pack(**changes: Any) -> dict[str, Any]:
    data = read_pack("derive-pm2/mainnet")
    # Room for both factors' full ranges; mm_factor <= im_factor is the engine's own rule.
    data.update(im_factor=10.0, mm_factor=0.1)
    data.update(changes)
    return data


def test_bounds_are_the_contract_bounds() -> None:
    assert DeriveParams.bounds() == CONTRACT


@pytest.mark.parametrize(
    ("attr", "value", "accepted"), CASES, ids=[f"{a}={v!r}" for a, v, _ in CASES]
)
def test_bound_value(attr: str, value: float, accepted: bool) -> None:
    data = _pack(**{attr: value})
    if accepted:
        params = DerivePM2Params.from_mapping(data)
        assert getattr(params.margin, attr) == value
        return
    with pytest.raises(ValidationError) as err:
        DerivePM2Params.from_mapping(data)
    assert err.value.field == attr


@pytest.mark.parametrize("attr", ["short_term_power", "long_term_power"])
def test_powers_have_no_lower_bound(attr: str) -> None:
    assert getattr(DerivePM2Params.from_mapping(_pack(**{attr: -50.0})).margin, attr) == -50.0


def test_mm_factor_above_im_factor_is_rejected() -> None:
    with pytest.raises(ValidationError, match="MM above IM") as err:
        DerivePM2Params.from_mapping(_pack(im_factor=0.5, mm_factor=0.8))
    assert err.value.field == "mm_factor"
    assert DerivePM2Params.from_mapping(_pack(im_factor=0.8, mm_factor=0.8)).margin.im_factor == 0.8


def _scenario(spot: float, direction: str, damp: float = 1.0) -> dict[str, Any]:
    return {"spot_shock": spot, "vol_shock": direction, "dampening": damp}


def test_scenario_count_is_1_to_40() -> None:
    forty = [_scenario(1.0 + i / 100, "Up") for i in range(40)]
    assert len(DerivePM2Params.from_mapping(_pack(scenarios=forty)).margin.scenarios) == 40
    for rows in ([*forty, _scenario(0.9, "Down")], []):
        with pytest.raises(ValidationError, match="1 to 40") as err:
            DerivePM2Params.from_mapping(_pack(scenarios=rows))
        assert err.value.field == "scenarios"


@pytest.mark.parametrize("direction", ["Linear", "Abs"])
def test_at_most_one_scenario_of_each_skew(direction: str) -> None:
    rows = [_scenario(1.1, "Up"), _scenario(1.0, direction), _scenario(1.0, direction)]
    with pytest.raises(ValidationError, match=f"at most one {direction}") as err:
        DerivePM2Params.from_mapping(_pack(scenarios=rows))
    assert err.value.field == "scenarios[2].vol_shock"


@pytest.mark.parametrize(
    ("key", "inside", "outside"), [("spot_shock", 0.0, -EPS), ("dampening", 0.0, -EPS)]
)
def test_scenario_values_are_unsigned(key: str, inside: float, outside: float) -> None:
    rows = [_scenario(1.1, "Up")]
    rows[0][key] = inside
    assert DerivePM2Params.from_mapping(_pack(scenarios=rows)).margin.scenarios[0]
    rows[0][key] = outside
    with pytest.raises(ValidationError) as err:
        DerivePM2Params.from_mapping(_pack(scenarios=rows))
    assert err.value.field == f"scenarios[0].{key}"


@pytest.mark.parametrize(
    ("mm", "im", "accepted"),
    [
        (1.0, 0.0, True),
        (1.0 + EPS, 0.0, False),
        (0.6, 0.4, True),
        (0.6, 0.4 + EPS, False),
        (0.0, 1.0, True),
        (-EPS, 0.5, False),
        (0.5, -EPS, False),
    ],
)
def test_collateral_haircuts(mm: float, im: float, accepted: bool) -> None:
    data = _pack()
    data["collaterals"][0].update(mm_haircut=mm, im_haircut=im)
    if accepted:
        assert DerivePM2Params.from_mapping(data).margin.collaterals[0].mm_haircut == mm
        return
    with pytest.raises(ValidationError) as err:
        DerivePM2Params.from_mapping(data)
    assert err.value.field.startswith("collaterals[0].")


def test_zero_spot_shock_prices_like_the_venue(default_case: DeriveCase) -> None:
    """The contract's Black76 prices a zero forward as call 0, put ``K·D``."""
    case = default_case
    assert case.params is not None
    zero = DeriveScenario(spot_shock=0.0, vol_shock=DeriveVolShock.UP, dampening=1.0)
    params = dataclasses.replace(case.params, scenarios=(*case.params.scenarios, zero))
    result = compute(case.portfolio, case.market, params)
    assert np.isfinite(result.im)
    assert np.isfinite(result.mm)


@pytest.mark.parametrize(
    ("attr", "fragment"), [("dte_floor_days", "expired"), ("min_k_star", "width")]
)
def test_zero_floor_with_an_expired_expiry_is_an_error_as_on_chain(
    default_case: DeriveCase, attr: str, fragment: str
) -> None:
    """The venue divides by ``max(secToExpiry, dteFloor)`` and by ``k*``: both revert at 0."""
    case = load_derive_case(Path(default_case.source).with_name("test_66_misc_post_expiry.json"))
    assert case.params is not None
    params = dataclasses.replace(case.params, **{attr: 0.0})
    with pytest.raises(ValidationError, match=fragment) as err:
        compute(case.portfolio, case.market, params)
    assert err.value.field == attr
