"""The scalar PMRM_2 parameters: attribute, venue block and key, admissible interval."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["BLOCKS", "CONTRACT_SOURCE", "PARAMS_BY_ATTR", "PARAM_SPECS", "ParamSpec"]


class ParamSpec(NamedTuple):
    """One scalar parameter: attribute, mapping block and key, admissible interval."""

    attr: str
    block: str
    key: str
    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False


CONTRACT_SOURCE = (
    "derivexyz/v2-core src/risk-managers/PMRMLib_2.sol (stored version a6010890, the one "
    "matching specs/derive-pm2.md at 7736900d) and src/interfaces/IPMRMLib_2.sol"
)
"""Where the bounds below come from."""

_INF = math.inf

# Every interval is the one the venue's setter accepts (PMRMLib_2.sol, the function named in
# each group's comment; ``require(... , PMRML2_Invalid...Parameters())``), both ends exactly
# as the contract writes them, plus the range of the field's type in IPMRMLib_2.sol: a
# ``uint`` field cannot be negative (lower bound 0, inclusive), an ``int`` field with no lower
# check has no lower bound. Durations: the contract's ``dteFloor`` is in seconds (``<= 400
# days``); here it is in days.
PARAM_SPECS: tuple[ParamSpec, ...] = (
    # setVolShockParams: volRangeUp, volRangeDown <= 10e18 (uint); shortTermPower,
    # longTermPower <= 10e18 (int: no lower bound); dteFloor <= 400 days (uint);
    # minVolUpShock <= 20e18 (uint).
    ParamSpec("vol_range_up", "VolShock", "VOLRANGEUP", 0.0, 10.0),
    ParamSpec("vol_range_down", "VolShock", "VOLRANGEDOWN", 0.0, 10.0),
    ParamSpec("short_term_power", "VolShock", "SHORTTERMPOWER", -_INF, 10.0),
    ParamSpec("long_term_power", "VolShock", "LONGTERMPOWER", -_INF, 10.0),
    ParamSpec("dte_floor_days", "VolShock", "DTE_FLOOR", 0.0, 400.0),
    ParamSpec("min_vol_up_shock", "VolShock", "MIN_VOL_EVAL_SHOCKED", 0.0, 20.0),
    # setMarginParams: 0.5e18 <= imFactor <= 10e18, 0.1e18 <= mmFactor <= 10e18, rate mult
    # and add scales <= 10e18, base static discounts <= 4e18 (all uint).
    ParamSpec("im_factor", "Margin", "IM_LOSS_FACTOR", 0.5, 10.0),
    ParamSpec("mm_factor", "Margin", "MM_LOSS_FACTOR", 0.1, 10.0),
    ParamSpec("long_base_static_discount", "Margin", "BASE_STATIC_DISCOUNT", 0.0, 4.0),
    ParamSpec("long_rate_mult_scale", "Margin", "LONG_RATE_MULTSCALE", 0.0, 10.0),
    ParamSpec("long_rate_add_scale", "Margin", "LONG_RATE_ADDSCALE", 0.0, 10.0),
    ParamSpec("short_base_static_discount", "Margin", "BASE_STATIC_DISCOUNT_NEG", 0.0, 4.0),
    ParamSpec("short_rate_mult_scale", "Margin", "SHORT_RATE_MULTSCALE", 0.0, 10.0),
    ParamSpec("short_rate_add_scale", "Margin", "SHORT_RATE_ADDSCALE", 0.0, 10.0),
    # setBasisContingencyParams: 1e18 < scenarioSpotUp < 3e18, scenarioSpotDown < 1e18,
    # basisContMultFactor, basisContAddFactor <= 20e18 (all uint).
    ParamSpec("scenario_spot_up", "BasisContingency", "SCENARIO_SPOT_UP", 1.0, 3.0, True, True),
    ParamSpec(
        "scenario_spot_down", "BasisContingency", "SCENARIO_SPOT_DOWN", 0.0, 1.0, hi_open=True
    ),
    ParamSpec("basis_cont_add_factor", "BasisContingency", "BASIS_CONT_ADD_FACTOR", 0.0, 20.0),
    ParamSpec("basis_cont_mult_factor", "BasisContingency", "BASIS_CONT_MULT_FACTOR", 0.0, 20.0),
    # setOtherContingencyParams: pegLossThreshold <= 100e18, pegLossFactor <= 10e18,
    # confThreshold <= 1e18, confMargin <= 20e18, MM/IMPerpPercent <= 3e18, MM/IMOptionPercent
    # <= 2e18 (all uint).
    ParamSpec("peg_loss_threshold", "OtherContingency", "PEG_LOSS_THRESHOLD", 0.0, 100.0),
    ParamSpec("peg_loss_factor", "OtherContingency", "PEG_LOSS_FACTOR", 0.0, 10.0),
    ParamSpec("conf_threshold", "OtherContingency", "CONF_THRESHOLD", 0.0, 1.0),
    ParamSpec("conf_margin", "OtherContingency", "CONF_MARGIN", 0.0, 20.0),
    ParamSpec("mm_perp_percent", "OtherContingency", "MM_PERP_PERCENT", 0.0, 3.0),
    ParamSpec("im_perp_percent", "OtherContingency", "IM_PERP_PERCENT", 0.0, 3.0),
    ParamSpec("mm_option_percent", "OtherContingency", "MM_OPTION_PERCENT", 0.0, 2.0),
    ParamSpec("im_option_percent", "OtherContingency", "IM_OPTION_PERCENT", 0.0, 2.0),
    # setSkewShockParameters: linearBaseCap, absBaseCap <= 10e18 (uint); -10e18 <= linearCBase,
    # absCBase <= 10e18; 0 <= minKStar, widthScale, volParamStatic <= 10e18; -20e18 <=
    # volParamScale <= 20e18 (int).
    ParamSpec("linear_base_cap", "SkewShock", "LINEAR_SCALE_CAP", 0.0, 10.0),
    ParamSpec("linear_c_base", "SkewShock", "LINEAR_CBASE", -10.0, 10.0),
    ParamSpec("abs_base_cap", "SkewShock", "ABS_SCALE_CAP", 0.0, 10.0),
    ParamSpec("abs_c_base", "SkewShock", "ABS_CBASE", -10.0, 10.0),
    ParamSpec("min_k_star", "SkewShock", "MIN_K_STAR", 0.0, 10.0),
    ParamSpec("width_scale", "SkewShock", "MIN_WIDTH_SCALE", 0.0, 10.0),
    ParamSpec("vol_param_static", "SkewShock", "VOL_PARAM_STATIC", 0.0, 10.0),
    ParamSpec("vol_param_scale", "SkewShock", "VOL_PARAM_SCALE", -20.0, 20.0),
)
PARAMS_BY_ATTR = {spec.attr: spec for spec in PARAM_SPECS}
BLOCKS: tuple[str, ...] = tuple(dict.fromkeys(spec.block for spec in PARAM_SPECS))
