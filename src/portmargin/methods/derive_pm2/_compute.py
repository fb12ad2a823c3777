"""PMRM_2 margin: scenario P&L, basis contingency, worst loss, IM and MM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray
from portmargin.methods.derive_pm2._contingency import Contingencies, contingencies
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
from portmargin.methods.derive_pm2._scenario import DeriveVolShock
from portmargin.methods.derive_pm2._scenarios import (
    DIRECTION_CODES,
    expiry_values,
    static_discounts,
    vol_shock_multipliers,
)

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
    scenarios = params.scenarios
    n_s = len(scenarios)
    spot_s = np.array([s.spot_shock for s in scenarios], dtype=np.float64)
    damp = np.array([s.dampening for s in scenarios], dtype=np.float64)
    skew: BoolArray = np.array([s.vol_shock.is_skew for s in scenarios], dtype=np.bool_)
    none = DIRECTION_CODES[DeriveVolShock.NONE]
    codes = np.array([DIRECTION_CODES[s.vol_shock] for s in scenarios] + [none] * 3, np.intp)
    spot = np.concatenate([spot_s, [1.0, params.scenario_spot_up, params.scenario_spot_down]])
    values = expiry_values(res, params, spot, codes)  # (n_e, n_s + 3)
    mtm = values[:, n_s]

    basis = np.minimum(np.minimum(values[:, n_s + 1] - mtm, values[:, n_s + 2] - mtm), 0.0) * (
        params.basis_cont_add_factor + params.basis_cont_mult_factor * res.tau
    )

    pos, neg = static_discounts(res.tau, res.rate, res.discount, params)
    shocked = values[:, :n_s]
    shocked = np.where(shocked >= 0.0, shocked * pos[:, None], shocked * neg[:, None])
    expiry_pnl = (shocked - mtm[:, None]) * damp[None, :]
    expiry_pnl = np.where(skew[None, :], -np.abs(expiry_pnl), expiry_pnl)
    perp_pnl = portfolio.perp_position * ((spot_s - 1.0) * market.perp_price) * damp
    rc_value = float(res.collateral_value[res.risk_cancelling].sum())
    pnl = perp_pnl + expiry_pnl.sum(axis=0) + rc_value * (spot_s - 1.0) * damp
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

    # Worst loss: the basis contingency is the first candidate, replaced on strictly smaller
    # scenario P&L only (the first of equal scenarios wins).
    worst = int(np.argmin(span.pnl))
    worst_index = worst if span.pnl[worst] < basis else None
    min_span = float(span.pnl[worst]) if worst_index is not None else basis
    worst_label = params.scenarios[worst].label if worst_index is not None else BASIS_LABEL

    f_mm = params.mm_factor
    f_im = params.im_factor
    if market.stable_price < params.peg_loss_threshold:
        f_im += (params.peg_loss_threshold - market.stable_price) * params.peg_loss_factor
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
