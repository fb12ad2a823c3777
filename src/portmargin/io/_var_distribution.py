"""Scenario P&L of the accounts of a ``var`` result, for the distribution figure of the report.

The scenarios and the revaluation are the method's own public pieces
(:func:`portmargin.methods.var.historical_scenarios` and :func:`~portmargin.methods.var.revalue`)
on the pack's history window; with the ``worst_of`` vol model the larger loss of the two
revaluations is taken per scenario, as the method does for the whole book.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ms_to_datetime
from portmargin.market import MarketSnapshot
from portmargin.methods.var import VarParams, historical_scenarios, revalue
from portmargin.portfolio import Portfolio
from portmargin.risk import Book, Kind, prepare_book

__all__ = ["var_scenario_pnl"]

_REVALUED = (Kind.OPTION, Kind.FUTURE, Kind.PERPETUAL, Kind.SPOT)


def var_scenario_pnl(
    portfolios: Sequence[Portfolio], market: MarketSnapshot, params: VarParams
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """P&L (USD, gain > 0) of each account's derivatives in every scenario of the ``var``
    pack ``params`` on ``market.history``, and the scenario probabilities.

    Returns
    -------
    tuple
        Account → P&L ``(s,)`` (accounts that cannot be priced, or hold nothing revalued, are
        left out), and the weights ``(s,)`` summing to 1. Both empty when the market has no
        history.
    """
    history = market.history
    if history is None or not portfolios:
        return {}, np.zeros(0)
    prepared = prepare_book(Book.from_portfolios(portfolios), market)
    table = prepared.table
    keep = np.flatnonzero(
        np.isin(table.kind, _REVALUED) & np.isin(table.underlying, list(history.underlyings))
    )
    if keep.size == 0:
        return {}, np.zeros(0)
    part = table.take(keep.astype(np.intp))
    as_of = params.as_of or ms_to_datetime(market.valuation_ms).date()
    hist, _ = historical_scenarios(history, sorted(set(part.underlying.tolist())), as_of, params)
    units = revalue(part, hist, params).units
    q = prepared.book.quantities.tocsr()[:, keep]
    loss = np.max([np.asarray(q @ u) for u in units], axis=0)
    held = np.diff(q.indptr) > 0
    accounts = np.array(prepared.book.accounts, dtype=object)
    return (
        {str(a): -loss[i] for i, a in enumerate(accounts.tolist()) if held[i]},
        np.asarray(hist.weights, dtype=np.float64),
    )
