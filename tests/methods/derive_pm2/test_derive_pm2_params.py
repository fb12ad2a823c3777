"""Validation of the PMRM_2 parameter set, inputs and compute-time market-data checks."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from derive_pm2_support import mainnet_mapping

from portmargin.core import MarketDataError, ValidationError
from portmargin.methods.derive_pm2 import (
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveCollateralParams,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    DeriveScenario,
    DeriveVolShock,
    compute,
    parameters_to_pack,
)

BLOCKS = ("VolShock", "Margin", "BasisContingency", "OtherContingency", "SkewShock")


SCALAR_KEYS = [(block, key) for block in BLOCKS for key in mainnet_mapping()[block]]
# The powers are ``int`` in IPMRMLib_2.sol and setVolShockParams checks only ``<= 10e18``.
NON_NEGATIVE = {
    (block, key)
    for block, key in SCALAR_KEYS
    if key
    not in ("LINEAR_CBASE", "ABS_CBASE", "VOL_PARAM_SCALE", "SHORTTERMPOWER", "LONGTERMPOWER")
}


def _eth(*, is_risk_cancelling: bool) -> DeriveCollateralParams:
    """ETH collateral without haircuts."""
    return DeriveCollateralParams(
        name="ETH", is_risk_cancelling=is_risk_cancelling, mm_haircut=0.0, im_haircut=0.0
    )


def _market() -> DeriveMarket:
    feed = DeriveExpiryFeed(
        expiry_seconds=86400 * 20, forward=3010.0, rate=0.1, strikes=[3000.0], vols=[0.6]
    )
    return DeriveMarket(spot_price=3000.0, perp_price=3001.0, expiries=(feed,))


def test_mapping_round_trip(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    assert len(params.scenarios) == 33
    assert params.scenarios[1] == DeriveScenario(spot_shock=1.135, vol_shock=DeriveVolShock.UP)
    assert params.scenarios[-1].vol_shock is DeriveVolShock.ABS
    assert params.dte_floor_days == 1.0
    assert DeriveParams.from_mapping(params.to_mapping()) == params


def test_decimal_strings_are_read_exactly(mainnet: dict[str, Any]) -> None:
    mainnet["Margin"]["MM_LOSS_FACTOR"] = "0.800000000000000044"
    mainnet["Scenarios"][0]["SpotShock"] = "1.179999999999999993"
    params = DeriveParams.from_mapping(mainnet)
    assert params.mm_factor == float("0.800000000000000044")
    assert params.scenarios[0].spot_shock == float("1.179999999999999993")


def test_ignored_normal_keys_are_accepted(mainnet: dict[str, Any]) -> None:
    mainnet["OtherContingency"]["IM_PERP_PERCENT_NORMAL"] = 0.02
    mainnet["OtherContingency"]["IM_OPTION_PERCENT_NORMAL"] = "0.005"
    DeriveParams.from_mapping(mainnet)


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (("Margin",), "Margin.FOO"),
        ((), "FOO"),
        (("Scenarios", 3), "Scenarios[3].FOO"),
    ],
)
def test_unknown_key_is_rejected(
    mainnet: dict[str, Any], where: tuple[Any, ...], path: str
) -> None:
    node: Any = mainnet
    for step in where:
        node = node[step]
    node["FOO"] = 1.0
    for read in (DeriveParams.from_mapping, parameters_to_pack):
        with pytest.raises(ValidationError) as info:
            read(mainnet)
        assert info.value.field == path
        assert str(info.value).startswith(f"{path}: got 1.0, expected one of the keys [")


@pytest.mark.parametrize(("block", "key"), SCALAR_KEYS)
def test_missing_key_is_rejected(mainnet: dict[str, Any], block: str, key: str) -> None:
    del mainnet[block][key]
    for read in (DeriveParams.from_mapping, parameters_to_pack):
        with pytest.raises(ValidationError, match="required key missing") as info:
            read(mainnet)
        assert info.value.field == f"{block}.{key}"


@pytest.mark.parametrize(("block", "key"), SCALAR_KEYS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, "nan", "abc", True, None, [1.0]])
def test_non_number_is_rejected(mainnet: dict[str, Any], block: str, key: str, bad: Any) -> None:
    mainnet[block][key] = bad
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    assert info.value.field == f"{block}.{key}"


@pytest.mark.parametrize(("block", "key"), sorted(NON_NEGATIVE))
def test_negative_is_rejected(mainnet: dict[str, Any], block: str, key: str) -> None:
    mainnet[block][key] = -0.01
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    assert info.value.field == f"{block}.{key}"
    assert info.value.value == -0.01


@pytest.mark.parametrize(
    ("block", "key", "value"),
    [
        ("Margin", "IM_LOSS_FACTOR", 0.4),
        ("Margin", "BASE_STATIC_DISCOUNT", 4.5),
        ("BasisContingency", "SCENARIO_SPOT_UP", 1.0),
        ("BasisContingency", "SCENARIO_SPOT_DOWN", 1.0),
        ("OtherContingency", "CONF_THRESHOLD", 1.01),
        ("VolShock", "DTE_FLOOR", -1.0),
        ("VolShock", "DTE_FLOOR", 401.0),
        ("SkewShock", "MIN_K_STAR", -0.01),
        ("SkewShock", "VOL_PARAM_SCALE", -20.5),
    ],
)
def test_out_of_range_is_rejected(
    mainnet: dict[str, Any], block: str, key: str, value: float
) -> None:
    mainnet[block][key] = value
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    assert info.value.field == f"{block}.{key}"


@pytest.mark.parametrize("direction", ["LINEAR", "ABS", "linear"])
def test_skew_scenario_with_spot_shock_is_rejected(mainnet: dict[str, Any], direction: str) -> None:
    mainnet["Scenarios"].append(
        {"SpotShock": 1.18, "VolShockDirection": direction, "DampeningFactor": 5}
    )
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    parameters_to_pack(mainnet)  # the shape is right: a rule of the contract rejects it
    assert info.value.field == "Scenarios[33].SpotShock"
    assert "skew" in str(info.value)
    assert "invalid parameter set-up" in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "format_error"),
    [
        ("VolShockDirection", "Sideways", True),
        ("VolShockDirection", 1, True),
        ("SpotShock", -0.01, False),
        ("SpotShock", -0.5, False),
        ("DampeningFactor", -1.0, False),
        ("DampeningFactor", "x", True),
    ],
)
def test_bad_scenario_is_rejected(
    mainnet: dict[str, Any], key: str, value: object, format_error: bool
) -> None:
    mainnet["Scenarios"][2][key] = value
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    assert info.value.field == f"Scenarios[2].{key}"
    if format_error:
        with pytest.raises(ValidationError) as shape:
            parameters_to_pack(mainnet)
        assert shape.value.field == info.value.field
    else:
        parameters_to_pack(mainnet)


def test_empty_scenario_list_is_rejected(mainnet: dict[str, Any]) -> None:
    mainnet["Scenarios"] = []
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet)
    assert info.value.field == "Scenarios"


def test_constructor_names_the_field(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    with pytest.raises(ValidationError) as info:
        dataclasses.replace(params, im_factor=math.nan)
    assert info.value.field == "im_factor"
    with pytest.raises(ValidationError) as info:
        dataclasses.replace(params, conf_margin=-1.0)
    assert info.value.field == "conf_margin"
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.im_factor = 2.0  # type: ignore[misc]
    assert DeriveParams.bounds()["scenario_spot_up"] == (1.0, 3.0, True, True)


def test_scenario_and_collateral_settings() -> None:
    with pytest.raises(ValidationError) as info:
        DeriveScenario(spot_shock=0.9, vol_shock=DeriveVolShock.ABS)
    assert info.value.field == "spot_shock"
    assert DeriveScenario(spot_shock=0.82, vol_shock=DeriveVolShock.UP).label == "-18% Up"
    assert DeriveScenario(spot_shock=1.0, vol_shock=DeriveVolShock.LINEAR).label == "Linear skew"
    assert DeriveVolShock.parse("none") is DeriveVolShock.NONE
    with pytest.raises(ValidationError) as info:
        DeriveCollateralParams(name="ETH", is_risk_cancelling=False, mm_haircut=0.6, im_haircut=0.5)
    assert info.value.field == "im_haircut"


def test_duplicate_collateral_settings_are_rejected(mainnet: dict[str, Any]) -> None:
    eth = DeriveCollateralParams(
        name="ETH", is_risk_cancelling=False, mm_haircut=0.056, im_haircut=0.07
    )
    with pytest.raises(ValidationError) as info:
        DeriveParams.from_mapping(mainnet, collaterals=(eth, eth))
    assert info.value.field == "collaterals[1].name"


def test_input_validation_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        DeriveOptions(expiry_seconds=[1, 2], strike=[100.0, -5.0], is_call=[1, 0], amount=[1, 1])
    assert info.value.field == "strike[1]"
    with pytest.raises(ValidationError) as info:
        DeriveOptions(expiry_seconds=[1], strike=[100.0, 5.0], is_call=[1], amount=[1])
    assert info.value.field == "strike"
    with pytest.raises(ValidationError) as info:
        DeriveOptions(expiry_seconds=[1], strike=[100.0], is_call=[2], amount=[1])
    assert info.value.field == "is_call[0]"
    with pytest.raises(ValidationError) as info:
        DeriveExpiryFeed(expiry_seconds=10, forward=1.0, rate=0.0, strikes=[1, 2, 1], vols=[1] * 3)
    assert info.value.field == "strikes[2]"
    with pytest.raises(ValidationError) as info:
        DeriveMarket(spot_price=0.0)
    assert info.value.field == "spot_price"
    with pytest.raises(ValidationError) as info:
        DeriveMarket(spot_price=1.0, spot_confidence=1.5)
    assert info.value.field == "spot_confidence"
    feed = _market().expiries[0]
    with pytest.raises(ValidationError) as info:
        DeriveMarket(spot_price=1.0, expiries=(feed, feed))
    assert info.value.field == "expiries[1].expiry_seconds"
    with pytest.raises(ValidationError) as info:
        DerivePortfolio(cash=math.inf)
    assert info.value.field == "cash"
    with pytest.raises(ValidationError) as info:
        DeriveCollateralHolding(name="ETH", amount=-1.0)
    assert info.value.field == "amount"
    options = DeriveOptions(expiry_seconds=[1], strike=[1.0], is_call=[True], amount=[1.0])
    with pytest.raises(ValueError, match="read-only"):
        options.strike[0] = 2.0


def test_forward_portions() -> None:
    feed = DeriveExpiryFeed(expiry_seconds=600, forward=1800.0, rate=0.0, strikes=[], vols=[])
    assert feed.forward_portions() == (1200.0, 600.0)
    feed = DeriveExpiryFeed(
        expiry_seconds=3600, forward=100.0, rate=0.0, strikes=[], vols=[], forward_fixed_portion=30
    )
    assert feed.forward_portions() == (30.0, 70.0)


def test_missing_market_data_raises(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet)
    market = _market()
    seconds = market.expiries[0].expiry_seconds
    other = DeriveOptions(expiry_seconds=[seconds + 1], strike=[3000.0], is_call=[1], amount=[1])
    with pytest.raises(MarketDataError, match="no market feed"):
        compute(DerivePortfolio(options=other), market, params)
    strike = DeriveOptions(expiry_seconds=[seconds], strike=[3100.0], is_call=[1], amount=[1])
    with pytest.raises(MarketDataError, match="strike 3100"):
        compute(DerivePortfolio(options=strike), market, params)
    holding = DerivePortfolio(collaterals=(DeriveCollateralHolding(name="ETH", amount=1.0),))
    with pytest.raises(ValidationError, match="not enabled"):
        compute(holding, market, params)
    enabled = dataclasses.replace(params, collaterals=(_eth(is_risk_cancelling=False),))
    with pytest.raises(MarketDataError, match="no price feed"):
        compute(holding, market, enabled)
    with pytest.raises(MarketDataError, match="perp price"):
        compute(DerivePortfolio(perp_position=1.0), DeriveMarket(spot_price=1.0), params)


def test_any_valid_parameter_set_works(mainnet: dict[str, Any]) -> None:
    params = DeriveParams.from_mapping(mainnet, collaterals=(_eth(is_risk_cancelling=True),))
    market = dataclasses.replace(
        _market(), collaterals=(DeriveCollateralFeed(name="ETH", price=3000.0),)
    )
    seconds = market.expiries[0].expiry_seconds
    portfolio = DerivePortfolio(
        cash=-1000.0,
        perp_position=-0.5,
        options=DeriveOptions(
            expiry_seconds=[seconds, seconds], strike=[3000.0] * 2, is_call=[1, 0], amount=[-2, 1]
        ),
        collaterals=(DeriveCollateralHolding(name="ETH", amount=2.0),),
    )
    result = compute(portfolio, market, params)
    assert len(result.scenario_pnls) == 33
    assert result.scenario_pnls[1].label == "+13.5% Up"
    assert result.im_requirement >= result.mm_requirement >= 0.0
    assert result.expiries[0].naked_shorts == 1.0
    assert np.isfinite(result.pnl_array()).all()
    assert "IM requirement" in result.explain()
