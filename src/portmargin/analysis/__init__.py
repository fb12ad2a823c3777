"""Analyses built on pricing and margin: chain repricing, margin runs, an incremental engine,
what-if, comparisons, hedge suggestions."""

from portmargin.analysis._chain import ChainRow, ChainSummary, reprice_chain, summarise_chain
from portmargin.analysis._engine import MarginEngine
from portmargin.analysis._hedge import HedgeReport, HedgeSuggestion, HedgeTrade, suggest_hedges
from portmargin.analysis._hedge_candidates import (
    CandidateFilter,
    CostModel,
    TradeCosts,
    auto_candidates,
    trade_costs,
)
from portmargin.analysis._hedge_options import HedgeOptions, Measure, Objective
from portmargin.analysis._margin import (
    Comparison,
    MethodRun,
    WhatIf,
    compare_methods,
    compute_margin,
    to_usd,
    what_if,
)
from portmargin.analysis._samples import (
    RiskMatrix,
    cross_asset_portfolio,
    linear_twin,
    risk_matrix,
    sample_portfolios,
)

__all__ = [
    "CandidateFilter",
    "ChainRow",
    "ChainSummary",
    "Comparison",
    "CostModel",
    "HedgeOptions",
    "HedgeReport",
    "HedgeSuggestion",
    "HedgeTrade",
    "MarginEngine",
    "Measure",
    "MethodRun",
    "Objective",
    "RiskMatrix",
    "TradeCosts",
    "WhatIf",
    "auto_candidates",
    "compare_methods",
    "compute_margin",
    "cross_asset_portfolio",
    "linear_twin",
    "reprice_chain",
    "risk_matrix",
    "sample_portfolios",
    "suggest_hedges",
    "summarise_chain",
    "to_usd",
    "trade_costs",
    "what_if",
]
