"""Scenario P&L of the accounts of a ``var`` result, for the distribution figure of the report.

The P&L is the method's own (:func:`portmargin.methods.var.scenario_pnl`): the same scenarios,
revaluation model and vol model as the margin, so the VaR and ES the method reports are those
of the histogram drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from portmargin.market import MarketSnapshot
from portmargin.methods.var import VarParams, scenario_pnl
from portmargin.portfolio import Portfolio
from portmargin.risk import Book

__all__ = ["var_scenario_pnl"]


def var_scenario_pnl(
    portfolios: Sequence[Portfolio], market: MarketSnapshot, params: VarParams
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """P&L (USD, gain > 0) of each account's margined positions in every scenario of the
    ``var`` pack ``params`` on ``market.history``, and the scenario probabilities.

    Returns
    -------
    tuple
        Account → P&L ``(s,)`` (accounts the method cannot margin, or that hold nothing it
        margins, are left out), and the weights ``(s,)`` summing to 1. Both empty when the
        market has no history.
    """
    if market.history is None or not portfolios:
        return {}, np.zeros(0)
    pnl = scenario_pnl(Book.from_portfolios(portfolios), market, params)
    return dict(zip(pnl.accounts, pnl.pnl, strict=True)), pnl.weights
