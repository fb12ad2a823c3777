"""Partial liquidation of many accounts at once (``lifecycle.md`` §6, §11).

Every step, the candidate slices of every account still liquidating become rows of one book
and the account's margining prices them in one call: full recomputation of MM after each
candidate, greedy choice of the most MM released per USD of equity lost.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from portmargin.lifecycle._engine import LiquidationEngine
from portmargin.lifecycle._fund import FundBook
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._liquidation_results import LiquidationOutcome, LiquidationRun
from portmargin.lifecycle._modes import ISOLATED_TAG
from portmargin.lifecycle._params import LifecycleParams
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._slippage import Slippage
from portmargin.lifecycle._states import STATES, AccountState, assess
from portmargin.lifecycle._trades import columns_of, with_settlement_columns
from portmargin.lifecycle._waterfall import resolve_bankruptcies
from portmargin.market import MarketSnapshot
from portmargin.risk import price_snapshot

__all__ = ["liquidate"]


_LIQUIDATING = (STATES.index(AccountState.LIQUIDATION), STATES.index(AccountState.BANKRUPT))


def liquidate(
    holdings: Holdings,
    market: MarketSnapshot,
    margining: Margining,
    params: LifecycleParams,
    *,
    slippage: Slippage,
    fund_usd: float = 0.0,
) -> LiquidationRun:
    """Assess every account, liquidate those in LIQUIDATION or BANKRUPT state (§6) and resolve
    bankruptcies through the insurance fund and loss mutualisation (§7).

    Partial liquidation, all liquidating accounts together, step by step: each account's
    candidates are one slice of ``params.liquidation.slice_notional_usd`` USD of every
    position with a usable mark, in the reducing direction, plus the pro-rata slice of all of
    them; their MM is computed by ``margining`` in one batch per step (rows of one book,
    cash realised into the balances). The candidate with ``dMM > 0`` of highest
    ``dMM / cost`` (ties: larger ``dMM``, then instrument name) is executed; if no candidate
    releases margin, the pro-rata slice is. An account stops at ``E >= liq_target MM``, goes
    to the waterfall at ``E <= 0`` (at once if ``E <= 0`` at the start), and stops unrestored
    when only instruments without a usable mark are left (their MM still counts).

    Parameters
    ----------
    holdings
        Every account (the others are counterparties of auto-deleveraging and bear
        socialised losses).
    market
        Market the accounts are assessed and liquidated at.
    margining
        Requirement model of the accounts.
    params
        Lifecycle parameters (states, liquidation, collateral).
    slippage
        Execution-price model of the slices.
    fund_usd
        Insurance fund at the start, USD, >= 0.

    Notes
    -----
    Isolated positions (margin units of :func:`~portmargin.lifecycle.isolate`) are rows of
    their own: liquidated alone with their own collateral; their deficit goes to the fund
    and, beyond it, is socialised (never auto-deleveraged, never charged to the cross pool).

    Returns
    -------
    LiquidationRun
    """
    fund = FundBook(fund_usd)
    holdings = with_settlement_columns(holdings)
    market = price_snapshot(market, holdings.book.instruments)
    assessment = assess(holdings, market, margining, params)
    errors = dict(assessment.errors)
    rows = np.flatnonzero(np.isin(assessment.state, _LIQUIDATING))
    cols = columns_of(holdings, market)
    engine = LiquidationEngine(
        holdings=holdings,
        market=market,
        margining=margining,
        params=params,
        slippage=slippage,
        cols=cols,
        fund=fund,
        rows=rows,
        equity=assessment.equity[rows],
        maintenance=assessment.maintenance_margin[rows],
    )
    engine.run()
    errors.update(engine.errors)
    merged = engine.merged()
    bankrupt = sorted(
        a.account for a in engine.results() if a.outcome is LiquidationOutcome.BANKRUPT
    )
    merged, events = resolve_bankruptcies(
        merged,
        market,
        cols,
        params,
        fund=fund,
        slippage=slippage,
        bankrupt=bankrupt,
        isolated=frozenset(a for a in bankrupt if ISOLATED_TAG in a),
        excluded=frozenset(errors),
    )
    return LiquidationRun(
        assessment=assessment,
        accounts=engine.results(),
        steps=engine.steps(),
        bankruptcies=tuple(events),
        fund=fund.ledger(),
        holdings=merged,
        errors=MappingProxyType(errors),
    )
