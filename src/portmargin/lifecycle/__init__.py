"""Margin lifecycle: holdings and collateral, equity with haircuts, requirements in USD,
margin modes, account states, margin calls and their monitor, liquidation prices and cascades
(``lifecycle.md``); stressed account results and the insurance fund's cover-2
(``stress-and-dynamics.md`` A.1)."""

from portmargin.lifecycle._calls import CallStatus, MarginCall, call_amounts, call_id
from portmargin.lifecycle._cascade import run_cascade
from portmargin.lifecycle._cascade_compare import CascadeComparison, compare_cascades
from portmargin.lifecycle._cascade_results import (
    FATES,
    AccountFate,
    CascadeOutcomes,
    CascadeParams,
    CascadeResult,
    CascadeRound,
)
from portmargin.lifecycle._collateral import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
)
from portmargin.lifecycle._daily_vol import DailyVolatility, daily_volatility
from portmargin.lifecycle._ewma_rates import EwmaRates
from portmargin.lifecycle._fund import FundFlow, FundFlowKind, FundLedger
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._impact import (
    CascadeMarket,
    LinearImpact,
    PriceImpact,
    SqrtImpact,
    ewma_daily_vol,
)
from portmargin.lifecycle._liqprice import LiquidationPrices, LiquidationSide, liquidation_prices
from portmargin.lifecycle._liquidation import liquidate
from portmargin.lifecycle._liquidation_results import (
    AccountLiquidation,
    LiquidationOutcome,
    LiquidationRun,
    LiquidationStep,
)
from portmargin.lifecycle._liquidator import FullClose, Liquidator
from portmargin.lifecycle._model_spec import (
    DEFAULT_DEPTH_1PCT,
    DEFAULT_FUND,
    EWMA_DEFAULT,
    is_ewma,
    requirement_model,
)
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
from portmargin.lifecycle._partial import PartialLiquidation
from portmargin.lifecycle._population import (
    Population,
    PopulationKind,
    fixed_equity_population,
    max_leverage_population,
    synthetic_positions,
)
from portmargin.lifecycle._requirements import (
    Margining,
    MethodMargining,
    NotionalRates,
    Requirements,
    batch_requirements,
)
from portmargin.lifecycle._slippage import FixedSlippage, ImpactSlippage, Slippage
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
from portmargin.lifecycle._waterfall import (
    AdlTrade,
    BankruptcyEvent,
    socialised_haircut,
)

__all__ = [
    "DEFAULT_DEPTH_1PCT",
    "DEFAULT_FUND",
    "EWMA_DEFAULT",
    "FATES",
    "ISOLATED_TAG",
    "STATES",
    "AccountFate",
    "AccountLiquidation",
    "AccountState",
    "AccountValues",
    "AdlTrade",
    "Assessment",
    "BankruptcyEvent",
    "CallEvent",
    "CallEventKind",
    "CallParams",
    "CallRelease",
    "CallStatus",
    "CascadeComparison",
    "CascadeMarket",
    "CascadeOutcomes",
    "CascadeParams",
    "CascadeResult",
    "CascadeRound",
    "CashFlows",
    "CollateralPolicy",
    "CollateralScope",
    "CoverTwo",
    "DailyVolatility",
    "EwmaRates",
    "FixedSlippage",
    "FullClose",
    "FundFlow",
    "FundFlowKind",
    "FundLedger",
    "HaircutBracket",
    "HaircutSchedule",
    "Holdings",
    "ImpactSlippage",
    "LifecycleParams",
    "LinearImpact",
    "LiquidationOutcome",
    "LiquidationParams",
    "LiquidationPrices",
    "LiquidationRun",
    "LiquidationSide",
    "LiquidationStep",
    "Liquidator",
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
    "PartialLiquidation",
    "Population",
    "PopulationKind",
    "PriceImpact",
    "Requirements",
    "Slippage",
    "SqrtImpact",
    "StateChange",
    "StateParams",
    "StressResults",
    "account_values",
    "advance",
    "assess",
    "batch_requirements",
    "call_amounts",
    "call_id",
    "classify",
    "compare_cascades",
    "compare_modes",
    "cover_two",
    "daily_volatility",
    "ewma_daily_vol",
    "expiry_settled",
    "fixed_equity_population",
    "is_ewma",
    "isolate",
    "liquidate",
    "liquidation_prices",
    "max_leverage_population",
    "open_positions",
    "requirement_model",
    "run_cascade",
    "socialised_haircut",
    "stress_accounts",
    "synthetic_positions",
    "unit_owner",
]
