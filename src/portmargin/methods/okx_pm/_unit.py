"""OKX components MR1-MR7 and MR9 of one risk unit for every account (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.methods.okx_pm._charges import basis_risk, depeg_hedged, tiered_charge, vega_twist
from portmargin.methods.okx_pm._params import Mr4Form, OkxParams
from portmargin.methods.okx_pm._reprice import DAYS_PER_YEAR, UnitRisk, unit_grid, unit_risk
from portmargin.methods.okx_pm._units import RiskUnit
from portmargin.risk import InstrumentTable, Kind, WorstLoss, worst_loss

__all__ = ["UnitMargin", "unit_margin"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UnitMargin:
    """Components of one risk unit, USD, shape ``(n_accounts,)`` each, >= 0.

    Attributes
    ----------
    unit
        Risk unit name (:attr:`RiskUnit.name`).
    parts
        ``"mr1"`` ... ``"mr7"``, ``"mr9"``, ``"mr7_raw"`` and ``"derivatives_mmr"``.
    worst
        Label of the worst MR1 column per account (None where MR1 is 0).
    mr1_worst
        MR1 (``loss``) and its column per account, shape ``(n_accounts,)`` each.
    columns
        The unit's instrument columns in the book, shape ``(c,)``.
    mr1_pnl
        USD P&L per unit held of those instruments in every MR1 state, shape ``(c, n_mr1)``.
    """

    unit: str
    parts: dict[str, FloatArray]
    worst: NDArray[np.object_]
    mr1_worst: WorstLoss
    columns: NDArray[np.intp]
    mr1_pnl: FloatArray


def _expiry_groups(
    table: InstrumentTable, rows: NDArray[np.bool_]
) -> tuple[NDArray[np.intp], FloatArray]:
    """Group of each row among the distinct expiries of ``rows`` (0 outside ``rows``),
    shape ``(n,)``, and each group's year fraction to expiry, shape ``(e,)``."""
    _, first, code = np.unique(table.expiry_ms[rows], return_index=True, return_inverse=True)
    group = np.zeros(len(table), dtype=np.intp)
    group[rows] = code
    tau: FloatArray = table.tau[rows][first]
    return group, tau


def _buckets(
    table: InstrumentTable, params: OkxParams, tier_move: float
) -> tuple[NDArray[np.intp], FloatArray, float]:
    """MR4 bucket per row (0 spot, 1 perpetuals, 2+ each expiry), each bucket's move and the
    net-delta credit rate, as ``params.mr4_form`` reads the tier's ``tier_move``:
    ``max(mr4_min_move, tier_move x T_g)`` and ``mr4_min_move`` (annualised move), or
    ``tier_move`` for every bucket and the credit (maximum forward price move)."""
    dated = table.expiry_ms > 0
    expiry, tau = _expiry_groups(table, dated)
    bucket = np.where(dated, 2 + expiry, np.where(table.kind == Kind.PERPETUAL, 1, 0))
    if params.mr4_form is Mr4Form.MAX_FORWARD_MOVE:
        return bucket.astype(np.intp), np.full(tau.size + 2, tier_move), tier_move
    moves: FloatArray = np.maximum(
        params.mr4_min_move, tier_move * np.concatenate(([0.0, 0.0], tau))
    )
    return bucket.astype(np.intp), moves, params.mr4_min_move


def _by_group(
    q: sp.csr_array, group: NDArray[np.intp], values: FloatArray, n_groups: int
) -> FloatArray:
    """``Q @ M`` with ``M[i, group[i]] = values[i]``: per-account sums by group,
    shape ``(n_accounts, n_groups)``."""
    if n_groups == 0:
        return np.zeros((q.shape[0], 0))
    m = np.zeros((values.size, n_groups))
    m[np.arange(values.size), group] = values
    return np.asarray(q @ m, dtype=np.float64).reshape(q.shape[0], n_groups)


