"""Per-position P&L of one batch row in the scenario that set its worst loss."""

from __future__ import annotations

import numpy as np

from portmargin.methods.derive_pm2._batch import STABLE_PRICE, BaseRun, DeriveBatchRun
from portmargin.methods.derive_pm2._chain import IntArray
from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.results import Contribution
from portmargin.risk import row_entries

__all__ = ["contributions"]


def _scenario_option_pnl(
    run: DeriveBatchRun, g: BaseRun, local: IntArray, amount: FloatArray, j: int
) -> FloatArray:
    """``n·(u_j·f_e - u_mtm)·d`` per option, negated per expiry where a skew scenario takes
    ``-|x_e|`` of a positive ``x_e``; ``f_e`` is the static discount chosen by the sign of the
    expiry's shocked value. Sums over an expiry equal its scenario P&L."""
    sc = run.columns
    e = g.chain.expiry_index[local]
    n_e = g.chain.seconds.shape[0]
    shocked = amount * g.unit_values[local, j]
    mtm = amount * g.unit_values[local, sc.mtm]
    value = np.bincount(e, weights=shocked, minlength=n_e)
    pos, neg = g.discounts
    factor = np.where(value >= 0.0, pos, neg)
    damp = sc.dampening[j]
    pnl = (shocked * factor[e] - mtm) * damp
    if sc.skew[j]:
        x = (value * factor - np.bincount(e, weights=mtm, minlength=n_e)) * damp
        pnl = np.where(x[e] > 0.0, -pnl, pnl)
    return np.asarray(pnl, dtype=np.float64)


def _basis_option_pnl(
    run: DeriveBatchRun, g: BaseRun, local: IntArray, amount: FloatArray
) -> FloatArray:
    """``n·(u_b - u_mtm)·(add + mult·T)`` per option at its expiry's worse basis move ``b``,
    0 in expiries whose basis contingency is 0. Sums equal the basis contingency."""
    sc, margin = run.columns, run.params.margin
    e = g.chain.expiry_index[local]
    n_e = g.chain.seconds.shape[0]
    mtm = amount * g.unit_values[local, sc.mtm]
    up = amount * g.unit_values[local, sc.up_column] - mtm
    down = amount * g.unit_values[local, sc.down_column] - mtm
    up_e = np.bincount(e, weights=up, minlength=n_e)
    down_e = np.bincount(e, weights=down, minlength=n_e)
    chosen = np.where((up_e <= down_e)[e], up, down)
    factor = margin.basis_cont_add_factor + margin.basis_cont_mult_factor * g.chain.tau
    charged = np.minimum(up_e, down_e) < 0.0
    return np.asarray(np.where(charged[e], chosen * factor[e], 0.0), dtype=np.float64)


def contributions(run: DeriveBatchRun, g: BaseRun, row: int) -> tuple[Contribution, ...]:
    """P&L (USD, > 0 a gain) of each position of row ``row`` of ``g`` in its worst case.

    In a scenario: options as in ``_scenario_option_pnl``, the perpetual ``P·(s - 1)·Pp·d``,
    risk-cancelling collateral ``v·(s - 1)·d`` and other collateral 0; the sum is the row's
    scenario P&L. When the basis contingency is the worst loss, options carry their share of
    it and the perpetual and collateral 0. Cash is not listed.
    """
    book, sc = run.book, run.columns
    cols, data = row_entries(book.quantities, int(g.accounts[row]))
    held = dict(zip(cols.tolist(), data.tolist(), strict=True))
    local = np.flatnonzero([c in held for c in g.option_columns.tolist()])
    amount = np.array([held[c] for c in g.option_columns[local].tolist()], dtype=np.float64)
    j = int(g.worst[row])
    if j < 0:
        option_pnl = _basis_option_pnl(run, g, local, amount)
        move, damp = 0.0, 0.0
    else:
        option_pnl = _scenario_option_pnl(run, g, local, amount, j)
        move, damp = float(sc.moves[j]), float(sc.dampening[j])
    pnl = dict(zip(g.option_columns[local].tolist(), option_pnl.tolist(), strict=True))
    if g.perp_column in held:
        pnl[g.perp_column] = held[g.perp_column] * (move * g.perp_price) * damp
    enabled = {c.name: c for c in run.params.margin.collaterals}
    for c in g.collateral_columns.tolist():
        if c in held:
            name = book.instruments[c].name
            value = held[c] * run.table.index[c] / STABLE_PRICE
            pnl[c] = value * move * damp if enabled[name].is_risk_cancelling else 0.0
    return tuple(
        Contribution(instrument=book.instruments[c].name, quantity=held[c], pnl=p)
        for c, p in pnl.items()
    )
