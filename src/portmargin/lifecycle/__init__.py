"""Margin lifecycle: holdings and collateral, equity with haircuts, requirements in USD,
margin modes, account states (``lifecycle.md``)."""

from portmargin.lifecycle._collateral import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
)
from portmargin.lifecycle._fund import FundFlow, FundFlowKind, FundLedger
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._liquidation import (
    AccountLiquidation,
    LiquidationOutcome,
    LiquidationRun,
    LiquidationStep,
    liquidate,
)
from portmargin.lifecycle._modes import (
    ISOLATED_TAG,
    MarginMode,
    ModeComparison,
    compare_modes,
    isolate,
    unit_owner,
)
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
from portmargin.lifecycle._slippage import FixedSlippage, LinearImpact, Slippage, SqrtImpact
from portmargin.lifecycle._states import (
    STATES,
    AccountState,
    Assessment,
    assess,
    classify,
    open_positions,
)
from portmargin.lifecycle._values import AccountValues, account_values
from portmargin.lifecycle._waterfall import (
    AdlTrade,
    BankruptcyEvent,
    socialised_haircut,
)

__all__ = [
    "ISOLATED_TAG",
    "STATES",
    "AccountLiquidation",
    "AccountState",
    "AccountValues",
    "AdlTrade",
    "Assessment",
    "BankruptcyEvent",
    "CallParams",
    "CallRelease",
    "CollateralPolicy",
    "CollateralScope",
    "FixedSlippage",
    "FundFlow",
    "FundFlowKind",
    "FundLedger",
    "HaircutBracket",
    "HaircutSchedule",
    "Holdings",
    "LifecycleParams",
    "LinearImpact",
    "LiquidationOutcome",
    "LiquidationParams",
    "LiquidationRun",
    "LiquidationStep",
    "LossMutualisation",
    "MarginMode",
    "Margining",
    "MethodMargining",
    "ModeComparison",
    "NotionalRates",
    "OnCallExpiry",
    "Requirements",
    "Slippage",
    "SqrtImpact",
    "StateParams",
    "account_values",
    "assess",
    "classify",
    "compare_modes",
    "isolate",
    "liquidate",
    "open_positions",
    "socialised_haircut",
    "unit_owner",
]
