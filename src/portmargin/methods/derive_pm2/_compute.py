"""PMRM_2 margin: scenario P&L, basis contingency, worst loss, IM and MM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._contingency import Contingencies, contingencies
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._loss import loss_factors
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved, resolve
from portmargin.methods.derive_pm2._result import (
    BASIS_LABEL,
    DeriveComponent,
    DeriveExpiryResult,
    DeriveResult,
    DeriveScenarioPnL,
)
from portmargin.methods.derive_pm2._scenarios import (
    basis_contingency,
    delta_one_pnl,
    expiry_pnl,
    expiry_values,
    scenario_columns,
    static_discounts,
    vol_shock_multipliers,
)
from portmargin.risk import worst_loss

__all__ = ["compute"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Span:
    """Scenario P&L ``(n_s,)``, per-expiry MtM and basis contingency ``(n_e,)``, discounts."""

    pnl: FloatArray
    mtm: FloatArray
    basis: FloatArray
    pos: FloatArray
    neg: FloatArray


def _span(
    res: Resolved, portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams
) -> _Span:
    """Scenario P&Ls (USD, > 0 a gain) and the basis contingency, vectorised.

    One price matrix covers the scenarios and three extra columns: ``(1, None)`` (the MtM),
    ``(scenario_spot_up, None)`` and ``(scenario_spot_down, None)`` (basis contingency).
    """
    cols = scenario_columns(params)
    values = expiry_values(res, params, cols.spot, cols.codes)  # (n_e, n_s + 3)
    mtm = values[:, cols.mtm]
    basis = basis_contingency(values[:, cols.up], values[:, cols.down], mtm, res.tau, params)
    pos, neg = static_discounts(res.tau, res.rate, res.discount, params)
    shocked = values[:, : cols.n_scenarios]
    by_expiry = expiry_pnl(shocked, mtm[:, None], (pos[:, None], neg[:, None]), cols)
    perp_pnl = delta_one_pnl(portfolio.perp_position, market.perp_price, cols)
    rc_value = float(res.collateral_value[res.risk_cancelling].sum())
    pnl = perp_pnl + by_expiry.sum(axis=0) + delta_one_pnl(rc_value, 1.0, cols)
    return _Span(pnl=pnl, mtm=mtm, basis=basis, pos=pos, neg=neg)


def _expiry_results(
    res: Resolved, params: DeriveParams, span: _Span, cont: Contingencies
) -> tuple[DeriveExpiryResult, ...]:
    up, down = vol_shock_multipliers(res.seconds, params)
    columns = {
        "expiry_seconds": res.seconds,
        "tau": res.tau,
        "discount": res.discount,
        "fixed_forward": res.fixed,
        "variable_forward": res.variable,
        "mtm": span.mtm,
        "basis_contingency": span.basis,
        "vol_shock_up": up,
        "vol_shock_down": down,
        "static_discount_pos": span.pos,
        "static_discount_neg": span.neg,
        "naked_shorts": cont.naked,
        "confidence": cont.confidence,
    }
    rows = zip(*(column.tolist() for column in columns.values()), strict=True)
    return tuple(DeriveExpiryResult(**dict(zip(columns, row, strict=True))) for row in rows)


def compute(portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams) -> DeriveResult:
    """Derive PMRM_2 initial and maintenance margin of one account.

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
    span = _span(res, portfolio, market, params)
    cont = contingencies(res, portfolio, market, params)
    basis = float(span.basis.sum())

    worst_case = worst_loss(span.pnl[None, :], baseline=np.array([basis]))
    min_span = -float(worst_case.loss[0])
    worst = int(worst_case.column[0])
    worst_index = int(worst) if worst >= 0 else None
    worst_label = params.scenarios[int(worst)].label if worst >= 0 else BASIS_LABEL

    f_im, f_mm = loss_factors(market.stable_price, params)
    mm_cont, im_cont = cont.mm_total, cont.im_total
    option_mtm = float(span.mtm.sum())
    perp_mtm = portfolio.perp_value if portfolio.perp_position != 0.0 else 0.0
    collateral_mtm = float(res.collateral_value.sum())
    total_mtm = perp_mtm + option_mtm + collateral_mtm
    cash = portfolio.cash

    loss = f"worst loss {min_span:,.2f} USD ({worst_label}) x loss factor"
    return DeriveResult(
        im=min_span * f_im - im_cont - mm_cont + total_mtm + cash,
        mm=min_span * f_mm - mm_cont + total_mtm + cash,
        im_requirement=-min_span * f_im + im_cont + mm_cont,
        mm_requirement=-min_span * f_mm + mm_cont,
        equity=total_mtm + cash,
        total_mtm=total_mtm,
        cash=cash,
        option_mtm=option_mtm,
        perp_mtm=perp_mtm,
        collateral_mtm=collateral_mtm,
        scenario_pnls=tuple(
            DeriveScenarioPnL(index=i, label=s.label, scenario=s, pnl=p)
            for i, (s, p) in enumerate(zip(params.scenarios, span.pnl.tolist(), strict=True))
        ),
        basis_contingency=basis,
        min_span=min_span,
        worst_scenario=worst_label,
        worst_scenario_index=worst_index,
        im_loss_factor=f_im,
        mm_loss_factor=f_mm,
        mm_contingency=mm_cont,
        im_contingency=im_cont,
        confidence_contingency=cont.confidence_total,
        im_components=(
            DeriveComponent(
                name="scenario_loss", amount=-min_span * f_im, detail=f"{loss} {f_im:g}"
            ),
            *cont.mm_parts,
            *cont.im_parts,
        ),
        mm_components=(
            DeriveComponent(
                name="scenario_loss", amount=-min_span * f_mm, detail=f"{loss} {f_mm:g}"
            ),
            *cont.mm_parts,
        ),
        expiries=_expiry_results(res, params, span, cont),
    )
