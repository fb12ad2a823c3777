"""PMRM_2 margin of one account: the batch formulas (:func:`margins`) on a one-row book."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from portmargin.methods.derive_pm2._batch import CollateralRun, Holdings, Margins, margins
from portmargin.methods.derive_pm2._contingency import Confidence, confidence_charges
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved, resolve
from portmargin.methods.derive_pm2._result import (
    BASIS_LABEL,
    DeriveComponent,
    DeriveExpiryResult,
    DeriveResult,
    DeriveScenarioPnL,
)
from portmargin.methods.derive_pm2._scenarios import scenario_columns, vol_shock_multipliers

__all__ = ["compute"]


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


def _components(
    tag: str, m: Margins, h: Holdings, params: DeriveParams
) -> tuple[DeriveComponent, ...]:
    """The perp, naked-option and collateral charges of row 0, named ``*_{tag}``."""
    parts = m.mm_components if tag == "mm" else m.im_components
    perp_pct = params.mm_perp_percent if tag == "mm" else params.im_perp_percent
    option_pct = params.mm_option_percent if tag == "mm" else params.im_option_percent
    perp_notional = float(abs(h.perp[0]) * h.spot)
    naked_notional = float(m.naked[0] * h.spot)
    return (
        DeriveComponent(
            name=f"perp_{tag}",
            amount=float(parts[f"perp_{tag}"][0]),
            detail=f"|P|·S = {perp_notional:,.2f} x {perp_pct:g}",
        ),
        DeriveComponent(
            name=f"option_{tag}",
            amount=float(parts[f"option_{tag}"][0]),
            detail=f"naked shorts x S = {naked_notional:,.2f} x {option_pct:g}",
        ),
        DeriveComponent(
            name=f"collateral_{tag}",
            amount=float(parts[f"collateral_{tag}"][0]),
            detail=f"collateral value x {tag.upper()} haircut",
        ),
    )


def compute(portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams) -> DeriveResult:
    """Derive PMRM_2 initial and maintenance margin of one account.

    The account is resolved against the venue's feeds into a one-row :class:`Holdings` and
    margined by the batch formulas (:func:`~portmargin.methods.derive_pm2.margins`); the
    result reads row 0 and adds the per-expiry diagnostics.

    Parameters
    ----------
    portfolio
        Holdings: cash (USD), perp, options (amount > 0 long), collateral.
    market
        Spot, perp and stable prices, per-expiry forward / rate / vol feeds and collateral
        prices (USD), with their confidences.
    params
        The PMRM_2 parameter set, including the scenario list.

    Returns
    -------
    DeriveResult
        Net IM and MM, the non-negative requirements, equity and MtM pieces, every scenario
        P&L (USD, > 0 a gain) in ``params.scenarios`` order, the worst scenario and additive
        breakdowns of both requirements.

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

    min_span = -float(m.worst_case.loss[0])
    worst = int(m.worst_case.column[0])
    worst_label = labels[worst] if worst >= 0 else BASIS_LABEL
    f_im, f_mm = m.im_loss_factor, m.mm_loss_factor
    mm_parts = _components("mm", m, h, params)
    im_parts = _components("im", m, h, params)
    mm_cont = float(sum(c.amount for c in mm_parts))
    im_cont = float(sum(c.amount for c in im_parts)) + conf.total
    option_mtm = float(m.option_mtm[0])
    perp_mtm = float(h.perp_value[0])
    collateral_mtm = float(h.collateral.value[0])
    total_mtm = perp_mtm + option_mtm + collateral_mtm
    cash = portfolio.cash

    loss = f"worst loss {min_span:,.2f} USD ({worst_label}) x loss factor"
    return DeriveResult(
        im=-float(m.im_requirement[0]) + total_mtm + cash,
        mm=-float(m.mm_requirement[0]) + total_mtm + cash,
        im_requirement=float(m.im_requirement[0]),
        mm_requirement=float(m.mm_requirement[0]),
        equity=float(m.equity[0]),
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
        min_span=min_span,
        worst_scenario=worst_label,
        worst_scenario_index=worst if worst >= 0 else None,
        im_loss_factor=f_im,
        mm_loss_factor=f_mm,
        mm_contingency=mm_cont,
        im_contingency=im_cont,
        confidence_contingency=conf.total,
        im_components=(
            DeriveComponent(
                name="scenario_loss",
                amount=float(m.im_components["scenario_loss"][0]),
                detail=f"{loss} {f_im:g}",
            ),
            *mm_parts,
            *im_parts,
            DeriveComponent(
                name="confidence",
                amount=conf.total,
                detail=(
                    f"(1 - c)·{params.conf_margin:g}·notional where confidence c < "
                    f"{params.conf_threshold:g}"
                ),
            ),
        ),
        mm_components=(
            DeriveComponent(
                name="scenario_loss",
                amount=float(m.mm_components["scenario_loss"][0]),
                detail=f"{loss} {f_mm:g}",
            ),
            *mm_parts,
        ),
        expiries=_expiry_results(res, params, m, conf),
    )
