"""Margin lifecycle: holdings and collateral, equity with haircuts, requirements in USD,
account states, liquidation prices (``lifecycle.md``)."""

from portmargin.lifecycle._collateral import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
)
from portmargin.lifecycle._daily_vol import DailyVolatility, daily_volatility
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._liqprice import LiquidationPrices, LiquidationSide, liquidation_prices
from portmargin.lifecycle._params import (
    CallParams,
    CallRelease,
    LifecycleParams,
    LiquidationParams,
    LossMutualisation,
    OnCallExpiry,
    StateParams,
)
from portmargin.lifecycle._requirements import (
    Margining,
    MethodMargining,
    NotionalRates,
    Requirements,
)
from portmargin.lifecycle._states import (
    STATES,
    AccountState,
    Assessment,
    assess,
    classify,
    open_positions,
)
from portmargin.lifecycle._values import AccountValues, account_values

__all__ = [
    "STATES",
    "AccountState",
    "AccountValues",
    "Assessment",
    "CallParams",
    "CallRelease",
    "CollateralPolicy",
    "CollateralScope",
    "DailyVolatility",
    "HaircutBracket",
    "HaircutSchedule",
    "Holdings",
    "LifecycleParams",
    "LiquidationParams",
    "LiquidationPrices",
    "LiquidationSide",
    "LossMutualisation",
    "Margining",
    "MethodMargining",
    "NotionalRates",
    "OnCallExpiry",
    "Requirements",
    "StateParams",
    "account_values",
    "assess",
    "classify",
    "daily_volatility",
    "liquidation_prices",
    "open_positions",
]
