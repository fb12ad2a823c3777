"""Margin lifecycle: holdings and collateral, equity with haircuts, requirements in USD,
margin modes, account states, margin calls and their monitor (``lifecycle.md``)."""

from portmargin.lifecycle._calls import CallStatus, MarginCall, call_amounts, call_id
from portmargin.lifecycle._collateral import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
)
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._modes import (
    ISOLATED_TAG,
    MarginMode,
    ModeComparison,
    compare_modes,
    isolate,
    unit_owner,
)
from portmargin.lifecycle._monitor import (
    CallEvent,
    CallEventKind,
    CashFlows,
    MonitorState,
    MonitorStep,
    StateChange,
    advance,
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
    batch_requirements,
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
    "ISOLATED_TAG",
    "STATES",
    "AccountState",
    "AccountValues",
    "Assessment",
    "CallEvent",
    "CallEventKind",
    "CallParams",
    "CallRelease",
    "CallStatus",
    "CashFlows",
    "CollateralPolicy",
    "CollateralScope",
    "HaircutBracket",
    "HaircutSchedule",
    "Holdings",
    "LifecycleParams",
    "LiquidationParams",
    "LossMutualisation",
    "MarginCall",
    "MarginMode",
    "Margining",
    "MethodMargining",
    "ModeComparison",
    "MonitorState",
    "MonitorStep",
    "NotionalRates",
    "OnCallExpiry",
    "Requirements",
    "StateChange",
    "StateParams",
    "account_values",
    "advance",
    "assess",
    "batch_requirements",
    "call_amounts",
    "call_id",
    "classify",
    "compare_modes",
    "isolate",
    "open_positions",
    "unit_owner",
]
