"""Analyses built on pricing and margin: chain repricing, margin runs, an incremental engine,
what-if, comparisons."""

from portmargin.analysis._chain import ChainRow, ChainSummary, reprice_chain, summarise_chain
from portmargin.analysis._engine import MarginEngine
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
    "ChainRow",
    "ChainSummary",
    "Comparison",
    "MarginEngine",
    "MethodRun",
    "RiskMatrix",
    "WhatIf",
    "compare_methods",
    "compute_margin",
    "cross_asset_portfolio",
    "linear_twin",
    "reprice_chain",
    "risk_matrix",
    "sample_portfolios",
    "summarise_chain",
    "to_usd",
    "what_if",
]
