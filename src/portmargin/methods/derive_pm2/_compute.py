"""PMRM_2 margin of one account: the batch formulas (:func:`margins`) on a one-row book."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from portmargin.methods.derive_pm2._batch import CollateralRun, Holdings, Margins, margins
from portmargin.methods.derive_pm2._contingency import Confidence, confidence_charges
from portmargin.methods.derive_pm2._explain import portfolio_contributions
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved, resolve
from portmargin.methods.derive_pm2._result import (
    COMPONENT_SOURCES,
    METHOD_NAME,
    DeriveExpiryResult,
    DeriveResult,
    DeriveScenarioPnL,
    group_rows,
)
from portmargin.methods.derive_pm2._scenarios import scenario_columns, vol_shock_multipliers
from portmargin.results import MarginBatch

__all__ = ["compute"]

_CONTINGENCIES = {
    "mm": ("perp_mm", "option_mm", "collateral_mm"),
    "im": ("perp_im", "option_im", "collateral_im"),
}


def _holdings(
    res: Resolved, portfolio: DerivePortfolio, market: DeriveMarket, conf: Confidence
) -> Holdings:
    """The account as a one-row :class:`Holdings` (collateral summed over its assets)."""
    value = res.collateral_value
    perp_value = portfolio.perp_value if portfolio.perp_position != 0.0 else 0.0
    return Holdings(
        chain=res,
        options=sp.csc_array(res.amount[None, :]),
        perp=np.array([portfolio.perp_position]),
        perp_price=market.perp_price,
        spot=market.spot_price,
        perp_value=np.array([perp_value]),
        collateral=CollateralRun(
            value=np.array([float(value.sum())]),
            risk_cancelling=np.array([float(value[res.risk_cancelling].sum())]),
            mm=np.array([float((value * res.mm_haircut).sum())]),
            im=np.array([float((value * res.im_haircut).sum())]),
        ),
        cash=np.array([portfolio.cash]),
        stable_price=market.stable_price,
        confidence=np.array([conf.total]),
    )


def _expiry_results(
    res: Resolved, params: DeriveParams, m: Margins, conf: Confidence
) -> tuple[DeriveExpiryResult, ...]:
    up, down = vol_shock_multipliers(res.seconds, params)
    pos, neg = m.options.discounts
    columns = {
        "expiry_seconds": res.seconds,
        "tau": res.tau,
        "discount": res.discount,
        "fixed_forward": res.fixed,
        "variable_forward": res.variable,
        "mtm": m.options.mtm[0],
        "basis_contingency": m.options.basis[0],
        "vol_shock_up": up,
        "vol_shock_down": down,
        "static_discount_pos": pos,
        "static_discount_neg": neg,
        "naked_shorts": m.options.naked[0],
        "confidence": conf.expiry,
    }
    rows = zip(*(column.tolist() for column in columns.values()), strict=True)
    return tuple(DeriveExpiryResult(**dict(zip(columns, row, strict=True))) for row in rows)


def compute(
    portfolio: DerivePortfolio,
    market: DeriveMarket,
    params: DeriveParams,
    *,
    account: str = "account",
) -> DeriveResult:
    """Derive PMRM_2 initial and maintenance margin of one account.

    The account is resolved against the venue's feeds into a one-row :class:`Holdings` and
    margined by the batch formulas (:func:`~portmargin.methods.derive_pm2.margins`); its
    shared :class:`~portmargin.results.MarginResult` is built from that row like a batch row
    (``group_rows``, ``MarginBatch.result``), and the venue's figures and per-expiry
    diagnostics are added.

    Parameters
    ----------
    portfolio
        Holdings: cash (USD), perp, options (amount > 0 long), collateral.
    market
        Spot, perp and stable prices, per-expiry forward / rate / vol feeds and collateral
        prices (USD), with their confidences.
    params
        The PMRM_2 parameter set, including the scenario list.
    account
        Account id recorded in the shared result.

    Returns
    -------
    DeriveResult
        The shared result (requirements, component trees, worst scenario, per-position P&L in
        it) with the net IM and MM, equity and MtM pieces and every scenario P&L (USD, > 0 a
        gain) in ``params.scenarios`` order.

    Raises
    ------
    MarketDataError
        Missing expiry feed, vol at a held strike, collateral price, or perp price.
    ValidationError
        A held collateral not enabled in ``params``.
    """
    res = resolve(portfolio, market, params)
    conf = confidence_charges(res, portfolio, market, params)
    h = _holdings(res, portfolio, market, conf)
    sc = scenario_columns(params)
    m = margins(h, params, sc)
    labels = sc.scenarios.labels
    explained = portfolio_contributions(res, h, m, sc, params)
    rows = group_rows(np.array([account], dtype=object), None, m, labels, lambda _: explained)
    row = MarginBatch.from_groups(
        [rows], method=METHOD_NAME, params_version="", sources=COMPONENT_SOURCES
    ).result(0)

    worst = int(m.worst_case.column[0])
    mm_cont = float(sum(float(m.mm_components[n][0]) for n in _CONTINGENCIES["mm"]))
    im_cont = float(sum(float(m.im_components[n][0]) for n in _CONTINGENCIES["im"]))
    im_cont += conf.total
    option_mtm = float(m.option_mtm[0])
    perp_mtm = float(h.perp_value[0])
    collateral_mtm = float(h.collateral.value[0])
    total_mtm = perp_mtm + option_mtm + collateral_mtm
    cash = portfolio.cash
    im = -float(m.im_requirement[0]) + total_mtm + cash
    equity = float(m.equity[0])
    ratio = row.maintenance_margin / equity if equity > 0.0 else None
    return DeriveResult(
        margin=dataclasses.replace(row, equity=equity, excess=im, margin_ratio=ratio),
        im=im,
        mm=-float(m.mm_requirement[0]) + total_mtm + cash,
        equity=equity,
        total_mtm=total_mtm,
        cash=cash,
        option_mtm=option_mtm,
        perp_mtm=perp_mtm,
        collateral_mtm=collateral_mtm,
        scenario_pnls=tuple(
            DeriveScenarioPnL(index=i, label=label, scenario=s, pnl=p)
            for i, (label, s, p) in enumerate(
                zip(labels, params.scenarios, m.pnl[0].tolist(), strict=True)
            )
        ),
        basis_contingency=float(m.basis[0]),
        min_span=-float(m.worst_case.loss[0]),
        worst_scenario_index=worst if worst >= 0 else None,
        im_loss_factor=m.im_loss_factor,
        mm_loss_factor=m.mm_loss_factor,
        mm_contingency=mm_cont,
        im_contingency=im_cont,
        confidence_contingency=conf.total,
        expiries=_expiry_results(res, params, m, conf),
    )
