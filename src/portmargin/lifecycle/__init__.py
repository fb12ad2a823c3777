"""Margin lifecycle: holdings and collateral, equity with haircuts, requirements in USD,
account states (``lifecycle.md``); stressed account results and the insurance fund's cover-2
(``stress-and-dynamics.md`` A.1)."""

from portmargin.lifecycle._collateral import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
)
from portmargin.lifecycle._holdings import Holdings
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
from portmargin.lifecycle._stress import (
    CoverTwo,
    StressResults,
    cover_two,
    expiry_settled,
    stress_accounts,
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
    "CoverTwo",
    "HaircutBracket",
    "HaircutSchedule",
    "Holdings",
    "LifecycleParams",
    "LiquidationParams",
    "LossMutualisation",
    "Margining",
    "MethodMargining",
    "NotionalRates",
    "OnCallExpiry",
    "Requirements",
    "StateParams",
    "StressResults",
    "account_values",
    "assess",
    "classify",
    "cover_two",
    "expiry_settled",
    "open_positions",
    "stress_accounts",
]