def _depeg(q: sp.csr_array, risk: UnitRisk, spot: float, params: OkxParams) -> FloatArray:
    """MR9 per account, USD: ``mr9_rate`` times the cross-stablecoin hedged cash delta
    (USD delta of derivative rows by cash currency); 0 when ``include_mr9`` is off."""
    if not params.include_mr9:
        return np.zeros(q.shape[0])
    held = risk.cash_currency >= 0
    cash_delta = _by_group(
        q, np.where(held, risk.cash_currency, 0), np.where(held, risk.delta * spot, 0.0), 3
    )
    return params.mr9_rate * depeg_hedged(cash_delta)


def unit_margin(
    quantities: sp.csr_array, table: InstrumentTable, unit: RiskUnit, params: OkxParams
) -> UnitMargin:
    """OKX components of the risk unit ``unit`` for every account (row of ``quantities``).

    Parameters
    ----------
    quantities
        CSR accounts × columns (coins of underlying, currency units for balances).
    table
        Resolved instruments aligned with the columns of ``quantities``.
    unit
        The unit: its columns (futures, perpetuals, options, and spot pairs and coin
        balances where they belong to it) and its underlying, whose tiers apply.
    params
        The pack.
    """
    sub = table.take(unit.columns)
    grid = unit_grid(unit.underlying, params, unit.name)
    risk = unit_risk(sub, grid)
    q = quantities[:, unit.columns]
    n1 = grid.n_mr1
    pnl = np.asarray(q @ risk.pnl)
    worst_mr1 = worst_loss(pnl[:, :n1])
    mr1 = worst_mr1.loss
    mr6 = params.mr6_weight * np.maximum(-pnl[:, n1 : n1 + 2].min(axis=1), 0.0)
    mr2 = np.maximum(-pnl[:, n1 + 2], 0.0)

    spot = float(sub.index[0])
    bucket, moves, credit = _buckets(sub, params, params.mr4_annual_move(unit.underlying))
    mr4 = basis_risk(_by_group(q, bucket, risk.delta, moves.size), moves, credit, spot)

    expiry, tau = _expiry_groups(sub, sub.is_option)
    vega = _by_group(q, expiry, risk.vega, tau.size)
    dte = tau * DAYS_PER_YEAR
    points = (
        params.mr3_points * (params.mr3_boundary_days / np.maximum(dte, 1.0)) ** params.mr3_power
    )
    mr3 = vega_twist(vega, np.where(dte < params.mr3_boundary_days, points, -points))

    mr5 = np.abs(np.asarray(q @ risk.rho)) * params.mr5_rate_shift / 0.01

    mr9 = _depeg(q, risk, spot, params)

    per_unit = (
        params.mr7_delta_one_rate * risk.price
        + params.mr7_option_notional_rate * np.where(sub.is_option, sub.index, 0.0)
        + params.mr7_option_mark_rate * risk.mark
    )
    mr7_raw = np.asarray(abs(q) @ per_unit, dtype=np.float64)
    mr7 = tiered_charge(mr7_raw, params.mr7_tier_bounds, params.mr7_tier_multipliers)
    core = np.maximum(np.maximum(mr1, mr2), mr6) + mr4 + mr3 + mr5 + mr9
    parts = {
        "derivatives_mmr": np.maximum(core, mr7),
        "mr1": mr1,
        "mr2": mr2,
        "mr3": mr3,
        "mr4": mr4,
        "mr5": mr5,
        "mr6": mr6,
        "mr7": mr7,
        "mr7_raw": mr7_raw,
        "mr9": mr9,
    }
    return UnitMargin(
        unit=unit.name,
        parts={k: v + 0.0 for k, v in parts.items()},
        worst=worst_mr1.labels(grid.labels[:n1]),
        mr1_worst=worst_mr1,
        columns=unit.columns,
        mr1_pnl=risk.pnl[:, :n1],
    )
