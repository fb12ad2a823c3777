"""Per-position P&L of one account in the scenario that set its worst loss.

One set of formulas for both paths: :func:`contributions` explains a batch row,
:func:`portfolio_contributions` the account of ``compute``; both read the option values of
the run (``unit_values``, static discounts), the scenario columns and the worst column.
"""

from __future__ import annotations

import numpy as np

from portmargin.methods.derive_pm2._batch import (
    STABLE_PRICE,
    BaseRun,
    DeriveBatchRun,
    Holdings,
    Margins,
)
from portmargin.methods.derive_pm2._chain import Chain, IntArray
from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved
from portmargin.methods.derive_pm2._scenarios import ScenarioColumns
from portmargin.results import Contribution
from portmargin.risk import row_entries

__all__ = ["contributions", "portfolio_contributions"]


def _scenario_option_pnl(
    chain: Chain,
    values: FloatArray,
    discounts: tuple[FloatArray, FloatArray],
    sc: ScenarioColumns,
    held: tuple[IntArray, FloatArray],
    j: int,
) -> FloatArray:
    """``n·(u_j·f_e - u_mtm)·d`` per held option ``held = (local, amount)``, negated per
    expiry where a skew scenario takes ``-|x_e|`` of a positive ``x_e``; ``f_e`` is the static
    discount chosen by the sign of the expiry's shocked value. Sums over an expiry equal its
    scenario P&L."""
    local, amount = held
    e = chain.expiry_index[local]
    n_e = chain.seconds.shape[0]
    shocked = amount * values[local, j]
    mtm = amount * values[local, sc.mtm]
    value = np.bincount(e, weights=shocked, minlength=n_e)
    pos, neg = discounts
    factor = np.where(value >= 0.0, pos, neg)
    damp = sc.dampening[j]
    pnl = (shocked * factor[e] - mtm) * damp
    if sc.skew[j]:
        x = (value * factor - np.bincount(e, weights=mtm, minlength=n_e)) * damp
        pnl = np.where(x[e] > 0.0, -pnl, pnl)
    return np.asarray(pnl, dtype=np.float64)


def _basis_option_pnl(
    chain: Chain,
    values: FloatArray,
    sc: ScenarioColumns,
    margin: DeriveParams,
    held: tuple[IntArray, FloatArray],
) -> FloatArray:
    """``n·(u_b - u_mtm)·(add + mult·T)`` per held option at its expiry's worse basis move
    ``b``, 0 in expiries whose basis contingency is 0. Sums equal the basis contingency."""
    local, amount = held
    e = chain.expiry_index[local]
    n_e = chain.seconds.shape[0]
    mtm = amount * values[local, sc.mtm]
    up = amount * values[local, sc.up_column] - mtm
    down = amount * values[local, sc.down_column] - mtm
    up_e = np.bincount(e, weights=up, minlength=n_e)
    down_e = np.bincount(e, weights=down, minlength=n_e)
    chosen = np.where((up_e <= down_e)[e], up, down)
    factor = margin.basis_cont_add_factor + margin.basis_cont_mult_factor * chain.tau
    charged = np.minimum(up_e, down_e) < 0.0
    return np.asarray(np.where(charged[e], chosen * factor[e], 0.0), dtype=np.float64)


def _worst_case_pnl(
    chain: Chain,
    run: tuple[FloatArray, tuple[FloatArray, FloatArray]],
    sc: ScenarioColumns,
    margin: DeriveParams,
    held: tuple[IntArray, FloatArray],
    j: int,
) -> tuple[FloatArray, float, float]:
    """P&L of the held options in column ``j`` (-1: the basis contingency), and the move
    ``s - 1`` and dampening ``d`` of a delta-one position in it (both 0 in the basis case)."""
    values, discounts = run
    if j < 0:
        return _basis_option_pnl(chain, values, sc, margin, held), 0.0, 0.0
    option_pnl = _scenario_option_pnl(chain, values, discounts, sc, held, j)
    return option_pnl, float(sc.moves[j]), float(sc.dampening[j])


def contributions(run: DeriveBatchRun, g: BaseRun, row: int) -> tuple[Contribution, ...]:
    """P&L (USD, > 0 a gain) of each position of row ``row`` of ``g`` in its worst case.

    In a scenario: options as in ``_scenario_option_pnl``, the perpetual ``P·Pp·(s - 1)·d``,
    risk-cancelling collateral ``v·(s - 1)·d`` and other collateral 0; the sum is the row's
    scenario P&L. When the basis contingency is the worst loss, options carry their share of
    it and the perpetual and collateral 0. Cash is not listed.
    """
    book = run.book
    cols, data = row_entries(book.quantities, int(g.accounts[row]))
    held = dict(zip(cols.tolist(), data.tolist(), strict=True))
    local = np.flatnonzero([c in held for c in g.option_columns.tolist()])
    amount = np.array([held[c] for c in g.option_columns[local].tolist()], dtype=np.float64)
    option_pnl, move, damp = _worst_case_pnl(
        g.chain,
        (g.unit_values, g.discounts),
        run.columns,
        run.params.margin,
        (local, amount),
        int(g.worst[row]),
    )
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


def _option_name(res: Resolved, i: int) -> str:
    """``"option[r] C 3000 @ 1728000 s"``: the portfolio row, kind, strike and expiry."""
    kind = "C" if res.is_call[i] else "P"
    seconds = res.seconds[res.expiry_index[i]]
    return f"option[{int(res.option_rows[i])}] {kind} {res.strike[i]:g} @ {seconds:g} s"


def portfolio_contributions(
    res: Resolved, h: Holdings, m: Margins, sc: ScenarioColumns, margin: DeriveParams
) -> tuple[Contribution, ...]:
    """P&L (USD, > 0 a gain) of each position of the ``compute`` account (row 0 of ``h`` and
    ``m``) in its worst case, by the formulas of :func:`contributions`: the options (named by
    portfolio row, kind, strike and expiry), the perpetual (``"perp"``) and each collateral by
    name; they sum to the worst scenario P&L (or the basis contingency)."""
    local = np.arange(res.amount.shape[0], dtype=np.intp)
    option_pnl, move, damp = _worst_case_pnl(
        res,
        (m.options.unit_values, m.options.discounts),
        sc,
        margin,
        (local, res.amount),
        int(m.worst_case.column[0]),
    )
    out = [
        Contribution(instrument=_option_name(res, i), quantity=float(res.amount[i]), pnl=p)
        for i, p in enumerate(option_pnl.tolist())
    ]
    perp = float(h.perp[0])
    if perp != 0.0:
        pnl = perp * (move * h.perp_price) * damp
        out.append(Contribution(instrument="perp", quantity=perp, pnl=pnl))
    rows = zip(
        res.collateral_names,
        res.collateral_amount.tolist(),
        res.collateral_value.tolist(),
        res.risk_cancelling.tolist(),
        strict=True,
    )
    for name, amount, value, rc in rows:
        pnl = value * move * damp if rc else 0.0
        out.append(Contribution(instrument=name, quantity=amount, pnl=pnl))
    return tuple(out)
